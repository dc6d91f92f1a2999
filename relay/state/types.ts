/**
 * The relay's two state interfaces. Everything the relay remembers goes through one of them,
 * and nothing outside relay/state/ imports ioredis or mysql2.
 *
 *   LiveState   - fast, shared, short-lived: cooldowns, breakers, sticky bindings, counters,
 *                 health and latency, rate-limit windows. Memory (default) | Redis (REDIS_URL).
 *   RecordStore - durable: configuration overrides (admin changes, pause flags), the request
 *                 log. Embedded (memory + JSON file in dataDir) | MySQL (MYSQL_URL).
 *
 * Deadlines are absolute times from the relay's Clock (virtual in tests); implementations compare
 * them with the `now` they are given and use backend expiry (Redis PEXPIRE) only to collect garbage.
 * Two relay processes on one Redis + one MySQL must see the same state: no process-local caches
 * of anything another process can change, except where noted.
 */
import type { Usage } from '../../protocols/types.js';

export type CooldownScope = 'token' | 'endpoint' | 'channel';

export interface Cooldown {
  until: number;
  reason: string;
}

export type BreakerPhase = 'closed' | 'open' | 'half_open';

export interface BreakerState {
  phase: BreakerPhase;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  /** When an open breaker may admit its half-open probe. */
  openUntil: number;
  /** Half-open only: the admitted probe's lease; no other caller is admitted before it. */
  probeUntil?: number;
}

export type HealthStatus = 'unknown' | 'healthy' | 'unhealthy' | 'disabled' | 'not_checked';

export interface HealthState {
  status: HealthStatus;
  consecutiveFailures: number;
  lastCheckAt: number;
  /** Latency of the last successful probe (fastest routing reads this). */
  latencyMs: number | undefined;
  lastError?: string;
}

/** Everything the planner needs about one endpoint, read in one round trip. */
export interface EndpointLiveState {
  endpoint: string;
  endpointCooldown: Cooldown | undefined;
  tokenCooldown: Cooldown | undefined;
  channelCooldown: Cooldown | undefined;
  breaker: BreakerState;
  health: HealthState;
  /** Consecutive 401/403 answers: counts toward disabling the credential. */
  authFailures: number;
}

export interface StickyBinding {
  endpoint: string;
  expiresAt: number;
  /**
   * Set when a failover moved the session here: the endpoint it came from, where it returns
   * once that one is usable again (relay/state/sticky.ts).
   */
  home?: string;
}

export interface StateResetScope {
  endpoints?: string[];
  /** Token fingerprints (token-scope cooldowns). */
  tokens?: string[];
  channels?: string[];
  sticky?: boolean;
}

export interface BreakerSettings {
  failureThreshold: number;
  successThreshold: number;
  openMs: number;
}

export interface LiveState {
  /** One round trip for all candidates. `tokens` maps endpoint name -> its current token fingerprint. */
  readEndpoints(
    endpoints: Array<{ endpoint: string; channel: string; tokenId: string }>,
    now: number,
  ): Promise<EndpointLiveState[]>;

  /**
   * Cools a scope until `cooldown.until`, or later: cooldowns combine by the later end time, so a
   * brief one (2 s overloaded) never shortens a longer one set a moment earlier (60 s retry-after).
   * Atomic across processes. To shorten one, clear it first.
   */
  setCooldown(scope: CooldownScope, id: string, cooldown: Cooldown): Promise<void>;
  clearCooldown(scope: CooldownScope, id: string): Promise<void>;

  /** Records an attempt outcome for the breaker; returns the new state. Atomic across processes. */
  recordBreaker(endpoint: string, ok: boolean, now: number, settings: BreakerSettings): Promise<BreakerState>;
  /**
   * May this caller send through the breaker? Closed: true; open: false; half-open: true for
   * exactly one caller across processes until the probe reports (or its lease, open_for, ends).
   */
  tryAcquireHalfOpenProbe(endpoint: string, now: number, settings: BreakerSettings): Promise<boolean>;

  incrAuthFailures(endpoint: string): Promise<number>;
  resetAuthFailures(endpoint: string): Promise<void>;

  getBinding(sessionKey: string, now: number): Promise<StickyBinding | undefined>;
  setBinding(sessionKey: string, binding: StickyBinding, now: number): Promise<void>;
  deleteBinding(sessionKey: string): Promise<void>;

  setHealth(endpoint: string, health: HealthState): Promise<void>;
  getHealth(endpoint: string): Promise<HealthState | undefined>;

  /**
   * Forgets what failures taught: cooldowns, breakers and auth-failure counts (and, with
   * `sticky`, sessions' bindings). Without lists, everything; with them, only those endpoints
   * (their endpoint cooldowns, breakers, auth counts and bindings), tokens and channels.
   * Health and counters stay.
   */
  resetState(scope?: StateResetScope): Promise<void>;

  /**
   * A named lease held until `now + ms` on the relay's clock: true for exactly one caller among
   * all processes sharing the store until it runs out (the health checker takes one per round,
   * so relays sharing Redis probe once per interval, not once each). The `holder` that has the
   * lease may take it again before it runs out (its own schedule changed).
   */
  tryLease(name: string, ms: number, now: number, holder?: string): Promise<boolean>;

  /** Atomic counter (round-robin, weights). */
  increment(counter: string): Promise<number>;
  /** Fixed-window rate limit: adds one hit and returns the count in the window containing now. */
  hitRateWindow(key: string, windowMs: number, now: number): Promise<number>;

  close(): Promise<void>;
}

/** One upstream attempt inside one client request. */
export interface AttemptRecord {
  endpoint: string;
  channel: string;
  /** Masked token that was sent (prefix…last4). */
  token: string;
  status?: number;
  errorClass?: string;
  cooldownSetMs?: number;
  cooldownScope?: CooldownScope;
  sticky?: 'hit' | 'miss' | 'rebind' | 'return';
  /** A finished stream whose missing sentinel the relay appended (message_stop, [DONE]). */
  repaired?: boolean;
  /** Bytes of a partial event dropped where the upstream stopped mid-event. */
  partialEventBytes?: number;
  /** A translated attempt (relay/translate): `anthropic>openai-chat`, `openai-chat>anthropic`. */
  translated?: string;
  durationMs: number;
}

export interface RequestLogEntry {
  requestId: string;
  time: number;
  keyName: string;
  protocol: string;
  path: string;
  model?: string;
  stream: boolean;
  status: number;
  /** ok | upstream_error | stream_cut | client_abort | no_candidate | rejected ... */
  outcome: string;
  latencyMs: number;
  ttfbMs?: number;
  session?: { source: string; hash: string; hit: boolean };
  usage?: Usage;
  attempts: AttemptRecord[];
}

export interface RequestLogQuery {
  limit?: number;
  since?: number;
  keyName?: string;
  endpoint?: string;
}

/** Admin changes and flags that must survive a restart (pause/resume, token edits ...). */
export interface ConfigOverrides {
  /** Full layout as last written by the admin API, or undefined if only the file applies. */
  layout?: unknown;
  pausedChannels: string[];
  updatedAt: number;
  /** The layout's version as admins see it (1 = the file alone); absent in documents from before versions. */
  version?: number;
  /** Bumped by every save, layout or credential (the compare-and-set key); absent = 1. */
  revision?: number;
  /** Refreshed OAuth credentials by endpoint name: credential state, not a layout edit. */
  credentials?: Record<string, StoredCredential>;
}

/** A credential an upstream handed out (OAuth refresh), kept apart from the layout. */
export interface StoredCredential {
  token: string;
  refresh_token?: string;
  /** Fingerprint of the layout's refresh token it was obtained from: applies only while the layout holds that one. */
  from: string;
  updatedAt: number;
}

export interface RecordStore {
  loadOverrides(): Promise<ConfigOverrides | undefined>;
  /**
   * Saves the document. With `expectedRevision`, only if the stored one is still at that
   * revision (0 = none stored): false when another process saved first, nothing written.
   */
  saveOverrides(overrides: ConfigOverrides, expectedRevision?: number): Promise<boolean>;
  /**
   * Keeps a saved document whose layout no longer validates where an operator can find it
   * (a file beside the data, a table row); returns where. Keeping one twice keeps one copy.
   */
  keepAside?(overrides: ConfigOverrides, reason: string): Promise<string>;

  /** Fire-and-forget from the hot path: implementations batch and never block the caller. */
  appendRequestLog(entry: RequestLogEntry): void;
  /** Waits for queued log writes (tests, shutdown). */
  flush(): Promise<void>;
  queryRequestLog(query: RequestLogQuery): Promise<RequestLogEntry[]>;

  close(): Promise<void>;
}
