import { type CertificateAuthority, DomainError, OCSP_INTERNAL_ERROR, OCSP_MALFORMED_REQUEST } from '@yiqian/core'
import { certificateToPem } from '@yiqian/pki'
import type { FastifyReply } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { AppServices } from '../app.js'

const TAG = 'pki'
const CA_ID = '(ca-[0-9a-f]{16})'
const OCSP_REQUEST_MAX_BYTES = 16 * 1024
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/

/** What relying parties fetch without signing in: CA certificates, chains, CRLs and OCSP answers (RFC 5280, 6960). */
export function pkiRoutes(services: Pick<AppServices, 'uow' | 'ca'>): FastifyPluginAsyncZod {
  const { uow, ca: service } = services

  async function authority(id: string): Promise<CertificateAuthority> {
    const found = await uow.run((tx) => tx.certificateAuthorities.find(id))
    if (!found)
      throw new DomainError('CA_NOT_FOUND', `CA ${id} 不存在 / no certificate authority ${id}`, { field: 'id' })
    return found
  }

  async function answer(reply: FastifyReply, request: Uint8Array | undefined) {
    let body: Uint8Array
    if (!request) body = OCSP_MALFORMED_REQUEST
    else if (!service) body = OCSP_INTERNAL_ERROR
    else body = await service.respondOcsp(request)
    // RFC 6960 §A.1: a failure is still an OCSP response, sent with 200.
    return reply
      .code(200)
      .type('application/ocsp-response')
      .header('cache-control', 'max-age=300, public, no-transform, must-revalidate')
      .header('x-content-type-options', 'nosniff')
      .send(Buffer.from(body))
  }

  return async function pki(app) {
    // Scoped to this plugin: nowhere else accepts raw OCSP requests.
    app.addContentTypeParser(
      'application/ocsp-request',
      { parseAs: 'buffer', bodyLimit: OCSP_REQUEST_MAX_BYTES },
      function ocspRequestBody(_request, body, done) {
        done(null, body)
      },
    )

    app.get(
      '/pki/ca/:file',
      {
        config: { access: 'public' },
        schema: {
          tags: [TAG],
          summary: 'CA 证书（DER）/ A CA certificate (DER)',
          params: z.object({ file: z.string().regex(new RegExp(`^${CA_ID}\\.crt$`)) }),
        },
      },
      async (request, reply) => {
        const ca = await authority(request.params.file.slice(0, -'.crt'.length))
        return reply
          .type('application/pkix-cert')
          .header('content-disposition', `attachment; filename="${ca.id}.crt"`)
          .header('cache-control', 'max-age=86400, public')
          .send(Buffer.from(ca.certificate))
      },
    )

    app.get(
      '/pki/ca/:id/chain.pem',
      {
        config: { access: 'public' },
        schema: {
          tags: [TAG],
          summary: 'CA 证书链（PEM，自身在前，根在后）/ A CA chain (PEM, itself first, root last)',
          params: z.object({ id: z.string().regex(new RegExp(`^${CA_ID}$`)) }),
        },
      },
      async (request, reply) => {
        const ca = await authority(request.params.id)
        const pem = [ca.certificate, ...ca.chain].map((der) => certificateToPem(der)).join('')
        return reply
          .type('application/pem-certificate-chain')
          .header('cache-control', 'max-age=86400, public')
          .send(pem)
      },
    )

    app.get(
      '/pki/crl/:file',
      {
        config: { access: 'public' },
        schema: {
          tags: [TAG],
          summary: '证书吊销列表（DER）/ The certificate revocation list (DER)',
          params: z.object({ file: z.string().regex(new RegExp(`^${CA_ID}\\.crl$`)) }),
        },
      },
      async (request, reply) => {
        const id = request.params.file.slice(0, -'.crl'.length)
        const der = service ? await service.crl(id) : (await authority(id)).crl
        if (!der) throw new DomainError('CA_NOT_FOUND', `CA ${id} 尚无 CRL / ${id} has no CRL yet`, { field: 'id' })
        return reply.type('application/pkix-crl').header('cache-control', 'max-age=300, public').send(Buffer.from(der))
      },
    )

    app.post(
      '/pki/ocsp',
      {
        config: { access: 'public' },
        // A binary protocol answer for relying parties, not a page: browser security headers mean nothing here, and
        // @fastify/helmet rebuilds them per request (the hot path's largest cost after signing and the socket).
        // `answer` sets nosniff itself.
        helmet: false,
        schema: { tags: [TAG], summary: 'OCSP 查询（RFC 6960 POST）/ OCSP request (RFC 6960, POST)' },
      },
      async (request, reply) => answer(reply, Buffer.isBuffer(request.body) ? new Uint8Array(request.body) : undefined),
    )

    app.get(
      '/pki/ocsp/*',
      {
        config: { access: 'public' },
        helmet: false,
        schema: { tags: [TAG], summary: 'OCSP 查询（RFC 6960 GET，base64）/ OCSP request (RFC 6960, GET, base64)' },
      },
      async (request, reply) => {
        const encoded = (request.params as { '*'?: string })['*'] ?? ''
        if (encoded.length === 0 || encoded.length > (OCSP_REQUEST_MAX_BYTES * 4) / 3 + 4 || !BASE64.test(encoded)) {
          return answer(reply, undefined)
        }
        return answer(reply, new Uint8Array(Buffer.from(encoded.replace(/-/g, '+').replace(/_/g, '/'), 'base64')))
      },
    )
  }
}
