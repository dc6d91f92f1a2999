/**
 * Limits that keep one client from holding the relay: body size, and the node:http timeouts a
 * slow-loris client runs into. Coding CLIs send big bodies (whole conversations, images), so the
 * body limit is generous; the header timeout is short because honest clients send headers at once.
 */
import { parseDuration } from '../../lib/duration.js';

export interface ServiceLimits {
  /** Larger bodies are answered 413 in the protocol's error shape. */
  maxBodyBytes: number;
  /** All request headers must arrive within this (slow-loris). */
  headersTimeoutMs: number;
  /** The whole request (headers and body) must arrive within this; the answer itself is not bounded. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** How often node checks the two timeouts above; they are only as precise as this. */
  connectionsCheckingIntervalMs: number;
}

export const DEFAULT_LIMITS: ServiceLimits = {
  maxBodyBytes: 32 * 1024 * 1024,
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 300_000,
  keepAliveTimeoutMs: 65_000,
  connectionsCheckingIntervalMs: 1_000,
};

/** Environment variable -> limit; durations accept "20s" as well as milliseconds. */
export const LIMIT_ENV = {
  RELAY_MAX_BODY_BYTES: 'maxBodyBytes',
  RELAY_HEADERS_TIMEOUT: 'headersTimeoutMs',
  RELAY_REQUEST_TIMEOUT: 'requestTimeoutMs',
  RELAY_KEEP_ALIVE_TIMEOUT: 'keepAliveTimeoutMs',
} as const satisfies Record<string, keyof ServiceLimits>;

function parseBytes(text: string): number {
  const m = /^\s*(\d+)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?\s*$/i.exec(text);
  if (!m) throw new Error(`"${text}" is not a size (e.g. 33554432 or 32MiB)`);
  const unit = (m[2] ?? 'b').toLowerCase()[0];
  const mult = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1;
  return Number(m[1]) * mult;
}

/** Defaults, then the environment, then explicit options (tests). Bad values are named. */
export function resolveLimits(env: Record<string, string | undefined> = process.env, overrides: Partial<ServiceLimits> = {}): ServiceLimits {
  const limits: ServiceLimits = { ...DEFAULT_LIMITS };
  for (const [variable, field] of Object.entries(LIMIT_ENV)) {
    const text = env[variable];
    if (text === undefined || text === '') continue;
    try {
      limits[field] = field === 'maxBodyBytes' ? parseBytes(text) : parseDuration(text);
    } catch (err) {
      throw new Error(`${variable}: ${(err as Error).message}`);
    }
  }
  Object.assign(limits, Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)));
  return limits;
}

/** node:http server options enforcing the limits. */
export function serverOptions(l: ServiceLimits) {
  return {
    headersTimeout: l.headersTimeoutMs,
    requestTimeout: l.requestTimeoutMs,
    keepAliveTimeout: l.keepAliveTimeoutMs,
    connectionsCheckingInterval: l.connectionsCheckingIntervalMs,
  };
}
