/**
 * Importing an externally licensed CA (e.g. a provincial CA that issued the hospital an issuing certificate and its
 * key): the certificate must be a CA (basicConstraints cA, keyCertSign), the private key must be the certificate's
 * (a challenge is signed with it and checked with the certificate's public key), and the chain must validate up to
 * a self-signed root now. Everything is checked before the key reaches the KeyStore, which stores it sealed in its
 * own unit of work (`key.imported`); the CA row and `ca.imported` follow in one more. The first CRL is made lazily
 * by CaService.crl.
 */
import { randomBytes } from 'node:crypto'
import { createSigner, createVerifier, equalBytes } from '@yiqian/gm'
import {
  certificateFromPem,
  fromPem,
  type ParsedCertificate,
  parseCertificate,
  validatePath,
  verifyCertificateSignature,
} from '@yiqian/pki'
import type { ActorContext } from '../access/principal.js'
import type { Clock } from '../clock.js'
import { DomainError } from '../errors.js'
import type { KeyStore } from '../keys/key-store.js'
import type { UnitOfWork } from '../unit-of-work.js'
import { describePublicKey } from './ca-service.js'
import { CA_LIMITS, type CaAlgorithm, type CertificateAuthority } from './certificate-authority.js'

export const CA_IMPORT_LIMITS = {
  /** One PEM certificate. */
  certificatePem: 16 * 1024,
  /** The issuers, nearest first. */
  chainPem: 64 * 1024,
  chainCertificates: 8,
  privateKeyPem: 16 * 1024,
} as const

export interface ImportCaInput {
  /** The CA's own certificate, PEM. */
  readonly certificate: string
  /** Its issuers up to and including the self-signed root, PEM blocks (any order); empty for a self-signed root. */
  readonly chain: string
  /** PKCS#8 PrivateKeyInfo, PEM (`BEGIN PRIVATE KEY`), unencrypted. */
  readonly privateKey: string
  readonly name: string
}

export interface ImportCaDeps {
  readonly uow: UnitOfWork
  readonly clock: Clock
  readonly keyStore: KeyStore
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]*-----END CERTIFICATE-----/g

function invalid(field: string, zh: string, en: string, extra: Record<string, unknown> = {}): DomainError {
  return new DomainError('INVALID_INPUT', `${field}: ${zh} / ${en}`, { field, ...extra })
}

function text(field: string, value: unknown, max: number): string {
  if (typeof value !== 'string' || value.length > max) {
    throw invalid(field, `应为不超过 ${max} 个字符的 PEM 文本`, `must be PEM text of at most ${max} characters`)
  }
  return value
}

function parsePem(field: string, pem: string): ParsedCertificate {
  try {
    return parseCertificate(certificateFromPem(pem))
  } catch {
    throw invalid(field, '不是可解析的 PEM 证书', 'not a PEM certificate that can be read')
  }
}

function caAlgorithmOf(spki: Uint8Array): CaAlgorithm {
  let key: ReturnType<typeof describePublicKey>
  try {
    key = describePublicKey(spki)
  } catch {
    key = { algorithm: 'RSA', bits: 0 }
  }
  if (key.algorithm === 'SM2') return 'sm2'
  if (key.algorithm === 'ECDSA-P256') return 'ecdsa-p256'
  if (key.algorithm === 'RSA' && key.bits === 3072) return 'rsa-3072'
  throw invalid(
    'certificate',
    'CA 密钥须为 SM2、ECDSA P-256 或 RSA-3072',
    'the CA key must be SM2, ECDSA P-256 or RSA-3072',
  )
}

async function selfSigned(cert: ParsedCertificate): Promise<boolean> {
  if (!equalBytes(cert.subjectDer, cert.issuerDer)) return false
  try {
    return await verifyCertificateSignature(cert, cert)
  } catch {
    return false
  }
}

/** Whether `pem` holds the private key of `spki`: a fresh challenge signed with one verifies with the other. */
async function keyMatches(pem: string, spki: Uint8Array): Promise<boolean> {
  let signer: ReturnType<typeof createSigner>
  try {
    signer = createSigner(pem)
  } catch {
    throw invalid('privateKey', '不是可读取的未加密 PKCS#8 私钥', 'not an unencrypted PKCS#8 private key')
  }
  const challenge = new Uint8Array(randomBytes(32))
  try {
    return await createVerifier(spki).verify(challenge, await signer.sign(challenge))
  } catch {
    return false
  }
}

export function createImportCa(deps: ImportCaDeps) {
  const { uow, clock, keyStore } = deps
  return async function importCa(input: ImportCaInput, actor: ActorContext): Promise<CertificateAuthority> {
    const name = typeof input?.name === 'string' ? input.name.trim() : ''
    if (name === '' || [...name].length > CA_LIMITS.name || /\p{Cc}/u.test(name)) {
      throw invalid('name', `必填，最多 ${CA_LIMITS.name} 个字符`, `required, at most ${CA_LIMITS.name} characters`)
    }
    const cert = parsePem('certificate', text('certificate', input.certificate, CA_IMPORT_LIMITS.certificatePem))
    const bc = cert.extensions.basicConstraints
    if (bc?.ca !== true) {
      throw invalid(
        'certificate',
        '不是 CA 证书（basicConstraints 无 cA）',
        'not a CA certificate (basicConstraints cA)',
      )
    }
    if (!cert.extensions.keyUsage?.usages.includes('keyCertSign')) {
      throw invalid('certificate', 'CA 证书须有 keyCertSign 用途', 'the CA certificate must allow keyCertSign')
    }
    const algorithm = caAlgorithmOf(cert.subjectPublicKeyInfo)

    const chainText = text('chain', input.chain ?? '', CA_IMPORT_LIMITS.chainPem)
    const blocks = chainText.match(PEM_CERTIFICATE) ?? []
    if (blocks.length > CA_IMPORT_LIMITS.chainCertificates) {
      throw invalid(
        'chain',
        `最多 ${CA_IMPORT_LIMITS.chainCertificates} 张证书`,
        `at most ${CA_IMPORT_LIMITS.chainCertificates} certificates`,
      )
    }
    const chain = blocks.map((block) => parsePem('chain', block))
    const anchors: ParsedCertificate[] = []
    for (const c of [...chain, cert]) if (await selfSigned(c)) anchors.push(c)
    if (anchors.length === 0) {
      throw invalid('chain', '证书链须包含自签名根证书', 'the chain must end with a self-signed root certificate')
    }
    const now = clock.now()
    const report = await validatePath({
      target: cert.der,
      intermediates: chain.filter((c) => !anchors.includes(c)).map((c) => c.der),
      trustAnchors: anchors.map((c) => c.der),
      at: now,
    })
    if (report.status !== 'passed') {
      throw invalid('chain', `证书链验证未通过：${report.reasonZh}`, `the chain does not validate: ${report.reason}`, {
        reason: report.reason,
      })
    }
    // Stored nearest issuer first, ending with the root: the order the validator walked.
    const ordered = report.chain
      .filter((entry) => entry.role !== 'target')
      .map((entry) => [...chain, cert].find((c) => c.serialHex === entry.serial && c.subjectString === entry.subject))
      .filter((c): c is ParsedCertificate => c !== undefined && c !== cert)

    const keyPem = text('privateKey', input.privateKey, CA_IMPORT_LIMITS.privateKeyPem)
    if (keyPem.includes('ENCRYPTED PRIVATE KEY')) {
      throw invalid('privateKey', '私钥不能加密，请先解密为 PKCS#8', 'the key must not be encrypted; give plain PKCS#8')
    }
    let pkcs8: Uint8Array
    try {
      pkcs8 = fromPem(keyPem, 'PRIVATE KEY')
    } catch {
      throw invalid('privateKey', '应为 PKCS#8 PEM（BEGIN PRIVATE KEY）', 'must be PKCS#8 PEM (BEGIN PRIVATE KEY)')
    }
    if (!(await keyMatches(keyPem, cert.subjectPublicKeyInfo))) {
      pkcs8.fill(0)
      throw invalid('privateKey', '私钥与证书公钥不匹配', 'the private key does not belong to the certificate')
    }

    const existing = await uow.run((tx) => tx.certificateAuthorities.list())
    if (existing.some((ca) => equalBytes(ca.certificate, cert.der))) {
      pkcs8.fill(0)
      throw invalid('certificate', '该 CA 证书已导入', 'this CA certificate is already present')
    }
    const parent = ordered[0] && existing.find((ca) => equalBytes(ca.certificate, ordered[0]!.der))

    let key: Awaited<ReturnType<KeyStore['importPrivateKey']>>
    try {
      key = await keyStore.importPrivateKey(pkcs8, { label: name, purpose: 'ca', algorithm }, actor)
    } finally {
      pkcs8.fill(0)
    }
    const id = `ca-${randomBytes(8).toString('hex')}`
    const ca: CertificateAuthority = {
      id,
      name,
      keyUri: key.uri,
      algorithm,
      certificate: cert.der,
      chain: ordered.map((c) => c.der),
      parentId: parent?.id,
      status: 'active',
      crl: undefined,
      crlNumber: 0,
      crlNextUpdate: undefined,
      ocspResponder: undefined,
      createdAt: now,
    }
    await uow.run(async (tx) => {
      await tx.certificateAuthorities.insert(ca)
      await tx.audit.append({
        ...actor,
        type: 'ca.imported',
        subject: id,
        data: {
          name,
          algorithm,
          keyUri: key.uri,
          subject: cert.subjectString,
          serial: cert.serialHex,
          root: ordered.at(-1)?.subjectString ?? cert.subjectString,
          notAfter: cert.notAfter.toISOString(),
          ...(parent && { parent: parent.id }),
        },
        outcome: 'success',
      })
    })
    return ca
  }
}

export type ImportCa = ReturnType<typeof createImportCa>
