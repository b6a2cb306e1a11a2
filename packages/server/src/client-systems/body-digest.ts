import { Transform, type TransformCallback } from 'node:stream'
import { SIGNATURE_HEADERS } from '@yiqian/core'
import { bytesToHex, createSm3 } from '@yiqian/gm'
import type { FastifyInstance } from 'fastify'

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Lower-case hex SM3 of the raw request body bytes, set once the body has been read (from preValidation on).
     * Undefined when the request had no body to parse, or does not claim to come from a client system.
     */
    rawBodySm3: string | undefined
  }
}

/**
 * Hashes the body of every request that carries `X-Yiqian-App-Id` with SM3 as it streams through, before the
 * content-type parser sees it, so that a signed request's body digest is of exactly the bytes that were sent (not
 * of a re-serialised JSON). Costs one SM3 pass, no copy; the body limit is still enforced by Fastify downstream.
 * Install on the root instance before routes are registered.
 */
export function installBodyDigest(app: FastifyInstance): void {
  app.decorateRequest('rawBodySm3', undefined)
  app.addHook('preParsing', async function digestRawBody(request, _reply, payload) {
    if (request.headers[SIGNATURE_HEADERS.appId] === undefined) return payload
    const hasher = createSm3()
    let received = 0
    const digesting = new Transform({
      transform(chunk: Buffer, _encoding, callback: TransformCallback) {
        hasher.update(chunk)
        received += chunk.length
        // Fastify compares this with Content-Length when the payload stream is replaced.
        ;(this as Transform & { receivedEncodedLength: number }).receivedEncodedLength = received
        callback(null, chunk)
      },
      flush(callback: TransformCallback) {
        request.rawBodySm3 = bytesToHex(hasher.digest())
        callback()
      },
    })
    ;(digesting as Transform & { receivedEncodedLength: number }).receivedEncodedLength = 0
    payload.on('error', (error) => digesting.destroy(error))
    return payload.pipe(digesting)
  })
}
