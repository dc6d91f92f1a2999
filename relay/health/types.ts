/**
 * The health checker's input and output. It reads the relay's compiled configuration
 * (RelayModel from relay/config/model.ts) through a getter, so a layout change made by the admin
 * API is probed from the next round on.
 */
import type { HealthStatus } from '../state/types.js';

export type { RelayModel as HealthLayout } from '../config/model.js';

export interface ProbeResult {
  endpoint: string;
  channel: string;
  /** false: the endpoint does not take part in health checks now (status not_checked). */
  checked: boolean;
  /** The endpoint answered (2xx, or 429: rate limited is alive). */
  ok: boolean;
  status: HealthStatus;
  httpStatus?: number;
  latencyMs?: number;
  error?: string;
  consecutiveFailures: number;
}

/** pino-compatible: the relay passes a child logger. Only state changes are logged. */
export interface HealthLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}
