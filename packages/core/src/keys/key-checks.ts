import { DomainError } from '../errors.js'
import { KEY_ALGORITHMS, KEY_LABEL_MAX_LENGTH, KEY_PURPOSES, type KeyAlgorithm, type KeyPurpose } from './key-store.js'

/** Checks shared by the key stores on what callers pass in (KEY_FIELD_INVALID naming the field). */

export function fieldInvalid(field: string, message: string): DomainError {
  return new DomainError('KEY_FIELD_INVALID', message, { field })
}

/** The label in NFC, trimmed: 1 to KEY_LABEL_MAX_LENGTH characters, no control characters. */
export function checkLabel(label: unknown): string {
  if (typeof label !== 'string') throw fieldInvalid('label', 'label must be text')
  const trimmed = label.normalize('NFC').trim()
  if (trimmed.length === 0 || [...trimmed].length > KEY_LABEL_MAX_LENGTH) {
    throw fieldInvalid(
      'label',
      `密钥名称须为 1–${KEY_LABEL_MAX_LENGTH} 个字符 / label must be 1–${KEY_LABEL_MAX_LENGTH} characters`,
    )
  }
  if (/\p{Cc}/u.test(trimmed)) throw fieldInvalid('label', 'label must not contain control characters')
  return trimmed
}

export function checkPurpose(purpose: unknown): KeyPurpose {
  if (!KEY_PURPOSES.includes(purpose as KeyPurpose)) {
    throw fieldInvalid('purpose', `purpose must be one of ${KEY_PURPOSES.join(', ')}`)
  }
  return purpose as KeyPurpose
}

export function checkAlgorithm(algorithm: unknown, field = 'algorithm'): KeyAlgorithm {
  if (!KEY_ALGORITHMS.includes(algorithm as KeyAlgorithm)) {
    throw fieldInvalid(field, `algorithm must be one of ${KEY_ALGORITHMS.join(', ')}`)
  }
  return algorithm as KeyAlgorithm
}
