import {
  type CertificateIssuer,
  type Clock,
  createEnrolment,
  createRaUseCases,
  RA_LIMITS,
  type SecretBox,
  type UnitOfWork,
} from '@yiqian/core'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { ProblemSchema } from '../schemas.js'

const tags = ['enrolment']
const errors = { 400: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema, 503: ProblemSchema }
const Base64 = z
  .string()
  .min(4)
  .max(4096)
  .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'base64')
const ActivationCode = z
  .string()
  .regex(new RegExp(`^[0-9]{${RA_LIMITS.activationCodeDigits}}$`), `${RA_LIMITS.activationCodeDigits} 位数字 / digits`)
const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'base64'))
const b64 = (data: Uint8Array) => Buffer.from(data).toString('base64')

export interface EnrolmentServices {
  readonly uow: UnitOfWork
  readonly clock: Clock
  readonly secretBox: SecretBox
  readonly certificateIssuer?: CertificateIssuer | undefined
}

/**
 * Phone enrolment with an activation code: two-party SM2 key generation (two round trips) and issuance of the
 * approved application's certificate for the joint key. Public routes: the activation code is the credential, with
 * its own attempt limit, and each address is rate-limited.
 */
export function enrolmentRoutes(services: EnrolmentServices): FastifyPluginAsyncZod {
  const ra = createRaUseCases({ ...services, issuer: services.certificateIssuer })
  const enrolment = createEnrolment({ ...services, ra })
  return async function enrolmentRoutesPlugin(app) {
    app.post(
      '/api/v1/enrolment/keygen',
      {
        config: { access: 'public', rateLimit: { max: 30, timeWindow: '1 minute' } },
        schema: {
          tags,
          summary: '手机注册：开始两方密钥生成 / Phone enrolment: start two-party key generation',
          description:
            '手机提交申请 ID、一次性激活码和 keygenCommit 消息；服务端核对激活码（不消耗；错误次数计入上限），' +
            '生成自己的密钥分量并返回 keygenServerShare。\n\nThe phone sends the application id, the one-time ' +
            'activation code and its keygenCommit message; the server checks the code (not redeemed yet; wrong ' +
            'guesses count), makes its share and answers with keygenServerShare.',
          body: z
            .object({ applicationId: z.string().min(1).max(64), activationCode: ActivationCode, commit: Base64 })
            .strict(),
          response: {
            200: z.object({ sessionId: z.string(), message: z.string(), expiresAt: z.string() }),
            ...errors,
          },
        },
      },
      async (request, reply) => {
        const started = await enrolment.begin(request.actor, {
          applicationId: request.body.applicationId,
          code: request.body.activationCode,
          commit: bytes(request.body.commit),
        })
        reply.header('cache-control', 'no-store')
        return {
          sessionId: started.sessionId,
          message: b64(started.message),
          expiresAt: started.expiresAt.toISOString(),
        }
      },
    )

    app.post(
      '/api/v1/enrolment/keygen/:sessionId',
      {
        config: { access: 'public', rateLimit: { max: 30, timeWindow: '1 minute' } },
        schema: {
          tags,
          summary: '手机注册：完成密钥生成并签发证书 / Phone enrolment: finish key generation and issue',
          description:
            '手机提交 keygenReveal；服务端消耗激活码、完成密钥生成、加密保存服务端分量，并签发证书（同一事务）。' +
            '返回 keygenConfirm 与证书。\n\nThe phone sends keygenReveal; the server redeems the code, completes ' +
            'key generation, stores its sealed share and issues the certificate in one transaction, and answers ' +
            'with keygenConfirm and the certificate.',
          params: z.object({ sessionId: z.string().regex(/^[0-9a-f]{32}$/, '32 位十六进制 / 32 hex digits') }),
          body: z.object({ activationCode: ActivationCode, reveal: Base64 }).strict(),
          response: {
            200: z.object({
              message: z.string(),
              keyId: z.string(),
              certificate: z.object({ id: z.string(), serial: z.string(), issuerId: z.string(), der: z.string() }),
            }),
            ...errors,
          },
        },
      },
      async (request, reply) => {
        const done = await enrolment.complete(request.actor, {
          sessionId: request.params.sessionId,
          code: request.body.activationCode,
          reveal: bytes(request.body.reveal),
        })
        reply.header('cache-control', 'no-store')
        return {
          message: b64(done.message),
          keyId: done.keyId,
          certificate: {
            id: done.issued.certificateId,
            serial: done.issued.serial,
            issuerId: done.issued.issuerId,
            der: b64(done.issued.certificate),
          },
        }
      },
    )
  }
}
