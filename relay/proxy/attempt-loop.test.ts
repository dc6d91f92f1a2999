import { describe, expect, it } from 'vitest';
import { TestClock } from '../../lib/clock.js';
import { compileConfig, type EndpointModel } from '../config/model.js';
import { relayConfigSchema, type RelayConfig } from '../config/schema.js';
import type { Candidate } from '../routing/planner.js';
import type { LiveState } from '../state/types.js';
import { runAttemptLoop, type AttemptResult } from './attempt-loop.js';

/** Records every state write the loop makes; reads are not used by the loop. */
function fakeLive(probeAllowed = true) {
  const calls: string[] = [];
  let auth = 0;
  const live = {
    setCooldown: async (scope: string, id: string, c: { until: number }) => void calls.push(`cooldown ${scope} ${id} ${c.until}`),
    recordBreaker: async (ep: string, ok: boolean) => {
      calls.push(`breaker ${ep} ${ok}`);
      return { phase: ok ? 'closed' : 'open', consecutiveFailures: ok ? 0 : 5, consecutiveSuccesses: 0, openUntil: 0 };
    },
    tryAcquireHalfOpenProbe: async (ep: string) => {
      calls.push(`probe ${ep}`);
      return probeAllowed;
    },
    incrAuthFailures: async (ep: string) => {
      calls.push(`auth ${ep}`);
      return ++auth;
    },
    resetAuthFailures: async () => void calls.push('auth reset'),
  } as unknown as LiveState;
  return { live, calls };
}

function setup(cfg: Partial<RelayConfig> = {}, windows: Record<string, number> = {}) {
  const config = compileConfig(
    relayConfigSchema.parse({
      cooldowns: { auth_failures_to_disable: 2 },
      ...cfg,
      // Same-endpoint retries have tests of their own; elsewhere every failure moves on.
      retry: { same_endpoint_retries: 0, ...cfg.retry },
      channels: [
        {
          name: 'm',
          endpoints: ['A', 'B', 'C', 'D', 'E'].map((n) => ({ name: n, type: 'claude', base_url: 'http://127.0.0.1:1', token: `sk-ant-${n}-0000000000` })),
        },
      ],
    }),
    1,
  );
  const candidates: Candidate[] = [...config.endpoints.values()].map((endpoint) => ({ endpoint, halfOpen: false, contextWindow: windows[endpoint.name] }));
  return { config, candidates };
}

const fail = (outcome: AttemptResult['outcome'], extra: Partial<AttemptResult> = {}): AttemptResult => ({
  kind: 'failed',
  committed: false,
  outcome,
  status: typeof outcome === 'number' ? outcome : undefined,
  ...extra,
});
const ok: AttemptResult = { kind: 'ok', committed: true, status: 200 };

async function run(
  results: AttemptResult[],
  cfg: Partial<RelayConfig> = {},
  opts: { halfOpen?: boolean; probe?: boolean; clock?: TestClock; windows?: Record<string, number>; onWait?: (clock: TestClock) => void } = {},
) {
  const { config, candidates } = setup(cfg, opts.windows);
  if (opts.halfOpen) candidates[0] = { ...candidates[0], halfOpen: true };
  const { live, calls } = fakeLive(opts.probe ?? true);
  const clock = opts.clock ?? new TestClock(0);
  const tried: string[] = [];
  const changes: string[] = [];
  const result = await runAttemptLoop(candidates, {
    config,
    live,
    clock,
    states: new Map(),
    onStateChange: (e) => changes.push(`${e.endpoint} ${e.change}`),
    attempt: async (ep: EndpointModel) => {
      tried.push(ep.name);
      const r = results.shift() ?? ok;
      if (opts.clock && r.kind === 'failed') await opts.clock.advance(30_000);
      return r;
    },
  }, clock.now(), 'miss');
  await new Promise((r) => setImmediate(r));
  return { result, tried, calls, changes };
}

describe('attempt loop', () => {
  it('moves on after 5xx, 429, 529 and network errors, cooling as the table says', async () => {
    const { result, tried, calls, changes } = await run([fail(500), fail(429, { retryAfterMs: 7000 }), fail(529), fail('connect_error')]);
    // Only state changes are reported (here the fake opens a breaker on every failure it records).
    expect(changes).toEqual(['A breaker open', 'D breaker open']);
    expect(tried).toEqual(['A', 'B', 'C', 'D']);
    expect(result.stopped).toBe('max_attempts');
    expect(calls).toContain('cooldown endpoint A 5000');
    expect(calls).toContain('breaker A false');
    expect(calls).toContain('cooldown endpoint B 7000');
    expect(calls).not.toContain('breaker B false');
    expect(calls).toContain('cooldown endpoint C 2000');
    expect(calls).not.toContain('breaker C false');
    expect(result.attempts.map((a) => a.errorClass)).toEqual(['http_500', 'rate_limited', 'overloaded', 'connect_error']);
    expect(result.attempts[0]).toMatchObject({ token: 'sk-ant-…0000', sticky: 'miss' });
  });

  it('a refreshed credential: the same candidate again with it, as one more attempt, not counted against the credential', async () => {
    const { config } = setup();
    const fresh = { ...config.endpoints.get('A')!, token: 'sk-ant-A-fresh-000000' };
    const { result, tried, calls } = await run([fail(401, { refreshed: fresh })]);
    expect(tried).toEqual(['A', 'A']);
    expect(result.attempts.map((a) => `${a.endpoint}:${a.status ?? ''}:${a.errorClass ?? ''}`)).toEqual(['A:401:auth_refreshed', 'A:200:']);
    expect(result.endpoint?.token).toBe('sk-ant-A-fresh-000000');
    expect(calls.filter((c) => c.startsWith('auth '))).toEqual([]);

    // The retry counts toward max_attempts like any other attempt.
    const bounded = await run([fail(401, { refreshed: fresh })], { retry: { max_attempts: 1 } });
    expect(bounded.tried).toEqual(['A']);
    expect(bounded.result.stopped).toBe('max_attempts');
  });

  it('returns 400/404/413/422 at once without touching the breaker', async () => {
    for (const s of [400, 404, 413, 422]) {
      const { result, tried, calls } = await run([fail(s)]);
      expect(tried).toEqual(['A']);
      expect(result.stopped).toBe('returned');
      expect(calls).toEqual([]);
    }
  });

  it('401 never retries the same endpoint, counts toward disabling the credential', async () => {
    const { result, tried, calls } = await run([fail(401), fail(403), ok]);
    expect(tried).toEqual(['A', 'B', 'C']);
    expect(result.last?.kind).toBe('ok');
    expect(calls.filter((c) => c.startsWith('auth'))).toEqual(['auth A', 'auth B']);
    // the fake counts across endpoints: the second failure reaches the threshold of 2
    expect(calls.some((c) => c.startsWith('cooldown token'))).toBe(true);
  });

  it('bounds credential rotations separately', async () => {
    const { result, tried } = await run([fail(401), fail(401), fail(401)], { retry: { max_credential_rotations: 1, max_attempts: 5 } });
    expect(tried).toEqual(['A', 'B']);
    expect(result.stopped).toBe('max_credential_rotations');
  });

  it('never retries after the commit point', async () => {
    const { result, tried, calls } = await run([fail('stream_truncated', { committed: true })]);
    expect(tried).toEqual(['A']);
    expect(result.stopped).toBeUndefined();
    expect(calls).toContain('breaker A false');
  });

  it('stops starting attempts after the deadline', async () => {
    const { result, tried } = await run([fail(500), fail(500), fail(500)], { retry: { deadline: '45s' } }, { clock: new TestClock(0) });
    expect(tried).toEqual(['A', 'B']);
    expect(result.stopped).toBe('deadline');
  });

  it('a half-open candidate is tried only with the probe slot, and success closes it', async () => {
    const denied = await run([ok], {}, { halfOpen: true, probe: false });
    expect(denied.tried).toEqual(['B']);
    const won = await run([ok], {}, { halfOpen: true, probe: true });
    expect(won.tried).toEqual(['A']);
    expect(won.calls).toContain('breaker A true');
    expect(won.changes).toEqual(['A breaker closed']);
  });

  it('an aborted client ends the loop without state writes', async () => {
    const { tried, calls } = await run([{ kind: 'aborted', committed: false }]);
    expect(tried).toEqual(['A']);
    expect(calls).toEqual([]);
  });

  it('cools a channel when every one of its endpoints failed for real in one request, never the last channel', async () => {
    const { config, candidates } = setup({ retry: { max_attempts: 5 } });
    // A..D in channel m, E in channel n.
    const twoChannels = candidates.map((c, i) => (i === 4 ? { ...c, endpoint: { ...c.endpoint, channel: 'n' } } : c));
    const go = async (results: AttemptResult[], cfg = config) => {
      const { live, calls } = fakeLive();
      const changes: string[] = [];
      const result = await runAttemptLoop(twoChannels, {
        config: cfg,
        live,
        clock: new TestClock(0),
        states: new Map(),
        onStateChange: (e) => changes.push(`${e.endpoint} ${e.change}`),
        attempt: async () => results.shift() ?? ok,
      }, 0);
      return { result, calls: calls.filter((c) => c.startsWith('cooldown channel')), changes };
    };
    const cooled = await go([fail(500), fail('connect_error'), fail('timeout'), fail(502), fail(503)]);
    expect(cooled.result.stopped).toBe('exhausted');
    // m failed whole while n was still untried; n then failed too but is the last channel standing.
    expect(cooled.calls).toEqual(['cooldown channel m 30000']);
    expect(cooled.changes).toContain('m channel cooled');
    expect((await go([fail(500), fail('connect_error'), fail('timeout'), fail(502), ok])).calls).toEqual(['cooldown channel m 30000']);
    // A credential failure or a 429/529 is not the channel's fault.
    expect((await go([fail(500), fail(401), fail('timeout'), fail(502), ok])).calls).toEqual([]);
    expect((await go([fail(500), fail(529), fail('timeout'), fail(429), ok])).calls).toEqual([]);
    // The setting 0 turns it off.
    const off = setup({ retry: { max_attempts: 5 }, cooldowns: { channel_all_failed: 0 } }).config;
    expect((await go([fail(500), fail(500), fail(500), fail(500), ok], off)).calls).toEqual([]);
  });

  const reply = (status: number, body: string) => ({ status, headers: {}, body: Buffer.from(body) });

  it('retries an isolated 5xx once on the same endpoint, writing no state for it, then moves on', async () => {
    // Five candidates: a retry fits in the budget only when every later one keeps its attempt.
    const retryOnce = { retry: { same_endpoint_retries: 1, max_attempts: 6 } };
    const healed = await run([fail(500), ok], retryOnce);
    expect(healed.tried).toEqual(['A', 'A']);
    expect(healed.result.last?.kind).toBe('ok');
    // A failure a retry cleared is no outage: no cooldown, no breaker count.
    expect(healed.calls).toEqual([]);
    const again = await run([fail(502), fail(503), ok], retryOnce);
    expect(again.tried).toEqual(['A', 'A', 'B']);
    expect(again.calls).toContain('cooldown endpoint A 5000');
    expect(again.calls.filter((c) => c === 'breaker A false')).toHaveLength(1);
    // 529 and network failures move on at once.
    expect((await run([fail(529), ok], retryOnce)).tried).toEqual(['A', 'B']);
    expect((await run([fail('connect_error'), ok], retryOnce)).tried).toEqual(['A', 'B']);
    // Not when the retry would cost a later candidate its attempt.
    expect((await run([fail(500), ok], { retry: { same_endpoint_retries: 1, max_attempts: 5 } })).tried).toEqual(['A', 'B']);
    // One per request: B's 5xx after A's retry moves on at once.
    expect((await run([fail(500), fail(500), fail(500), ok], { retry: { same_endpoint_retries: 1, max_attempts: 8 } })).tried).toEqual(['A', 'A', 'B', 'C']);
  });

  it('waits out a short Retry-After on the same endpoint, moves on at once from a long one or a 429 without one', async () => {
    const { config, candidates } = setup({ retry: { same_endpoint_retries: 1, same_endpoint_max_wait: '1s', max_attempts: 6 } });
    const clock = new TestClock(0);
    const tried: string[] = [];
    const results = [fail(429, { retryAfterMs: 1000 }), ok];
    let done = false;
    const loop = runAttemptLoop(candidates, {
      config,
      live: fakeLive().live,
      clock,
      states: new Map(),
      attempt: async (ep: EndpointModel) => {
        tried.push(ep.name);
        return results.shift() ?? ok;
      },
    }, 0).then((r) => ((done = true), r));
    const settle = () => new Promise((r) => setImmediate(r));
    await settle();
    await clock.advance(999);
    await settle();
    // The upstream asked for a second: nothing is sent before it has passed.
    expect([tried, done]).toEqual([['A'], false]);
    await clock.advance(1);
    expect((await loop).last?.kind).toBe('ok');
    expect(tried).toEqual(['A', 'A']);
    const retryOnce = { retry: { same_endpoint_retries: 1, max_attempts: 6 } };
    expect((await run([fail(429, { retryAfterMs: 5000 }), ok], retryOnce)).tried).toEqual(['A', 'B']);
    expect((await run([fail(429), ok], retryOnce)).tried).toEqual(['A', 'B']);
    expect((await run([fail(429, { retryAfterMs: 0 }), ok], retryOnce)).tried).toEqual(['A', 'A']);
  });

  it('moves a context_length_exceeded only to larger windows, and the client gets the original error when none serves', async () => {
    const original = reply(400, '{"error":{"code":"context_length_exceeded"}}');
    const windows = { A: 128_000, B: 128_000, C: 1_000_000, D: 64_000, E: 2_000_000 };
    const moved = await run([fail('context_length_exceeded', { status: 400, reply: original }), ok], {}, { windows });
    // B has the same window as A: it would refuse the same way and is never asked.
    expect(moved.tried).toEqual(['A', 'C']);
    expect(moved.result.last?.kind).toBe('ok');
    expect(moved.calls).toEqual([]);
    // The larger windows fail too: the client gets A's 400, not the rescue's 503.
    const failed = await run(
      [fail('context_length_exceeded', { status: 400, reply: original }), fail(503, { reply: reply(503, 'busy') }), fail(500, { reply: reply(500, 'x') })],
      {},
      { windows },
    );
    expect(failed.tried).toEqual(['A', 'C', 'E']);
    expect(failed.result.stopped).toBe('returned');
    expect(failed.result.last?.outcome).toBe('context_length_exceeded');
    expect(failed.result.endpoint?.name).toBe('A');
    expect(failed.result.lastReply).toBe(original);
    // Without a declared window nothing is known to be larger: returned, nothing resent.
    const unknown = await run([fail('context_length_exceeded', { status: 400, reply: original })]);
    expect(unknown.tried).toEqual(['A']);
    expect(unknown.result.stopped).toBe('returned');
  });

  it('never retries or moves a content-policy refusal', async () => {
    const { tried, result, calls } = await run([fail('content_policy', { status: 400 })], { retry: { same_endpoint_retries: 1 } }, { windows: { A: 1, B: 2 } });
    expect(tried).toEqual(['A']);
    expect(result.stopped).toBe('returned');
    expect(calls).toEqual([]);
  });
});
