import { AttributeTypeAndValue, AttributeValue, Name, RelativeDistinguishedName } from '@peculiar/asn1-x509'
import { bytesToHex } from '@yiqian/gm'
import { PkiError } from '../errors.js'

/** Short names of the attributes a hospital PKI puts into distinguished names. */
export type NameAttribute = 'C' | 'ST' | 'L' | 'O' | 'OU' | 'CN' | 'serialNumber' | 'emailAddress'

/** One attribute of a distinguished name, e.g. `{ CN: '王医生' }`; unknown types parse with their dotted OID as key. */
export type NameEntry = { readonly [type: string]: string }

/** Distinguished name in order, most significant first, one attribute per RDN. */
export type NameList = readonly NameEntry[]

export const NAME_OIDS: Readonly<Record<NameAttribute, string>> = {
  C: '2.5.4.6',
  ST: '2.5.4.8',
  L: '2.5.4.7',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  CN: '2.5.4.3',
  serialNumber: '2.5.4.5',
  emailAddress: '1.2.840.113549.1.9.1',
}

const SHORT_NAMES = new Map(Object.entries(NAME_OIDS).map(([short, oid]) => [oid, short]))
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/

function attributeValue(type: NameAttribute | string, value: string): AttributeValue {
  switch (type) {
    case 'C':
      if (!/^[A-Z]{2}$/.test(value))
        throw new PkiError('INVALID_ARGUMENT', `country must be two capital letters: ${value}`)
      return new AttributeValue({ printableString: value })
    case 'emailAddress':
      // PKCS #9 defines emailAddress as IA5String.
      if (!/^[\x20-\x7e]+$/.test(value)) throw new PkiError('INVALID_ARGUMENT', `emailAddress is not ASCII: ${value}`)
      return new AttributeValue({ ia5String: value })
    case 'serialNumber':
      // X.520 makes serialNumber a PrintableString; OpenSSL and most validators expect exactly that.
      if (!PRINTABLE.test(value)) throw new PkiError('INVALID_ARGUMENT', `serialNumber is not printable: ${value}`)
      return new AttributeValue({ printableString: value })
    default:
      return new AttributeValue({ utf8String: value })
  }
}

/** Builds a Name from `[{ C: 'CN' }, { O: '某某医院' }, { CN: '王医生' }]` (UTF8String except C, serialNumber, emailAddress). */
export function buildName(list: NameList): Name {
  if (!Array.isArray(list)) throw new PkiError('INVALID_ARGUMENT', 'a name is a list of { type: value } entries')
  return new Name(
    list.map((entry) => {
      const pairs = Object.entries(entry)
      if (pairs.length !== 1) throw new PkiError('INVALID_ARGUMENT', 'each name entry holds exactly one attribute')
      const [type, value] = pairs[0]!
      if (typeof value !== 'string' || value.length === 0) {
        throw new PkiError('INVALID_ARGUMENT', `name attribute ${type} must be a non-empty string`)
      }
      const oid = NAME_OIDS[type as NameAttribute] ?? (/^\d+(\.\d+)+$/.test(type) ? type : undefined)
      if (oid === undefined) throw new PkiError('INVALID_ARGUMENT', `unknown name attribute ${type}`)
      return new RelativeDistinguishedName([
        new AttributeTypeAndValue({ type: oid, value: attributeValue(type, value) }),
      ])
    }),
  )
}

/** The list form of a parsed Name; multi-valued RDNs are flattened in their encoded order. */
export function nameToList(name: Name): NameEntry[] {
  const list: NameEntry[] = []
  for (const rdn of name) {
    for (const atv of rdn) {
      const v = atv.value
      const text =
        v.utf8String ??
        v.printableString ??
        v.ia5String ??
        v.teletexString ??
        v.bmpString ??
        v.universalString ??
        (v.anyValue ? `#${bytesToHex(new Uint8Array(v.anyValue))}` : '')
      list.push({ [SHORT_NAMES.get(atv.type) ?? atv.type]: text })
    }
  }
  return list
}

/** Readable one-line form, RFC 4514 order reversed to how it is encoded (as `openssl -nameopt oneline` prints). */
export function nameToString(list: NameList): string {
  return list
    .map((entry) => {
      const [type, value] = Object.entries(entry)[0] ?? ['', '']
      return `${type}=${value.replace(/([,+"\\<>;=])/g, '\\$1')}`
    })
    .join(', ')
}
