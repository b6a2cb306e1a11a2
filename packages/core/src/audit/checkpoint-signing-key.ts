import {
  bytesToHex,
  generateSm2KeyPair,
  sm2PrivateKeyFromPem,
  sm2PrivateKeyToPem,
  sm2PublicKeyToPem,
  sm2Sign,
  sm3,
} from '@yiqian/gm'
import type { Clock } from '../clock.js'
import type { SecretBox } from '../protection/secret-box.js'
import type { UnitOfWork } from '../unit-of-work.js'
import type { AuditSigningKey, CheckpointSigner } from './audit-checkpoint.js'

/** Named by its public key, so that the id in a checkpoint names exactly one key, and a PEM file yields the id. */
export function auditSigningKeyId(publicKey: Uint8Array): string {
  return `audit-sm2-${bytesToHex(sm3(publicKey)).slice(0, 16)}`
}

export function signingKeyContext(id: string): string {
  return `audit_signing_keys.private_key:${id}`
}

/**
 * The key that signs checkpoints, made on first use: a soft SM2 key whose private half is sealed with the
 * SecretBox in `audit_signing_keys`. Two instances starting together may each make one; both are stored and
 * both verify, and from then on every instance signs with the oldest (`active()` is deterministic).
 */
export async function ensureAuditSigningKey(deps: {
  uow: UnitOfWork
  clock: Clock
  secretBox: SecretBox
}): Promise<AuditSigningKey> {
  const existing = await deps.uow.run((tx) => tx.auditSigningKeys.active())
  if (existing) return existing
  const { privateKey, publicKey } = generateSm2KeyPair()
  const publicKeyPem = sm2PublicKeyToPem(publicKey)
  const id = auditSigningKeyId(publicKey)
  const key: AuditSigningKey = {
    id,
    algorithm: 'SM2-SM3',
    publicKeyPem,
    sealedPrivateKey: deps.secretBox.seal(sm2PrivateKeyToPem(privateKey), signingKeyContext(id)),
    createdAt: deps.clock.now(),
  }
  return deps.uow.run(async (tx) => {
    await tx.auditSigningKeys.insert(key)
    const active = await tx.auditSigningKeys.active()
    if (!active) throw new Error('audit signing key vanished after insert')
    return active
  })
}

/** A CheckpointSigner over the stored soft key. Issue 6's KeyStore will offer the same shape for HSM keys. */
export function storedCheckpointSigner(key: AuditSigningKey, secretBox: SecretBox): CheckpointSigner {
  const privateKey = sm2PrivateKeyFromPem(secretBox.open(key.sealedPrivateKey, signingKeyContext(key.id))).privateKey
  return {
    keyId: key.id,
    algorithm: 'SM2-SM3',
    publicKeyPem: key.publicKeyPem,
    sign: async (body) => sm2Sign(body, privateKey, { encoding: 'der' }),
  }
}

/** The PEM the server writes to `<data dir>/audit-checkpoint-key.pem` (made on first use). */
export async function auditCheckpointPublicKeyPem(deps: {
  uow: UnitOfWork
  clock: Clock
  secretBox: SecretBox
}): Promise<string> {
  return (await ensureAuditSigningKey(deps)).publicKeyPem
}
