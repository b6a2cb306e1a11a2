export type { SntpErrorCode, SntpQueryOptions, SntpSample } from './sntp.js'
export { querySntp, SntpError } from './sntp.js'
export type {
  TimeQuery,
  TimeSource,
  TimeSyncEvent,
  TimeSynchronisation,
  TimeSynchronisationConfig,
  TimeSynchronisationOptions,
} from './time-synchronisation.js'
export { createTimeSynchronisation } from './time-synchronisation.js'
