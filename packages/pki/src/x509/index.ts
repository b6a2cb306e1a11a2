export {
  type BuildCertificateOptions,
  buildCertificate,
  certificateFromPem,
  certificateToPem,
  type ParsedCertificate,
  parseCertificate,
  type SignatureAlgorithmView,
  signatureAlgorithmDer,
  verifyCertificateSignature,
} from './certificate.js'
export {
  type BuildCrlOptions,
  buildCrl,
  crlFromPem,
  crlToPem,
  isRevoked,
  type ParsedCrl,
  parseCrl,
  type RevocationReason,
  type RevokedEntry,
  type RevokedInput,
  verifyCrlSignature,
} from './crl.js'
export {
  type BuildCsrOptions,
  buildCsr,
  csrFromPem,
  csrToPem,
  EXTENSION_REQUEST_OID,
  type ParsedCsr,
  parseCsr,
  verifyCsr,
} from './csr.js'
export { type SpkiParts, spkiParts } from './der-build.js'
export {
  type AltName,
  EXT_KEY_USAGE_OIDS,
  EXTENSION_OIDS,
  type ExtensionsInput,
  KEY_USAGES,
  type KeyUsageName,
  keyIdentifierOf,
  type ParsedExtensions,
  type RawExtension,
} from './extensions.js'
export {
  buildName,
  encodeName,
  NAME_OIDS,
  type NameAttribute,
  type NameEntry,
  type NameList,
  nameToList,
  nameToString,
} from './name.js'
export { fromPem, toPem } from './pem.js'
export { generateSerial, type SerialInput, serialToBytes, serialToHex } from './serial.js'
