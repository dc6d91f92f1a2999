/** The mock upstreams: start a fleet in process, drive it with the control client. */
export { startMocks, resolveMocksConfig, type MockFleet, type RunningUpstream, type StartMocksOptions } from './fleet.js';
export { MockControlClient, MockControlError, type IssuedJwt, type SettingsPatch, type UpstreamListing, type SchedulerStats } from './control-client.js';
export {
  mocksConfigSchema,
  upstreamConfigSchema,
  faultRuleSchema,
  faultActionSchema,
  ruleMatchSchema,
  STREAM_POINTS,
  type MocksConfig,
  type UpstreamConfig,
  type FaultRule,
  type FaultAction,
  type ResolvedMocksConfig,
  type ResolvedUpstreamConfig,
  type ResolvedFaultRule,
  type StreamPoint,
} from './config.js';
export { Journal, type JournalEntry, type JournalFilter } from './journal.js';
export type { UpstreamKind } from '../protocols/types.js';
