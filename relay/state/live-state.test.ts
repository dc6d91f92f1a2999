import { afterEach, describe, expect, it } from 'vitest';
import { BREAKER_CASES } from './breaker-cases.js';
import { liveStateBackends } from './test-backends.js';
import type { LiveState } from './types.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);

describe.each(liveStateBackends())('LiveState: $name', (backend) => {
  let disposers: Array<() => Promise<void>> = [];
  async function open(): Promise<{ store: LiveState; reopen(): Promise<LiveState> }> {
    const opened = await backend.open();
    disposers.push(opened.dispose);
    return opened;
  }
  afterEach(async () => {
    for (const d of disposers) await d();
    disposers = [];
  });

  it('reads defaults for endpoints it has never seen', async () => {
    const { store } = await open();
    const [s] = await store.readEndpoints([{ endpoint: 'A', channel: 'main', tokenId: 'tA' }], T0);
    expect(s).toEqual({
      endpoint: 'A',
      endpointCooldown: undefined,
      tokenCooldown: undefined,
      channelCooldown: undefined,
      breaker: { phase: 'closed', consecutiveFailures: 0, consecutiveSuccesses: 0, openUntil: 0 },
      health: { status: 'unknown', consecutiveFailures: 0, lastCheckAt: 0, latencyMs: undefined },
      authFailures: 0,
    });
  });

  it('returns cooldowns per scope until their deadline on the given clock, then not', async () => {
    const { store } = await open();
    await store.setCooldown('endpoint', 'A', { until: T0 + 30_000, reason: '429' });
    await store.setCooldown('token', 'tB', { until: T0 + 5_000, reason: '401' });
    await store.setCooldown('channel', 'backup', { until: T0 + 60_000, reason: 'manual' });
    const eps = [
      { endpoint: 'A', channel: 'main', tokenId: 'tA' },
      { endpoint: 'B', channel: 'main', tokenId: 'tB' },
      { endpoint: 'C', channel: 'backup', tokenId: 'tC' },
    ];
    const [a, b, c] = await store.readEndpoints(eps, T0 + 1);
    expect(a.endpointCooldown).toEqual({ until: T0 + 30_000, reason: '429' });
    expect(a.tokenCooldown).toBeUndefined();
    expect(b.tokenCooldown).toEqual({ until: T0 + 5_000, reason: '401' });
    expect(b.endpointCooldown).toBeUndefined();
    expect(c.channelCooldown).toEqual({ until: T0 + 60_000, reason: 'manual' });
    expect(a.channelCooldown).toBeUndefined();

    const later = await store.readEndpoints(eps, T0 + 30_000);
    expect(later[0].endpointCooldown).toBeUndefined();
    expect(later[1].tokenCooldown).toBeUndefined();
    expect(later[2].channelCooldown).toBeDefined();

    await store.clearCooldown('channel', 'backup');
    const [, , c2] = await store.readEndpoints(eps, T0 + 1);
    expect(c2.channelCooldown).toBeUndefined();
  });

  it('resets cooldowns, breakers and auth counts, for listed endpoints or all, and bindings only when asked', async () => {
    const { store } = await open();
    const settings = { failureThreshold: 1, successThreshold: 1, openMs: 60_000 };
    const eps = [
      { endpoint: 'A', channel: 'main', tokenId: 'tA' },
      { endpoint: 'B', channel: 'main', tokenId: 'tB' },
    ];
    const dirty = async () => {
      for (const e of eps) {
        await store.setCooldown('endpoint', e.endpoint, { until: T0 + DAY, reason: 'x' });
        await store.setCooldown('token', e.tokenId, { until: T0 + DAY, reason: 'x' });
        await store.recordBreaker(e.endpoint, false, T0, settings);
        await store.incrAuthFailures(e.endpoint);
        await store.setBinding(`s-${e.endpoint}`, { endpoint: e.endpoint, expiresAt: T0 + DAY }, T0);
      }
      await store.setCooldown('channel', 'main', { until: T0 + DAY, reason: 'x' });
    };
    const clean = (s: Awaited<ReturnType<LiveState['readEndpoints']>>[number]) =>
      !s.endpointCooldown && !s.tokenCooldown && s.breaker.phase === 'closed' && s.authFailures === 0;

    await dirty();
    await store.resetState({ endpoints: ['A'], tokens: ['tA'], sticky: true });
    let [a, b] = await store.readEndpoints(eps, T0 + 1);
    expect(clean(a)).toBe(true);
    expect(a.channelCooldown).toBeDefined();
    expect(clean(b)).toBe(false);
    expect(b.breaker.phase).toBe('open');
    expect(await store.getBinding('s-A', T0 + 1)).toBeUndefined();
    expect(await store.getBinding('s-B', T0 + 1)).toBeDefined();

    await dirty();
    await store.resetState();
    [a, b] = await store.readEndpoints(eps, T0 + 1);
    expect(clean(a) && clean(b)).toBe(true);
    expect(a.channelCooldown).toBeUndefined();
    expect(await store.getBinding('s-B', T0 + 1)).toBeDefined();
    await store.resetState({ sticky: true });
    expect(await store.getBinding('s-B', T0 + 1)).toBeUndefined();
  });

  it('grants a lease to one caller at a time (other connections included) until it runs out on the given clock', async () => {
    const { store, reopen } = await open();
    const other = await reopen();
    const results = await Promise.all([store, other, store, other].map((s) => s.tryLease('health', 10_000, T0)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await other.tryLease('health', 10_000, T0 + 9_999)).toBe(false);
    expect(await store.tryLease('other-name', 10_000, T0 + 1)).toBe(true);
    expect(await other.tryLease('health', 10_000, T0 + 10_000)).toBe(true);
    expect(await store.tryLease('health', 10_000, T0 + 10_001)).toBe(false);
    // The holder itself may take its lease again early; others may not.
    expect(await store.tryLease('h2', 10_000, T0, 'me')).toBe(true);
    expect(await other.tryLease('h2', 10_000, T0 + 1, 'you')).toBe(false);
    expect(await store.tryLease('h2', 10_000, T0 + 2, 'me')).toBe(true);
    expect(await other.tryLease('h2', 10_000, T0 + 10_001, 'you')).toBe(false);
    expect(await other.tryLease('h2', 10_000, T0 + 10_002, 'you')).toBe(true);
  });

  it('combines cooldowns by the later end time: a brief one never shortens a longer one', async () => {
    const { store, reopen } = await open();
    const ep = [{ endpoint: 'A', channel: 'main', tokenId: 'tA' }];
    await store.setCooldown('endpoint', 'A', { until: T0 + 60_000, reason: 'rate_limited' });
    // A 2 s overload a moment later: the 60 s retry-after stays, reason and all.
    await store.setCooldown('endpoint', 'A', { until: T0 + 2_000, reason: 'overloaded' });
    expect((await store.readEndpoints(ep, T0 + 1))[0].endpointCooldown).toEqual({ until: T0 + 60_000, reason: 'rate_limited' });
    // Another process sharing the store sees the same rule.
    const other = await reopen();
    await other.setCooldown('endpoint', 'A', { until: T0 + 30_000, reason: 'server_error' });
    expect((await store.readEndpoints(ep, T0 + 1))[0].endpointCooldown?.until).toBe(T0 + 60_000);
    // A later end wins.
    await other.setCooldown('endpoint', 'A', { until: T0 + 90_000, reason: 'network' });
    expect((await store.readEndpoints(ep, T0 + 1))[0].endpointCooldown).toEqual({ until: T0 + 90_000, reason: 'network' });
    // Clearing is how a cooldown is shortened on purpose (the admin API's DELETE, then POST).
    await store.clearCooldown('endpoint', 'A');
    await store.setCooldown('endpoint', 'A', { until: T0 + 2_000, reason: 'admin' });
    expect((await store.readEndpoints(ep, T0 + 1))[0].endpointCooldown?.until).toBe(T0 + 2_000);
  });

  it('keeps results in the order asked, even for repeated endpoints', async () => {
    const { store } = await open();
    await store.setCooldown('endpoint', 'B', { until: T0 + 10, reason: 'x' });
    const res = await store.readEndpoints(
      [
        { endpoint: 'B', channel: 'c', tokenId: 'b' },
        { endpoint: 'A', channel: 'c', tokenId: 'a' },
        { endpoint: 'B', channel: 'c', tokenId: 'b' },
      ],
      T0,
    );
    expect(res.map((r) => [r.endpoint, r.endpointCooldown?.reason])).toEqual([
      ['B', 'x'],
      ['A', undefined],
      ['B', 'x'],
    ]);
    expect(await store.readEndpoints([], T0)).toEqual([]);
  });

  describe.each(BREAKER_CASES)('breaker: $name', ({ settings, steps }) => {
    it('follows the shared transition table', async () => {
      const { store } = await open();
      for (const [i, step] of steps.entries()) {
        const now = T0 + step.at;
        const where = `step ${i} at ${step.at}`;
        if ('record' in step) {
          const s = await store.recordBreaker('E', step.record === 'ok', now, settings);
          expect(s.phase, where).toBe(step.phase);
        } else if ('probe' in step) {
          expect(await store.tryAcquireHalfOpenProbe('E', now, settings), where).toBe(step.probe);
        } else {
          const [s] = await store.readEndpoints([{ endpoint: 'E', channel: 'c', tokenId: 't' }], now);
          expect(s.breaker.phase, where).toBe(step.read);
        }
      }
    });
  });

  it('admits exactly one half-open probe among concurrent callers (and other connections)', async () => {
    const { store, reopen } = await open();
    const other = await reopen();
    const settings = { failureThreshold: 1, successThreshold: 1, openMs: 1000 };
    await store.recordBreaker('E', false, T0, settings);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? other : store).tryAcquireHalfOpenProbe('E', T0 + 1000, settings)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('counts auth failures and resets them', async () => {
    const { store } = await open();
    expect(await store.incrAuthFailures('A')).toBe(1);
    expect(await store.incrAuthFailures('A')).toBe(2);
    const [a] = await store.readEndpoints([{ endpoint: 'A', channel: 'c', tokenId: 't' }], T0);
    expect(a.authFailures).toBe(2);
    await store.resetAuthFailures('A');
    expect(await store.incrAuthFailures('A')).toBe(1);
  });

  it('keeps sticky bindings until their absolute deadline, however long that is', async () => {
    const { store } = await open();
    await store.setBinding('s1', { endpoint: 'A', expiresAt: T0 + 15 * DAY }, T0);
    expect(await store.getBinding('s1', T0 + 14 * DAY)).toEqual({ endpoint: 'A', expiresAt: T0 + 15 * DAY });
    expect(await store.getBinding('s1', T0 + 15 * DAY)).toBeUndefined();
    expect(await store.getBinding('nope', T0)).toBeUndefined();
    await store.setBinding('s2', { endpoint: 'B', expiresAt: T0 + DAY }, T0);
    await store.deleteBinding('s2');
    expect(await store.getBinding('s2', T0)).toBeUndefined();
  });

  it('stores health including latency, and readEndpoints returns it', async () => {
    const { store } = await open();
    expect(await store.getHealth('A')).toBeUndefined();
    await store.setHealth('A', { status: 'healthy', consecutiveFailures: 0, lastCheckAt: T0, latencyMs: 42 });
    await store.setHealth('B', { status: 'disabled', consecutiveFailures: 4, lastCheckAt: T0, latencyMs: undefined, lastError: 'ECONNREFUSED' });
    expect(await store.getHealth('A')).toEqual({ status: 'healthy', consecutiveFailures: 0, lastCheckAt: T0, latencyMs: 42 });
    const [, b] = await store.readEndpoints(
      [
        { endpoint: 'A', channel: 'c', tokenId: 'a' },
        { endpoint: 'B', channel: 'c', tokenId: 'b' },
      ],
      T0,
    );
    expect(b.health).toEqual({ status: 'disabled', consecutiveFailures: 4, lastCheckAt: T0, latencyMs: undefined, lastError: 'ECONNREFUSED' });
  });

  it('increments counters atomically', async () => {
    const { store, reopen } = await open();
    const other = await reopen();
    const values = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? other : store).increment('rr:main')));
    expect([...values].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(await store.increment('rr:other')).toBe(1);
  });

  it('counts hits in fixed windows of the given clock', async () => {
    const { store } = await open();
    const minute = 60_000;
    const start = T0; // T0 is a whole minute
    expect(await store.hitRateWindow('alice', minute, start)).toBe(1);
    expect(await store.hitRateWindow('alice', minute, start + 59_999)).toBe(2);
    expect(await store.hitRateWindow('bob', minute, start + 1)).toBe(1);
    expect(await store.hitRateWindow('alice', minute, start + minute)).toBe(1);
    expect(await store.hitRateWindow('alice', minute, start + 10 * DAY)).toBe(1);
  });
});
