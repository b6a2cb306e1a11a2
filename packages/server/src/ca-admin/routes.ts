import {
  CA_ALGORITHMS,
  CA_IMPORT_LIMITS,
  CA_LIMITS,
  CA_STATUSES,
  type CaOverview,
  caOverview,
  caUnavailable,
  createImportCa,
  listCaOverviews,
  overviewOf,
} from '@yiqian/core'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { AppServices } from '../app.js'
import { ProblemSchema } from '../schemas.js'

const tags = ['ca']
const CaId = z.string().regex(/^ca-[0-9a-f]{16}$/, 'ca- 加 16 位十六进制 / ca- and 16 hex digits')
const Name = z
  .string()
  .trim()
  .min(1)
  .max(CA_LIMITS.name)
  .regex(/^[^\p{Cc}]+$/u, '不含控制字符 / no control characters')
const errors = { 400: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema, 503: ProblemSchema }

const CaSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    algorithm: z.enum(CA_ALGORITHMS),
    status: z.enum(CA_STATUSES),
    parentId: z.string().nullable(),
    subject: z.string(),
    notBefore: z.string(),
    notAfter: z.string(),
    keyUri: z.string(),
    crl: z.object({ number: z.number(), nextUpdate: z.string() }).nullable(),
    ocspResponder: z.object({ serial: z.string(), notAfter: z.string() }).nullable(),
    issuedCount: z.number(),
  })
  .meta({ id: 'CertificateAuthority' })

function caOut(o: CaOverview) {
  return {
    id: o.ca.id,
    name: o.ca.name,
    algorithm: o.ca.algorithm,
    status: o.ca.status,
    parentId: o.ca.parentId ?? null,
    subject: o.subject,
    notBefore: o.notBefore.toISOString(),
    notAfter: o.notAfter.toISOString(),
    keyUri: o.ca.keyUri,
    crl: o.crl ? { number: o.crl.number, nextUpdate: o.crl.nextUpdate.toISOString() } : null,
    ocspResponder: o.ocspResponder
      ? { serial: o.ocspResponder.serial, notAfter: o.ocspResponder.notAfter.toISOString() }
      : null,
    issuedCount: o.issuedCount,
  }
}

/**
 * The certificate authorities (/api/v1/ca): overview, a new hierarchy, responder renewal and import of an externally
 * licensed CA. Without a key store (no KEK configured) every route answers 503 CA_UNAVAILABLE.
 */
export function caAdminRoutes(services: Pick<AppServices, 'uow' | 'clock' | 'ca' | 'keyStore'>): FastifyPluginAsyncZod {
  const { uow } = services
  const service = () => {
    if (!services.ca) throw caUnavailable()
    return services.ca
  }
  const importCa = () => {
    if (!services.ca || !services.keyStore) throw caUnavailable()
    return createImportCa({ uow, clock: services.clock, keyStore: services.keyStore })
  }

  return async function caAdminRoutesPlugin(app) {
    app.get(
      '/api/v1/ca',
      {
        config: { access: 'ca.read' },
        schema: {
          tags,
          summary: 'CA 列表 / Certificate authorities',
          description:
            '根 CA 在前。crl 为当前 CRL（未发布时为 null），ocspResponder 为委托 OCSP 签名证书。\n\n' +
            'Roots first. `crl` is the current CRL (null before the first), `ocspResponder` the delegated OCSP ' +
            'signing certificate.',
          response: { 200: z.array(CaSchema), 403: ProblemSchema, 503: ProblemSchema },
        },
      },
      async () => {
        service()
        return (await listCaOverviews(uow)).map(caOut)
      },
    )

    app.post(
      '/api/v1/ca/hierarchies',
      {
        config: { access: 'ca.manage' },
        schema: {
          tags,
          summary: '创建 CA 层级 / Create a CA hierarchy',
          description:
            '生成根 CA 与签发 CA 的密钥（存于密钥库），签发两张 CA 证书、首个 CRL 与签发 CA 的委托 OCSP 响应证书。\n\n' +
            'Generates the root and issuing CA keys in the key store, their certificates, the first CRLs and the ' +
            'issuing CA’s delegated OCSP responder.',
          body: z
            .object({
              algorithm: z.enum(CA_ALGORITHMS),
              rootName: Name,
              issuingName: Name,
              organization: Name.optional().describe(
                '证书主题 O，缺省为顶级机构名称 / subject O of both certificates; default: the top institution’s name',
              ),
            })
            .strict(),
          response: { 201: z.object({ root: CaSchema, issuing: CaSchema }), ...errors },
        },
      },
      async (request, reply) => {
        const { algorithm, rootName, issuingName } = request.body
        // CA certificates name an organisation: the one given, else the top institution, else the root's name.
        const top = (await uow.run((tx) => tx.institutions.list())).find((i) => i.parentId === undefined)
        const O = request.body.organization ?? top?.name ?? rootName
        const name = (CN: string) => ({ C: 'CN', O, CN })
        const created = await service().createHierarchy(
          { algorithm, names: { root: name(rootName), issuing: name(issuingName) } },
          request.actor,
        )
        const [root, issuing] = await Promise.all([
          caOverview(uow, service(), created.root.id),
          caOverview(uow, service(), created.issuing.id),
        ])
        return reply.code(201).send({ root: caOut(root), issuing: caOut(issuing) })
      },
    )

    app.post(
      '/api/v1/ca/:id/ocsp-responder',
      {
        config: { access: 'ca.manage' },
        schema: {
          tags,
          summary: '更新委托 OCSP 响应证书 / Renew the delegated OCSP responder',
          description: '新密钥、新证书（30 天），立即生效。\n\nA new key and certificate (30 days), in use at once.',
          params: z.object({ id: CaId }),
          response: { 200: CaSchema, ...errors },
        },
      },
      async (request) => {
        const ca = service()
        await ca.provisionOcspResponder(request.params.id, request.actor)
        return caOut(await caOverview(uow, ca, request.params.id))
      },
    )

    app.post(
      '/api/v1/ca/imports',
      {
        config: { access: 'ca.manage' },
        bodyLimit: 256 * 1024,
        schema: {
          tags,
          summary: '导入外部 CA / Import an externally licensed CA',
          description:
            '导入持牌 CA 签发给医院的 CA 证书与私钥：证书须为 CA（cA、keyCertSign），私钥须与证书匹配，证书链须验证到自签名根。' +
            '私钥存入密钥库（加密保存），不再返回。首个 CRL 在首次请求时生成。\n\n' +
            'Imports the CA certificate and key a licensed CA issued to the hospital: the certificate must be a CA ' +
            '(cA, keyCertSign), the key must be its key, and the chain must validate up to a self-signed root. The key ' +
            'is sealed in the key store and never returned. The first CRL is made when first asked for.',
          body: z
            .object({
              certificate: z.string().min(1).max(CA_IMPORT_LIMITS.certificatePem),
              chain: z.string().max(CA_IMPORT_LIMITS.chainPem).default(''),
              privateKey: z.string().min(1).max(CA_IMPORT_LIMITS.privateKeyPem),
              name: Name,
            })
            .strict(),
          response: { 201: CaSchema, ...errors },
        },
      },
      async (request, reply) => {
        const imported = await importCa()(request.body, request.actor)
        return reply.code(201).send(caOut(overviewOf(imported, 0)))
      },
    )
  }
}
