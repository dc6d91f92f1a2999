/**
 * LiveState on Redis, shared by every relay process that uses the same Redis and prefix.
 *
 * Every deadline is stored as the absolute time of the relay's Clock (virtual in tests) and
 * compared with the `now` the caller passes; PEXPIRE only collects garbage, with a day of margin,
 * because a TestClock's time and Redis's wall-clock TTLs do not move together.
 * Breaker transitions run as Lua (redis-scripts.ts) so they are atomic across processes.
 */
import { Redis } from 'ioredis';
import { breakerAt } from './breaker.js';
import { unknownHealth, windowStart } from './memory.js';
import { ACQUIRE_PROBE_LUA, RECORD_BREAKER_LUA } from './redis-scripts.js';

/** KEYS[1] lease; ARGV now, until, ttl, holder. Free when absent, run out, or held by this holder. */
const TRY_LEASE_LUA = `
local held = redis.call('GET', KEYS[1])
if held then
  local sep = string.find(held, '|', 1, true)
  local untilAt = tonumber(string.sub(held, 1, sep - 1))
  local owner = string.sub(held, sep + 1)
  if untilAt > tonumber(ARGV[1]) and (ARGV[4] == '' or owner ~= ARGV[4]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2] .. '|' .. ARGV[4], 'PX', ARGV[3])
return 1
`;
/**
 * KEYS[1] cooldown; ARGV until, stored JSON, ttl. Cooldowns combine by the later end time: a
 * stored one that ends later (or at the same time) stays, whoever wrote it.
 */
const EXTEND_COOLDOWN_LUA = `
local held = redis.call('GET', KEYS[1])
if held then
  local ok, c = pcall(cjson.decode, held)
  if ok and type(c) == 'table' and tonumber(c['until']) and tonumber(c['until']) >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
`;
import type {
  BreakerPhase,
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

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Added to every relative expiry: garbage collection only, never correctness. */
const GARBAGE_MARGIN_MS = DAY;
/** Breakers, health and auth-failure counts are per endpoint (bounded); they expire when idle. */
const IDLE_TTL_MS = 30 * DAY;

interface BreakerCommands {
  relayRecordBreaker(key: string, ok: string, now: number, failTh: number, succTh: number, openMs: number, ttl: number): Promise<string>;
  relayAcquireProbe(key: string, now: number, openMs: number, ttl: number): Promise<number>;
  relayTryLease(key: string, now: number, until: number, ttl: number, holder: string): Promise<number>;
  relayExtendCooldown(key: string, until: number, json: string, ttl: number): Promise<number>;
}

export interface RedisLiveStateOptions {
  /** Prepended to every key; tests use a unique one per run. */
  prefix?: string;
}

export class RedisLiveState implements LiveState {
  private readonly redis: Redis & BreakerCommands;
  private readonly prefix: string;

  constructor(urlOrClient: string | Redis, options: RedisLiveStateOptions = {}) {
    const redis =
      typeof urlOrClient === 'string'
        ? new Redis(urlOrClient, { maxRetriesPerRequest: 2, enableAutoPipelining: true, lazyConnect: false })
        : urlOrClient;
    redis.defineCommand('relayRecordBreaker', { numberOfKeys: 1, lua: RECORD_BREAKER_LUA });
    redis.defineCommand('relayAcquireProbe', { numberOfKeys: 1, lua: ACQUIRE_PROBE_LUA });
    redis.defineCommand('relayTryLease', { numberOfKeys: 1, lua: TRY_LEASE_LUA });
    redis.defineCommand('relayExtendCooldown', { numberOfKeys: 1, lua: EXTEND_COOLDOWN_LUA });
    this.redis = redis as Redis & BreakerCommands;
    this.prefix = options.prefix ?? 'relay:';
  }

  /** Fails fast with a clear message when Redis is unreachable. */
  async ping(): Promise<void> {
    try {
      await this.redis.ping();
    } catch (err) {
      throw new Error(`cannot reach Redis: ${(err as Error).message}`);
    }
  }

  async readEndpoints(
    endpoints: Array<{ endpoint: string; channel: string; tokenId: string }>,
    now: number,
  ): Promise<EndpointLiveState[]> {
    if (endpoints.length === 0) return [];
    const keys: string[] = [];
    for (const { endpoint, channel, tokenId } of endpoints) {
      keys.push(
        this.cooldownKey('endpoint', endpoint),
        this.cooldownKey('token', tokenId),
        this.cooldownKey('channel', channel),
        this.key('breaker', endpoint),
        this.key('health', endpoint),
        this.key('auth', endpoint),
      );
    }
    const values = await this.redis.mget(keys);
    return endpoints.map(({ endpoint }, i) => {
      const v = values.slice(i * 6, i * 6 + 6);
      return {
        endpoint,
        endpointCooldown: activeCooldown(v[0], now),
        tokenCooldown: activeCooldown(v[1], now),
        channelCooldown: activeCooldown(v[2], now),
        breaker: breakerAt(v[3] ? parseBreaker(v[3]) : undefined, now),
        health: v[4] ? parseHealth(v[4]) : unknownHealth(),
        authFailures: v[5] ? Number(v[5]) : 0,
      };
    });
  }

  async setCooldown(scope: CooldownScope, id: string, cooldown: Cooldown): Promise<void> {
    // No `now` here: the wall clock only sizes the garbage expiry, the deadline decides.
    const ttl = Math.max(0, cooldown.until - Date.now()) + GARBAGE_MARGIN_MS;
    const json = JSON.stringify({ until: cooldown.until, reason: cooldown.reason });
    await this.redis.relayExtendCooldown(this.cooldownKey(scope, id), cooldown.until, json, Math.ceil(ttl));
  }

  async clearCooldown(scope: CooldownScope, id: string): Promise<void> {
    await this.redis.del(this.cooldownKey(scope, id));
  }

  async recordBreaker(endpoint: string, ok: boolean, now: number, settings: BreakerSettings): Promise<BreakerState> {
    const raw = await this.redis.relayRecordBreaker(
      this.key('breaker', endpoint),
      ok ? '1' : '0',
      now,
      settings.failureThreshold,
      settings.successThreshold,
      settings.openMs,
      IDLE_TTL_MS,
    );
    return parseBreaker(raw);
  }

  async tryAcquireHalfOpenProbe(endpoint: string, now: number, settings: BreakerSettings): Promise<boolean> {
    return (await this.redis.relayAcquireProbe(this.key('breaker', endpoint), now, settings.openMs, IDLE_TTL_MS)) === 1;
  }

  async incrAuthFailures(endpoint: string): Promise<number> {
    const key = this.key('auth', endpoint);
    const [[err, n]] = (await this.redis.multi().incr(key).pexpire(key, IDLE_TTL_MS).exec()) ?? [[new Error('transaction aborted'), 0]];
    if (err) throw err;
    return Number(n);
  }

  async resetAuthFailures(endpoint: string): Promise<void> {
    await this.redis.del(this.key('auth', endpoint));
  }

  async getBinding(sessionKey: string, now: number): Promise<StickyBinding | undefined> {
    const raw = await this.redis.get(this.key('sticky', sessionKey));
    if (!raw) return undefined;
    const binding = JSON.parse(raw) as StickyBinding;
    return binding.expiresAt > now ? binding : undefined;
  }

  async setBinding(sessionKey: string, binding: StickyBinding, now: number): Promise<void> {
    const ttl = Math.max(0, binding.expiresAt - now) + GARBAGE_MARGIN_MS;
    await this.redis.set(
      this.key('sticky', sessionKey),
      JSON.stringify({ endpoint: binding.endpoint, expiresAt: binding.expiresAt, home: binding.home }),
      'PX',
      Math.ceil(ttl),
    );
  }

  async deleteBinding(sessionKey: string): Promise<void> {
    await this.redis.del(this.key('sticky', sessionKey));
  }

  async setHealth(endpoint: string, health: HealthState): Promise<void> {
    await this.redis.set(this.key('health', endpoint), JSON.stringify(health), 'PX', IDLE_TTL_MS);
  }

  async getHealth(endpoint: string): Promise<HealthState | undefined> {
    const raw = await this.redis.get(this.key('health', endpoint));
    return raw ? parseHealth(raw) : undefined;
  }

  async increment(counter: string): Promise<number> {
    return this.redis.incr(this.key('counter', counter));
  }

  async hitRateWindow(key: string, windowMs: number, now: number): Promise<number> {
    const k = this.key('rate', `${key}:${windowStart(now, windowMs)}`);
    const result = await this.redis.multi().incr(k).pexpire(k, windowMs + HOUR).exec();
    const [err, n] = result?.[0] ?? [new Error('transaction aborted'), 0];
    if (err) throw err;
    return Number(n);
  }

  async resetState(scope: StateResetScope = {}): Promise<void> {
    const all = scope.endpoints === undefined && scope.tokens === undefined && scope.channels === undefined;
    if (all) {
      const kinds = ['cooldown', 'breaker', 'auth', ...(scope.sticky ? ['sticky'] : [])];
      for (const kind of kinds) await this.deleteMatching(`${escapeGlob(this.prefix)}${kind}:*`);
      return;
    }
    const keys: string[] = [];
    for (const e of scope.endpoints ?? []) keys.push(this.cooldownKey('endpoint', e), this.key('breaker', e), this.key('auth', e));
    for (const t of scope.tokens ?? []) keys.push(this.cooldownKey('token', t));
    for (const c of scope.channels ?? []) keys.push(this.cooldownKey('channel', c));
    if (keys.length) await this.redis.del(...keys);
    if (scope.sticky && scope.endpoints?.length) {
      const listed = new Set(scope.endpoints);
      await this.scanKeys(`${escapeGlob(this.prefix)}sticky:*`, async (found) => {
        const values = await this.redis.mget(found);
        const doomed = found.filter((_, i) => {
          const raw = values[i];
          return raw !== null && listed.has((JSON.parse(raw) as StickyBinding).endpoint);
        });
        if (doomed.length) await this.redis.del(...doomed);
      });
    }
  }

  private async deleteMatching(pattern: string): Promise<number> {
    let deleted = 0;
    await this.scanKeys(pattern, async (keys) => {
      deleted += await this.redis.del(...keys);
    });
    return deleted;
  }

  private async scanKeys(pattern: string, each: (keys: string[]) => Promise<void>): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      if (keys.length) await each(keys);
    } while (cursor !== '0');
  }

  async tryLease(name: string, ms: number, now: number, holder = ''): Promise<boolean> {
    // SET NX PX, except that "taken" is decided on the relay's clock (the stored deadline), not
    // Redis's wall-clock expiry: a TestClock and Redis TTLs do not move together.
    return (await this.redis.relayTryLease(this.key('lease', name), now, now + ms, Math.ceil(ms + GARBAGE_MARGIN_MS), holder)) === 1;
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /** Every key this store owns, for cleanup by tests and tools. */
  async deleteAll(): Promise<number> {
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${escapeGlob(this.prefix)}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) deleted += await this.redis.del(...keys);
    } while (cursor !== '0');
    return deleted;
  }

  private key(kind: string, id: string): string {
    return `${this.prefix}${kind}:${id}`;
  }

  private cooldownKey(scope: CooldownScope, id: string): string {
    return this.key(`cooldown:${scope}`, id);
  }
}

function activeCooldown(raw: string | null, now: number): Cooldown | undefined {
  if (!raw) return undefined;
  const c = JSON.parse(raw) as Cooldown;
  return c.until > now ? { until: c.until, reason: c.reason } : undefined;
}

function parseHealth(raw: string): HealthState {
  const h = JSON.parse(raw) as HealthState;
  return { ...h, latencyMs: h.latencyMs ?? undefined };
}

/** Parses the Lua scripts' string form (see redis-scripts.ts). */
export function parseBreaker(raw: string): BreakerState {
  const [phase, f, s, openUntil, probeUntil] = raw.split(',');
  const state: BreakerState = {
    phase: phase as BreakerPhase,
    consecutiveFailures: Number(f),
    consecutiveSuccesses: Number(s),
    openUntil: Number(openUntil),
  };
  if (probeUntil) state.probeUntil = Number(probeUntil);
  return state;
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
