import { createReadStream, existsSync } from 'node:fs'
import { join } from 'node:path'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance } from 'fastify'
import { sendProblem } from '../error-handler.js'

export interface WebApp {
  /** URL prefix with slashes, e.g. `/console/`. */
  readonly prefix: string
  /** The Vite build output (`dist/`) of the app. */
  readonly root: string
}

/**
 * Serves the built single-page apps. Hashed assets are cached for a year; index.html is revalidated so a
 * new release shows at once. Client-side routes fall back to index.html. An app that has not been built
 * answers 503 with the command that builds it, rather than a bare 404.
 */
export async function installWebApps(app: FastifyInstance, apps: readonly WebApp[]): Promise<void> {
  for (const web of apps) {
    const index = join(web.root, 'index.html')
    const bare = web.prefix.replace(/\/$/, '')
    if (!existsSync(index)) {
      app.get(`${web.prefix}*`, { schema: { hide: true }, config: { access: 'public' } }, (request, reply) =>
        sendProblem(request, reply, 'WEB_APP_NOT_BUILT', { detail: `${web.root}: 请先运行 / run "npm run build"` }),
      )
      app.get(bare, { schema: { hide: true }, config: { access: 'public' } }, (_request, reply) =>
        reply.redirect(web.prefix),
      )
      continue
    }
    await app.register(fastifyStatic, {
      root: web.root,
      prefix: web.prefix,
      decorateReply: false,
      wildcard: false,
      redirect: true,
      index: ['index.html'],
      setHeaders(res, path) {
        res.header('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache')
      },
      schemaHide: true,
    })
    app.get(`${web.prefix}*`, { schema: { hide: true }, config: { access: 'public' } }, (request, reply) => {
      // A path with a file extension that was not found is a missing file, not a client-side route.
      if (/\.[a-z0-9]+$/i.test(request.url.split('?')[0] ?? '')) {
        return sendProblem(request, reply, 'ROUTE_NOT_FOUND', { detail: request.url })
      }
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(createReadStream(index))
    })
  }
}
