/**
 * LiveState for one relay process: plain Maps, no timers. Deadlines are compared with the `now`
 * the caller passes; expired entries are dropped when read and swept now and then on write, so a
 * long-running relay with many sessions does not grow without bound.
 */
import { acquireProbe, breakerAt, nextBreaker } from './breaker.js';
import type {
  BreakerSettings,
  BreakerState,
  Cooldown,
  CooldownScope,
  EndpointLiveState,
  HealthState,
  LiveState,
  StateResetScope,
  StickyBinding,
} from './types.js';

export function unknownHealth(): HealthState {
  return { status: 'unknown', consecutiveFailures: 0, lastCheckAt: 0, latencyMs: undefined };
}

/** Sweep expired bindings after this many writes (amortised O(1) garbage collection). */
const SWEEP_EVERY = 4096;

export class MemoryLiveState implements LiveState {
  private readonly cooldowns = new Map<string, Cooldown>();
  private readonly breakers = new Map<string, BreakerState>();
  private readonly authFailures = new Map<string, number>();
  private readonly bindings = new Map<string, StickyBinding>();
  private readonly health = new Map<string, HealthState>();
  private readonly counters = new Map<string, number>();
  private readonly rateWindows = new Map<string, { start: number; count: number }>();
  private readonly leases = new Map<string, { until: number; holder: string }>();
  private writesSinceSweep = 0;

  async readEndpoints(
    endpoints: Array<{ endpoint: string; channel: string; tokenId: string }>,
    now: number,
  ): Promise<EndpointLiveState[]> {
    return endpoints.map(({ endpoint, channel, tokenId }) => ({
      endpoint,
      endpointCooldown: this.activeCooldown('endpoint', endpoint, now),
      tokenCooldown: this.activeCooldown('token', tokenId, now),
      channelCooldown: this.activeCooldown('channel', channel, now),
      breaker: breakerAt(this.breakers.get(endpoint), now),
      health: this.health.get(endpoint) ?? unknownHealth(),
      authFailures: this.authFailures.get(endpoint) ?? 0,
    }));
  }

  async setCooldown(scope: CooldownScope, id: string, cooldown: Cooldown): Promise<void> {
    const key = `${scope}:${id}`;
    const held = this.cooldowns.get(key);
    if (held && held.until >= cooldown.until) return;
    this.cooldowns.set(key, { until: cooldown.until, reason: cooldown.reason });
  }

  async clearCooldown(scope: CooldownScope, id: string): Promise<void> {
    this.cooldowns.delete(`${scope}:${id}`);
  }

  async recordBreaker(endpoint: string, ok: boolean, now: number, settings: BreakerSettings): Promise<BreakerState> {
    const next = nextBreaker(this.breakers.get(endpoint), ok, now, settings);
    this.breakers.set(endpoint, next);
    return next;
  }

  async tryAcquireHalfOpenProbe(endpoint: string, now: number, settings: BreakerSettings): Promise<boolean> {
    const { admitted, state } = acquireProbe(this.breakers.get(endpoint), now, settings);
    if (admitted && state.phase === 'half_open') this.breakers.set(endpoint, state);
    return admitted;
  }

  async incrAuthFailures(endpoint: string): Promise<number> {
    const n = (this.authFailures.get(endpoint) ?? 0) + 1;
    this.authFailures.set(endpoint, n);
    return n;
  }

  async resetAuthFailures(endpoint: string): Promise<void> {
    this.authFailures.delete(endpoint);
  }

  async getBinding(sessionKey: string, now: number): Promise<StickyBinding | undefined> {
    const binding = this.bindings.get(sessionKey);
    if (!binding) return undefined;
    if (binding.expiresAt <= now) {
      this.bindings.delete(sessionKey);
      return undefined;
    }
    return { ...binding };
  }

  async setBinding(sessionKey: string, binding: StickyBinding, now: number): Promise<void> {
    const stored: StickyBinding = { endpoint: binding.endpoint, expiresAt: binding.expiresAt };
    if (binding.home !== undefined) stored.home = binding.home;
    this.bindings.set(sessionKey, stored);
    this.noteWrite(now);
  }

  async deleteBinding(sessionKey: string): Promise<void> {
    this.bindings.delete(sessionKey);
  }

  async setHealth(endpoint: string, health: HealthState): Promise<void> {
    this.health.set(endpoint, { ...health });
  }

  async getHealth(endpoint: string): Promise<HealthState | undefined> {
    const h = this.health.get(endpoint);
    return h && { ...h };
  }

  async increment(counter: string): Promise<number> {
    const n = (this.counters.get(counter) ?? 0) + 1;
    this.counters.set(counter, n);
    return n;
  }

  async hitRateWindow(key: string, windowMs: number, now: number): Promise<number> {
    const start = windowStart(now, windowMs);
    const current = this.rateWindows.get(key);
    if (!current || current.start !== start) {
      this.rateWindows.set(key, { start, count: 1 });
      return 1;
    }
    current.count += 1;
    return current.count;
  }

  async resetState(scope: StateResetScope = {}): Promise<void> {
    const all = scope.endpoints === undefined && scope.tokens === undefined && scope.channels === undefined;
    if (all) {
      this.cooldowns.clear();
      this.breakers.clear();
      this.authFailures.clear();
      if (scope.sticky) this.bindings.clear();
      return;
    }
    for (const e of scope.endpoints ?? []) {
      this.cooldowns.delete(`endpoint:${e}`);
      this.breakers.delete(e);
      this.authFailures.delete(e);
    }
    for (const t of scope.tokens ?? []) this.cooldowns.delete(`token:${t}`);
    for (const c of scope.channels ?? []) this.cooldowns.delete(`channel:${c}`);
    if (scope.sticky && scope.endpoints) {
      const listed = new Set(scope.endpoints);
      for (const [k, b] of this.bindings) if (listed.has(b.endpoint)) this.bindings.delete(k);
    }
  }

  async tryLease(name: string, ms: number, now: number, holder = ''): Promise<boolean> {
    const held = this.leases.get(name);
    if (held && held.until > now && (holder === '' || held.holder !== holder)) return false;
    this.leases.set(name, { until: now + ms, holder });
    return true;
  }

  async close(): Promise<void> {}

  private activeCooldown(scope: CooldownScope, id: string, now: number): Cooldown | undefined {
    // The usual case, nothing cooling down: no key string per scope and endpoint on every request.
    if (this.cooldowns.size === 0) return undefined;
    const c = this.cooldowns.get(`${scope}:${id}`);
    return c && c.until > now ? { ...c } : undefined;
  }

  /** Cooldowns and breakers are bounded by the number of endpoints; bindings by sessions. */
  private noteWrite(now: number): void {
    if (++this.writesSinceSweep < SWEEP_EVERY) return;
    this.writesSinceSweep = 0;
    for (const [k, b] of this.bindings) if (b.expiresAt <= now) this.bindings.delete(k);
  }
}

/** Fixed windows aligned to multiples of windowMs, shared by every store. */
export function windowStart(now: number, windowMs: number): number {
  return Math.floor(now / windowMs) * windowMs;
}
