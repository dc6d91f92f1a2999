export { createHealthChecker } from './checker.js';
export type { HealthChecker, HealthCheckerDeps, HealthRound } from './checker.js';
export type { ProbeResult, HealthLog, HealthLayout } from './types.js';
export { probeRequestFor, CHATGPT_ACCOUNT_CHECK_PATH } from './probe.js';
export { selectTargets } from './targets.js';
export { nextHealth } from './transition.js';
