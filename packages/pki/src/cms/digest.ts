import { AlgorithmIdentifier } from '@peculiar/asn1-x509'
import { sm3 } from '@yiqian/gm'
import { PkiError } from '../errors.js'

export type DigestName = 'SHA-256' | 'SM3'

export const DIGEST_OID: Readonly<Record<DigestName, string>> = {
  'SHA-256': '2.16.840.1.101.3.4.2.1',
  SM3: '1.2.156.10197.1.401',
}

const nodeCrypto = globalThis.process.getBuiltinModule('node:crypto')

export function digest(name: DigestName, data: Uint8Array): Uint8Array {
  if (name === 'SM3') return sm3(data)
  return new Uint8Array(nodeCrypto.createHash('sha256').update(data).digest())
}

/** Only to read RFC 2634 ESSCertID (v1) certificate hashes, which are SHA-1 by definition. */
export function sha1(data: Uint8Array): Uint8Array {
  return new Uint8Array(nodeCrypto.createHash('sha1').update(data).digest())
}

/** Parameters absent, as OpenSSL writes SHA-256 and SM3 in CMS. */
export function digestAlgorithmIdentifier(name: DigestName): AlgorithmIdentifier {
  return new AlgorithmIdentifier({ algorithm: DIGEST_OID[name] })
}

/** Absent or NULL parameters are both seen in the wild for SHA-256; anything else is not one of ours. */
export function digestNameOf(identifier: AlgorithmIdentifier): DigestName {
  const params = identifier.parameters ? new Uint8Array(identifier.parameters) : undefined
  const okParams = params === undefined || (params.length === 2 && params[0] === 0x05 && params[1] === 0x00)
  if (okParams) {
    if (identifier.algorithm === DIGEST_OID['SHA-256']) return 'SHA-256'
    if (identifier.algorithm === DIGEST_OID.SM3) return 'SM3'
  }
  throw new PkiError('UNSUPPORTED_ALGORITHM', `unsupported digest algorithm ${identifier.algorithm}`)
}

/** DER SET OF order (X.690 §11.6): octet-wise, a shorter encoding as if padded with zeros. */
export function compareDer(a: Uint8Array, b: Uint8Array): number {
  const n = Math.max(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}
