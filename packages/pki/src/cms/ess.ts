import { Attribute } from '@peculiar/asn1-cms'
import {
  AsnArray,
  AsnIntegerArrayBufferConverter,
  AsnProp,
  AsnPropTypes,
  AsnType,
  AsnTypeTypes,
  OctetString,
} from '@peculiar/asn1-schema'
import { AlgorithmIdentifier, GeneralNames } from '@peculiar/asn1-x509'

// RFC 5035 ESS signing-certificate-v2 and a few attribute-value wrappers. No @peculiar package defines them; the
// decorators are plain functions applied by hand because the shared tsconfig does not enable experimentalDecorators.

/** IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber CertificateSerialNumber } */
export class IssuerSerial {
  issuer: GeneralNames = new GeneralNames()
  serialNumber: ArrayBuffer = new ArrayBuffer(0)
  constructor(params: Partial<IssuerSerial> = {}) {
    Object.assign(this, params)
  }
}
AsnType({ type: AsnTypeTypes.Sequence })(IssuerSerial)
AsnProp({ type: GeneralNames })(IssuerSerial.prototype, 'issuer')
AsnProp({ type: AsnPropTypes.Integer, converter: AsnIntegerArrayBufferConverter })(
  IssuerSerial.prototype,
  'serialNumber',
)

/**
 * ESSCertIDv2 ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier DEFAULT {algorithm id-sha256},
 *                            certHash OCTET STRING, issuerSerial IssuerSerial OPTIONAL }
 * `hashAlgorithm` is left absent for SHA-256: DER omits a DEFAULT value.
 */
export class EssCertIdV2 {
  hashAlgorithm?: AlgorithmIdentifier
  certHash: OctetString = new OctetString()
  issuerSerial?: IssuerSerial
  constructor(params: Partial<EssCertIdV2> = {}) {
    Object.assign(this, params)
  }
}
AsnType({ type: AsnTypeTypes.Sequence })(EssCertIdV2)
AsnProp({ type: AlgorithmIdentifier, optional: true })(EssCertIdV2.prototype, 'hashAlgorithm')
AsnProp({ type: OctetString })(EssCertIdV2.prototype, 'certHash')
AsnProp({ type: IssuerSerial, optional: true })(EssCertIdV2.prototype, 'issuerSerial')

/** SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, policies ... OPTIONAL } (policies unused) */
export class SigningCertificateV2 {
  certs: EssCertIdV2[] = []
  constructor(params: Partial<SigningCertificateV2> = {}) {
    Object.assign(this, params)
  }
}
AsnType({ type: AsnTypeTypes.Sequence })(SigningCertificateV2)
AsnProp({ type: EssCertIdV2, repeated: 'sequence' })(SigningCertificateV2.prototype, 'certs')

/** A bare OBJECT IDENTIFIER as an attribute value (content-type). */
export class ObjectIdentifierValue {
  value = ''
  constructor(value = '') {
    this.value = value
  }
}
AsnType({ type: AsnTypeTypes.Choice })(ObjectIdentifierValue)
AsnProp({ type: AsnPropTypes.ObjectIdentifier })(ObjectIdentifierValue.prototype, 'value')

/** SignedAttributes as the SET the signature covers (RFC 5652 §5.4: tag 0x31, not the [0] of the SignerInfo). */
export class AttributeSet extends AsnArray<Attribute> {
  constructor(items?: Attribute[]) {
    super(items)
    Object.setPrototypeOf(this, AttributeSet.prototype)
  }
}
AsnType({ type: AsnTypeTypes.Set, itemType: Attribute })(AttributeSet)

/** RFC 2634 ESSCertID ::= SEQUENCE { certHash OCTET STRING (SHA-1), issuerSerial IssuerSerial OPTIONAL } */
export class EssCertId {
  certHash: OctetString = new OctetString()
  issuerSerial?: IssuerSerial
  constructor(params: Partial<EssCertId> = {}) {
    Object.assign(this, params)
  }
}
AsnType({ type: AsnTypeTypes.Sequence })(EssCertId)
AsnProp({ type: OctetString })(EssCertId.prototype, 'certHash')
AsnProp({ type: IssuerSerial, optional: true })(EssCertId.prototype, 'issuerSerial')

/** RFC 2634 SigningCertificate (v1): what `openssl ts -reply` writes unless ess_cert_id_alg is set. Read only. */
export class SigningCertificate {
  certs: EssCertId[] = []
  constructor(params: Partial<SigningCertificate> = {}) {
    Object.assign(this, params)
  }
}
AsnType({ type: AsnTypeTypes.Sequence })(SigningCertificate)
AsnProp({ type: EssCertId, repeated: 'sequence' })(SigningCertificate.prototype, 'certs')
