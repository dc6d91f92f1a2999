/** The reference relay: start one in process with `startRelay`. */
export { startRelay, type RunningRelay, type StartRelayOptions } from './server.js';
export { relayConfigSchema, type RelayConfig, type ParsedRelayConfig } from './config/schema.js';
export { loadRelayConfig, parseRelayConfig } from './config/load.js';
export { ERROR_TABLE, ruleFor } from './routing/error-classes.js';
