import { sameToken } from '@yiqian/core'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import { sendProblem } from '../error-handler.js'

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1'])

function tokenMatches(request: FastifyRequest, token: string | undefined): boolean {
  const given = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1]
  return token !== undefined && given !== undefined && sameToken(given, token)
}

/**
 * Prometheus metrics: process defaults plus request latency by route. Served to loopback callers, or to
 * anyone presenting `YIQIAN_METRICS_TOKEN` as a bearer token; everyone else gets 403.
 */
export function installMetrics(app: FastifyInstance, { token }: { token: string | undefined }): Registry {
  const registry = new Registry()
  registry.setDefaultLabels({ service: 'yiqian' })
  collectDefaultMetrics({ register: registry })
  const duration = new Histogram({
    name: 'yiqian_http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  })

  const inFlight = new Gauge({
    name: 'yiqian_http_requests_in_flight',
    help: 'HTTP requests accepted and not yet answered',
    registers: [registry],
  })

  app.addHook('onRequest', async function countRequest() {
    inFlight.inc()
  })
  app.addHook('onResponse', async function observeRequest(request, reply) {
    inFlight.dec()
    // The route pattern, not the URL, keeps the label set bounded; unknown URLs share one label.
    const route = request.routeOptions.url ?? 'unmatched'
    duration.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000)
  })

  app.get(
    '/metrics',
    {
      schema: {
        tags: ['operations'],
        summary: '运行指标 / Prometheus metrics',
        description: 'Prometheus text format. Loopback callers, or `Authorization: Bearer <YIQIAN_METRICS_TOKEN>`.',
      },
      logLevel: 'warn',
      // Public as far as sessions go: the handler checks loopback or the metrics bearer token.
      config: { access: 'public' },
    },
    async (request, reply) => {
      if (!LOOPBACK.has(request.socket.remoteAddress ?? '') && !tokenMatches(request, token)) {
        return sendProblem(request, reply, 'FORBIDDEN', {
          detail: '指标仅对本机或持有令牌的调用方开放 / metrics are served to loopback or with the metrics token',
        })
      }
      return reply.type(registry.contentType).send(await registry.metrics())
    },
  )
  return registry
}
