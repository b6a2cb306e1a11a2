import { isDomainError } from '@yiqian/core'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod'
import { type FieldError, languageOf, type ProblemCode, problem } from './problems.js'

/** Fastify's own 4xx errors, by their code, mapped into the catalogue. Anything unlisted is a 400. */
const FASTIFY_CODES: Readonly<Record<string, ProblemCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'MALFORMED_BODY',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_BODY',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_BODY',
  FST_ERR_BAD_STATUS_CODE: 'INTERNAL_ERROR',
  FST_ERR_VALIDATION: 'VALIDATION_FAILED',
}

export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  code: ProblemCode,
  { extensions, ...extra }: { detail?: string; errors?: FieldError[]; extensions?: Record<string, unknown> } = {},
): FastifyReply {
  const body = problem(code, {
    language: languageOf(request.headers['accept-language']),
    instance: request.url.split('?')[0] ?? '/',
    requestId: request.id,
    ...extra,
  })
  return reply
    .code(body.status)
    .type('application/problem+json; charset=utf-8')
    .send({ ...body, ...extensions })
}

function fieldErrors(error: FastifyError & { validationContext?: string }): FieldError[] {
  // Fastify says `querystring`; the API documents `query.<name>`.
  const context = error.validationContext === 'querystring' ? 'query' : (error.validationContext ?? 'body')
  return (error.validation ?? []).map((v) => {
    const path = v.instancePath.replace(/^\//, '').replaceAll('/', '.')
    const missing = v.keyword === 'required' && typeof v.params.missingProperty === 'string'
    return {
      field: [context, path, missing ? v.params.missingProperty : ''].filter(Boolean).join('.'),
      message: v.message ?? 'invalid',
    }
  })
}

/** One error handler for the whole API: everything leaves as an RFC 9457 problem; a 500 reveals nothing. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler(function handleError(error: FastifyError, request, reply) {
    if (hasZodFastifySchemaValidationErrors(error) || error.validation) {
      const errors = fieldErrors(error)
      return sendProblem(request, reply, 'VALIDATION_FAILED', {
        detail: errors.map((e) => `${e.field}: ${e.message}`).join('; '),
        errors,
      })
    }
    if (isDomainError(error)) {
      if (error.code === 'AUDIT_CHAIN_BROKEN') request.log.error({ err: error }, 'audit chain broken')
      if (error.code === 'SECRET_UNREADABLE') request.log.error({ err: error }, 'protected value cannot be opened')
      // A domain error that names its field (details.field, relative to the body) points the form at it.
      const field = error.details.field
      const problems = Array.isArray(error.details.problems) ? error.details.problems.map(String) : [error.message]
      const errors =
        typeof field === 'string' ? problems.map((message) => ({ field: `body.${field}`, message })) : undefined
      return sendProblem(request, reply, error.code, { detail: error.message, ...(errors && { errors }) })
    }
    const status = error.statusCode ?? 500
    if (status === 429) {
      // A limiter's Retry-After travels on the error (@fastify/rate-limit, the client-system limiter).
      const headers = (error as { headers?: Record<string, string> }).headers
      if (headers?.['retry-after']) reply.header('retry-after', headers['retry-after'])
      return sendProblem(request, reply, 'TOO_MANY_REQUESTS')
    }
    if (status === 503) return sendProblem(request, reply, 'SERVICE_UNAVAILABLE')
    if (status >= 400 && status < 500) {
      const code = (error.code && FASTIFY_CODES[error.code]) || 'BAD_REQUEST'
      return sendProblem(request, reply, code, { detail: error.message })
    }
    request.log.error({ err: error }, 'unhandled error')
    return sendProblem(request, reply, 'INTERNAL_ERROR', {
      detail: `请联系管理员并提供请求编号 / contact the administrator with request id ${request.id}`,
    })
  })

  app.setNotFoundHandler(function routeNotFound(request, reply) {
    return sendProblem(request, reply, 'ROUTE_NOT_FOUND', { detail: `${request.method} ${request.url.split('?')[0]}` })
  })
}
