import { id_mgf1, id_sha256, RsaSaPssParams } from '@peculiar/asn1-rsa'
import { AsnConvert } from '@peculiar/asn1-schema'
import { AlgorithmIdentifier, type SubjectPublicKeyInfo } from '@peculiar/asn1-x509'
import { createVerifier, equalBytes, isGmError, type SignatureAlgorithm, type Signer, SM2_DEFAULT_ID } from '@yiqian/gm'
import { encodeDer } from './der.js'
import { PkiError } from './errors.js'

/** Signature algorithm identifiers (RFC 5280 / RFC 5758 / RFC 4055 / GM/T 0015). */
export const OID = {
  sm3WithSm2: '1.2.156.10197.1.501',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  rsassaPss: '1.2.840.113549.1.1.10',
} as const

const PSS_PARAMS = (() => {
  const sha256 = new AlgorithmIdentifier({ algorithm: id_sha256, parameters: null })
  return new RsaSaPssParams({
    hashAlgorithm: sha256,
    maskGenAlgorithm: new AlgorithmIdentifier({ algorithm: id_mgf1, parameters: AsnConvert.serialize(sha256) }),
    saltLength: 32,
  })
})()

/** The AlgorithmIdentifier a signature of `algorithm` is labelled with in certificates, CRLs and CMS. */
export function signatureAlgorithmIdentifier(algorithm: SignatureAlgorithm): AlgorithmIdentifier {
  switch (algorithm) {
    case 'SM2-SM3':
      // GM/T 0015 and OpenSSL: parameters absent.
      return new AlgorithmIdentifier({ algorithm: OID.sm3WithSm2 })
    case 'ECDSA-P256-SHA256':
      return new AlgorithmIdentifier({ algorithm: OID.ecdsaWithSha256 })
    case 'RSA-SHA256':
      return new AlgorithmIdentifier({ algorithm: OID.sha256WithRsa, parameters: null })
    case 'RSA-PSS-SHA256':
      return new AlgorithmIdentifier({ algorithm: OID.rsassaPss, parameters: AsnConvert.serialize(PSS_PARAMS) })
  }
}

/** Which of our algorithms an AlgorithmIdentifier names; UNSUPPORTED_ALGORITHM for anything else or odd parameters. */
export function signatureAlgorithmOf(identifier: AlgorithmIdentifier): SignatureAlgorithm {
  const params = identifier.parameters ? new Uint8Array(identifier.parameters) : undefined
  const isNull = params !== undefined && params.length === 2 && params[0] === 0x05 && params[1] === 0x00
  switch (identifier.algorithm) {
    case OID.sm3WithSm2:
      // OpenSSL writes SM3withSM2 without parameters; some CAs write NULL. Both are unambiguous.
      if (params === undefined || isNull) return 'SM2-SM3'
      break
    case OID.ecdsaWithSha256:
      if (params === undefined) return 'ECDSA-P256-SHA256'
      break
    case OID.sha256WithRsa:
      if (params === undefined || isNull) return 'RSA-SHA256'
      break
    case OID.rsassaPss:
      if (params && equalBytes(params, encodeDer(PSS_PARAMS))) return 'RSA-PSS-SHA256'
      break
  }
  throw new PkiError('UNSUPPORTED_ALGORITHM', `unsupported signature algorithm ${identifier.algorithm}`)
}

/** Signs `tbs` and returns the signature with the identifier to put beside it. */
export async function signStructure(
  signer: Signer,
  tbs: Uint8Array,
): Promise<{ algorithm: AlgorithmIdentifier; signature: Uint8Array }> {
  return { algorithm: signatureAlgorithmIdentifier(signer.algorithm), signature: await signer.sign(tbs) }
}

/**
 * Verifies `signature` over `data` with the key in `spki`, as the identifier says. SM2 uses the signer ID
 * `sm2Id` (default 1234567812345678, as GM/T 0015 certificates are signed). False when it does not verify
 * (including a key that does not fit the algorithm or a malformed signature); throws only for unsupported input.
 */
export async function verifyStructure(
  identifier: AlgorithmIdentifier,
  spki: SubjectPublicKeyInfo | Uint8Array,
  data: Uint8Array,
  signature: Uint8Array,
  { sm2Id = SM2_DEFAULT_ID }: { sm2Id?: string | Uint8Array } = {},
): Promise<boolean> {
  const algorithm = signatureAlgorithmOf(identifier)
  const keyDer = spki instanceof Uint8Array ? spki : encodeDer(spki)
  try {
    return await createVerifier(keyDer, { algorithm, id: sm2Id }).verify(data, signature)
  } catch (error) {
    if (isGmError(error)) return false
    throw error
  }
}
