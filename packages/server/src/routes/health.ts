import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { sendProblem } from '../error-handler.js'
import { ProblemSchema } from '../schemas.js'

const Checks = z.object({
  database: z.object({ status: z.enum(['ok', 'unreachable']), dialect: z.string() }),
  migrations: z.object({ status: z.enum(['current', 'pending', 'newer', 'unknown']), pending: z.array(z.string()) }),
})

export type ReadinessReport = z.infer<typeof Checks>

/** Asks the database whether it answers and whether its schema matches this build. */
export type Readiness = () => Promise<ReadinessReport>

export function healthRoutes({ version, readiness }: { version: string; readiness: Readiness }): FastifyPluginAsyncZod {
  const startedAt = Date.now()
  return async function health(app) {
    app.get(
      '/healthz',
      {
        schema: {
          tags: ['operations'],
          summary: '存活检查 / Liveness',
          description: 'The process is running and serving HTTP. Does not touch the database.',
          response: {
            200: z.object({ status: z.literal('ok'), version: z.string(), uptimeSeconds: z.number() }),
          },
        },
        logLevel: 'warn',
        config: { access: 'public' },
      },
      async () => ({ status: 'ok' as const, version, uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) }),
    )

    app.get(
      '/readyz',
      {
        schema: {
          tags: ['operations'],
          summary: '就绪检查 / Readiness',
          description: 'The database answers and its schema is at the version this build expects.',
          response: {
            200: z.object({ status: z.literal('ready'), version: z.string(), checks: Checks }),
            503: ProblemSchema.extend({ checks: Checks }),
          },
        },
        logLevel: 'warn',
        config: { access: 'public' },
      },
      async (request, reply) => {
        const checks = await readiness()
        if (checks.database.status === 'ok' && checks.migrations.status === 'current') {
          return { status: 'ready' as const, version, checks }
        }
        const detail =
          checks.database.status !== 'ok'
            ? '数据库不可达 / the database does not answer'
            : `数据库版本与程序不一致 / schema is ${checks.migrations.status}: run "yiqian migrate"`
        return sendProblem(request, reply, 'NOT_READY', { detail, extensions: { checks } })
      },
    )
  }
}
