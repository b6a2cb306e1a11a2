export type {
  TsaAlgorithm,
  TsaRepository,
  TsaSettings,
  TsaState,
  TsaTimeSource,
  TsaTokenQuery,
  TsaTokenRecord,
  TsaUnit,
  TsaUnitKey,
} from './time-stamp-authority.js'
export { TSA_ALGORITHMS, TSA_LIMITS } from './time-stamp-authority.js'
export type { TokenRecorder, TokenRecorderOptions } from './token-recorder.js'
export { createTokenRecorder } from './token-recorder.js'
export type {
  CreateTsaUnitInput,
  TimeStampAuthority,
  TimeStampAuthorityDeps,
  TimeSyncEvent,
  TsaRequester,
  TsaSettingsInput,
  TsaStatus,
  TsaUnitView,
  TsaVerifyInput,
  TsaVerifyResult,
} from './tsa-service.js'
export {
  accuracyOf,
  createTimeStampAuthority,
  isPolicyOid,
  isTimeSourceAddress,
  planTimeStamp,
  timeStampRejection,
} from './tsa-service.js'
