export type {
  SampleDecision,
  SampleRejection,
  TimeSample,
  TimeSelection,
  TimeSelectionConfig,
  TimeSelectionInput,
} from './time-selection.js'
export { majorityOf, selectTime, TIME_SELECTION_DEFAULTS } from './time-selection.js'
export type {
  TimeSourceStatus,
  TimeSyncProblem,
  TimeSyncState,
  TimeSyncStatus,
  TrustedInstant,
  TrustedTime,
} from './trusted-time.js'
