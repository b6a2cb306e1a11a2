// Two-party SM2 key generation and signing: the public surface, for `packages/gm/src/index.ts` to re-export.
// A browser bundle that needs only the phone's half can import `./client.js` directly.

export {
  type ClientKeygenOptions,
  type ClientSignInput,
  clientKeygenCommit,
  clientKeygenReveal,
  clientSignFinish,
  clientSignRequest,
  createTwoPartyClientKeyShare,
  type TwoPartyClientKeygenState,
  type TwoPartyClientPendingSignature,
  type TwoPartySignature,
} from './client.js'
// e = SM3(Z_A ‖ M) for a joint key given as a point, e.g. for `expectedDigest`.
export { twoPartyMessageDigest } from './digest.js'
export {
  peekTwoPartyMessageType,
  TWO_PARTY_MESSAGE_LENGTHS,
  type TwoPartyMessageName,
  TwoPartyMessageType,
} from './messages.js'
export { TWO_PARTY_PROTOCOL_VERSION } from './primitives.js'
export {
  createTwoPartyReplayLedger,
  DEFAULT_FRESHNESS_WINDOW_MS,
  type TwoPartyFreshnessOptions,
  type TwoPartyReplayEntry,
  type TwoPartyReplayLedger,
} from './replay-ledger.js'
export {
  createTwoPartyServerKeyShare,
  KEYGEN_LEDGER_SCOPE,
  type ServerSignOptions,
  serverKeygenRespond,
  serverSignStep,
  type TwoPartyServerKeygenSession,
} from './server.js'
export { type TwoPartyClientKeyShare, type TwoPartyServerKeyShare, twoPartyKeyId } from './shares.js'
