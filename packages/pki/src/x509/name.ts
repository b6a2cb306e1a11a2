import { AttributeTypeAndValue, AttributeValue, Name, RelativeDistinguishedName } from '@peculiar/asn1-x509'
import { bytesToHex } from '@yiqian/gm'
import { PkiError } from '../errors.js'
import { derOid, sequence, tlv } from './der-build.js'

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

type StringKind = 'printableString' | 'ia5String' | 'utf8String'

/** The string type `value` is written as for `type`, after checking it fits (throws INVALID_ARGUMENT). */
function stringKind(type: NameAttribute | string, value: string): StringKind {
  switch (type) {
    case 'C':
      if (!/^[A-Z]{2}$/.test(value))
        throw new PkiError('INVALID_ARGUMENT', `country must be two capital letters: ${value}`)
      return 'printableString'
    case 'emailAddress':
      // PKCS #9 defines emailAddress as IA5String.
      if (!/^[\x20-\x7e]+$/.test(value)) throw new PkiError('INVALID_ARGUMENT', `emailAddress is not ASCII: ${value}`)
      return 'ia5String'
    case 'serialNumber':
      // X.520 makes serialNumber a PrintableString; OpenSSL and most validators expect exactly that.
      if (!PRINTABLE.test(value)) throw new PkiError('INVALID_ARGUMENT', `serialNumber is not printable: ${value}`)
      return 'printableString'
    default:
      return 'utf8String'
  }
}

interface CheckedEntry {
  readonly oid: string
  readonly kind: StringKind
  readonly value: string
}

function checkedEntries(list: NameList): CheckedEntry[] {
  if (!Array.isArray(list)) throw new PkiError('INVALID_ARGUMENT', 'a name is a list of { type: value } entries')
  return list.map((entry) => {
    const pairs = Object.entries(entry)
    if (pairs.length !== 1) throw new PkiError('INVALID_ARGUMENT', 'each name entry holds exactly one attribute')
    const [type, value] = pairs[0]!
    if (typeof value !== 'string' || value.length === 0) {
      throw new PkiError('INVALID_ARGUMENT', `name attribute ${type} must be a non-empty string`)
    }
    const oid = NAME_OIDS[type as NameAttribute] ?? (/^\d+(\.\d+)+$/.test(type) ? type : undefined)
    if (oid === undefined) throw new PkiError('INVALID_ARGUMENT', `unknown name attribute ${type}`)
    return { oid, kind: stringKind(type, value), value }
  })
}

/** Builds a Name from `[{ C: 'CN' }, { O: '某某医院' }, { CN: '王医生' }]` (UTF8String except C, serialNumber, emailAddress). */
export function buildName(list: NameList): Name {
  return new Name(
    checkedEntries(list).map(
      ({ oid, kind, value }) =>
        new RelativeDistinguishedName([
          new AttributeTypeAndValue({ type: oid, value: new AttributeValue({ [kind]: value }) }),
        ]),
    ),
  )
}

const STRING_TAGS: Record<StringKind, number> = { printableString: 0x13, ia5String: 0x16, utf8String: 0x0c }
const utf8 = new TextEncoder()

/** The DER of buildName(list), written directly (one attribute per RDN, so no SET ordering to do). */
export function encodeName(list: NameList): Uint8Array {
  return sequence(
    ...checkedEntries(list).map(({ oid, kind, value }) =>
      tlv(0x31, sequence(derOid(oid), tlv(STRING_TAGS[kind], utf8.encode(value)))),
    ),
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
