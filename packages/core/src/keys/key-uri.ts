import { DomainError } from '../errors.js'

/**
 * Keys are named by URI, as step-ca's KMS does: `soft:<id>` for a key sealed in the database under the
 * key-encryption key, `pkcs11:token=…;object=…` (RFC 7512) for a key that lives in an HSM.
 */
export type KeyUri = SoftKeyUri | Pkcs11KeyUri

export interface SoftKeyUri {
  readonly scheme: 'soft'
  readonly id: string
}

export interface Pkcs11KeyUri {
  readonly scheme: 'pkcs11'
  /** The token label (CKA_LABEL of the token). */
  readonly token: string
  /** The key object's label (CKA_LABEL). */
  readonly object: string
  /** Every path attribute, decoded (token and object included): `id`, `type`, `serial`, `slot-id`, `x-…`. */
  readonly path: Readonly<Record<string, string>>
  /** Query attributes, decoded: `module-path`, `module-name`, `pin-source`. */
  readonly query: Readonly<Record<string, string>>
}

export const KEY_URI_MAX_LENGTH = 1024
/** A soft key id: lower-case letters, digits and hyphens, starting with a letter or digit. */
export const SOFT_KEY_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/

// RFC 7512 §2.3. Vendor attributes start with `x-`.
const PKCS11_PATH_ATTRIBUTES = new Set([
  'token',
  'manufacturer',
  'serial',
  'model',
  'library-manufacturer',
  'library-description',
  'library-version',
  'object',
  'type',
  'id',
  'slot-description',
  'slot-manufacturer',
  'slot-id',
])
// `pin-value` is left out on purpose: a URI is stored and logged, a PIN must not be (use `pin-source`).
const PKCS11_QUERY_ATTRIBUTES = new Set(['pin-source', 'module-name', 'module-path'])
const PKCS11_OBJECT_TYPES = new Set(['private', 'public', 'cert', 'secret-key', 'data'])

function invalid(uri: string, reason: string): DomainError {
  return new DomainError('KEY_URI_INVALID', `key URI is not valid: ${reason}`, {
    field: 'uri',
    uri: uri.slice(0, 200),
    reason,
  })
}

// Unreserved, sub-delims except `;` (path) and `&` (query), `:` `@`, and percent-escapes, per RFC 7512's grammar.
const PATH_VALUE = /^(?:[A-Za-z0-9\-._~!$'()*+,=:@&[\]]|%[0-9A-Fa-f]{2})*$/
const QUERY_VALUE = /^(?:[A-Za-z0-9\-._~!$'()*+,;=:@[\]/?|]|%[0-9A-Fa-f]{2})*$/

function decode(uri: string, value: string, name: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    throw invalid(uri, `attribute ${name} has a malformed percent-escape`)
  }
}

function attributes(
  uri: string,
  part: string,
  separator: string,
  allowed: ReadonlySet<string>,
  valuePattern: RegExp,
): Record<string, string> {
  const out: Record<string, string> = {}
  if (part === '') return out
  for (const item of part.split(separator)) {
    const eq = item.indexOf('=')
    if (eq <= 0) throw invalid(uri, `"${item.slice(0, 40)}" is not name=value`)
    const name = item.slice(0, eq)
    const raw = item.slice(eq + 1)
    if (!allowed.has(name) && !/^x-[a-z0-9-]+$/.test(name)) throw invalid(uri, `unknown attribute ${name}`)
    if (Object.hasOwn(out, name)) throw invalid(uri, `attribute ${name} appears twice`)
    if (!valuePattern.test(raw)) throw invalid(uri, `attribute ${name} has characters that must be percent-encoded`)
    out[name] = decode(uri, raw, name)
  }
  return out
}

/** Parses and validates a key URI; anything else fails with KEY_URI_INVALID naming the reason. */
export function parseKeyUri(uri: string): KeyUri {
  if (typeof uri !== 'string' || uri.length === 0) throw invalid(String(uri), 'empty')
  if (uri.length > KEY_URI_MAX_LENGTH) throw invalid(uri, `longer than ${KEY_URI_MAX_LENGTH} characters`)
  const colon = uri.indexOf(':')
  const scheme = colon < 0 ? '' : uri.slice(0, colon).toLowerCase()
  const rest = uri.slice(colon + 1)
  if (scheme === 'soft') {
    if (!SOFT_KEY_ID_PATTERN.test(rest)) {
      throw invalid(uri, 'a soft key id is 1–64 lower-case letters, digits or hyphens')
    }
    return { scheme: 'soft', id: rest }
  }
  if (scheme === 'pkcs11') {
    const question = rest.indexOf('?')
    const pathPart = question < 0 ? rest : rest.slice(0, question)
    const queryPart = question < 0 ? '' : rest.slice(question + 1)
    if (/pin-value=/.test(queryPart)) throw invalid(uri, 'pin-value must not be written in a key URI; use pin-source')
    const path = attributes(uri, pathPart, ';', PKCS11_PATH_ATTRIBUTES, PATH_VALUE)
    const query = attributes(uri, queryPart, '&', PKCS11_QUERY_ATTRIBUTES, QUERY_VALUE)
    const token = path.token
    const object = path.object
    if (!token) throw invalid(uri, 'a pkcs11 key URI names its token (token=…)')
    if (!object) throw invalid(uri, 'a pkcs11 key URI names its object (object=…)')
    if (path.type !== undefined && !PKCS11_OBJECT_TYPES.has(path.type)) {
      throw invalid(uri, `type=${path.type} is not a PKCS#11 object type`)
    }
    if (query['module-name'] !== undefined && query['module-path'] !== undefined) {
      throw invalid(uri, 'module-name and module-path exclude each other')
    }
    return { scheme: 'pkcs11', token, object, path, query }
  }
  throw invalid(uri, 'the scheme is neither soft: nor pkcs11:')
}

/** Percent-encodes what RFC 7512 does not allow literally in a path value. */
function encodePathValue(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

/** The canonical text of a key URI: `soft:<id>`, or `pkcs11:` with token and object first and the rest sorted. */
export function formatKeyUri(key: KeyUri): string {
  if (key.scheme === 'soft') {
    if (!SOFT_KEY_ID_PATTERN.test(key.id)) throw invalid(`soft:${key.id}`, 'not a soft key id')
    return `soft:${key.id}`
  }
  const rest = Object.keys(key.path)
    .filter((name) => name !== 'token' && name !== 'object')
    .sort()
  const path = [
    `token=${encodePathValue(key.token)}`,
    `object=${encodePathValue(key.object)}`,
    ...rest.map((name) => `${name}=${encodePathValue(key.path[name] ?? '')}`),
  ].join(';')
  const query = Object.keys(key.query)
    .sort()
    .map((name) => `${name}=${encodeURIComponent(key.query[name] ?? '')}`)
    .join('&')
  return `pkcs11:${path}${query ? `?${query}` : ''}`
}

export function softKeyUri(id: string): string {
  return formatKeyUri({ scheme: 'soft', id })
}
