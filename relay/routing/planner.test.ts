import { describe, expect, it } from 'vitest';
import { compileConfig } from '../config/model.js';
import { relayConfigSchema, type RelayConfig } from '../config/schema.js';
import type { EndpointLiveState } from '../state/types.js';
import { plan, type PlanRequest } from './planner.js';

const NOW = 1_000_000;
const claude: PlanRequest = { types: new Set(['claude']), model: 'claude-sonnet-4-5' };

function ep(name: string, extra: Record<string, unknown> = {}) {
  return { name, type: 'claude' as const, base_url: `http://127.0.0.1:1/${name}`, token: `tok-${name}`, ...extra };
}

function model(cfg: RelayConfig) {
  return compileConfig(relayConfigSchema.parse(cfg), 1);
}

function live(name: string, patch: Partial<EndpointLiveState> = {}): EndpointLiveState {
  return {
    endpoint: name,
    endpointCooldown: undefined,
    tokenCooldown: undefined,
    channelCooldown: undefined,
    breaker: { phase: 'closed', consecutiveFailures: 0, consecutiveSuccesses: 0, openUntil: 0 },
    health: { status: 'healthy', consecutiveFailures: 0, lastCheckAt: 0, latencyMs: undefined },
    authFailures: 0,
    ...patch,
  };
}

function states(...list: EndpointLiveState[]) {
  return new Map(list.map((s) => [s.endpoint, s]));
}

const names = (p: ReturnType<typeof plan>) => p.candidates.map((c) => c.endpoint.name);

describe('planner: priority', () => {
  const cfg = model({ channels: [{ name: 'main', endpoints: [ep('A', { priority: 1 }), ep('B', { priority: 2 })] }] });

  it('orders by priority, lowest first', () => {
    expect(names(plan(cfg, claude, new Map(), NOW))).toEqual(['A', 'B']);
  });

  it('filters cooled, breaker-open and disabled endpoints but keeps expired cooldowns', () => {
    const cooled = states(live('A', { endpointCooldown: { until: NOW + 1, reason: '429' } }));
    expect(names(plan(cfg, claude, cooled, NOW))).toEqual(['B']);
    const expired = states(live('A', { endpointCooldown: { until: NOW, reason: '429' } }));
    expect(names(plan(cfg, claude, expired, NOW))).toEqual(['A', 'B']);
    const token = states(live('A', { tokenCooldown: { until: NOW + 1, reason: 'auth' } }));
    expect(names(plan(cfg, claude, token, NOW))).toEqual(['B']);
    const channel = states(live('A', { channelCooldown: { until: NOW + 5, reason: 'x' } }), live('B', { channelCooldown: { until: NOW + 5, reason: 'x' } }));
    expect(plan(cfg, claude, channel, NOW)).toMatchObject({ candidates: [], empty: 'all_unavailable' });
    const open = states(live('A', { breaker: { phase: 'open', consecutiveFailures: 5, consecutiveSuccesses: 0, openUntil: NOW + 10 } }));
    expect(names(plan(cfg, claude, open, NOW))).toEqual(['B']);
    const disabled = states(live('B', { health: { status: 'disabled', consecutiveFailures: 3, lastCheckAt: 0, latencyMs: 1 } }));
    expect(names(plan(cfg, claude, disabled, NOW))).toEqual(['A']);
  });

  it('when nothing is usable, says when the first endpoint comes back and whether only rate limits block them', () => {
    const limited = states(
      live('A', { endpointCooldown: { until: NOW + 8000, reason: 'rate_limited' } }),
      live('B', { endpointCooldown: { until: NOW + 3000, reason: 'rate_limited' } }),
    );
    expect(plan(cfg, claude, limited, NOW)).toMatchObject({ empty: 'all_unavailable', unavailable: { retryAt: NOW + 3000, rateLimited: true } });
    const mixed = states(
      live('A', { endpointCooldown: { until: NOW + 8000, reason: 'rate_limited' } }),
      live('B', { breaker: { phase: 'open', consecutiveFailures: 5, consecutiveSuccesses: 0, openUntil: NOW + 9000 } }),
    );
    expect(plan(cfg, claude, mixed, NOW).unavailable).toEqual({ retryAt: NOW + 8000, rateLimited: false });
    const disabled = { health: { status: 'disabled' as const, consecutiveFailures: 3, lastCheckAt: 0, latencyMs: 1 } };
    expect(plan(cfg, claude, states(live('A', disabled), live('B', disabled)), NOW).unavailable).toEqual({ retryAt: undefined, rateLimited: false });
  });

  it('admits an open breaker past its open time as a half-open probe', () => {
    const open = states(live('A', { breaker: { phase: 'open', consecutiveFailures: 5, consecutiveSuccesses: 0, openUntil: NOW } }));
    const p = plan(cfg, claude, open, NOW);
    expect(p.candidates.map((c) => [c.endpoint.name, c.halfOpen])).toEqual([['A', true], ['B', false]]);
  });

  it('rotates equal priorities round-robin, and by weight', () => {
    const rr = model({ channels: [{ name: 'm', endpoints: [ep('A'), ep('B'), ep('C')] }] });
    const firsts = [0, 1, 2, 3].map((r) => names(plan(rr, claude, new Map(), NOW, r))[0]);
    expect(firsts).toEqual(['A', 'B', 'C', 'A']);
    expect(names(plan(rr, claude, new Map(), NOW, 1))).toEqual(['B', 'C', 'A']);
    const weighted = model({ channels: [{ name: 'm', endpoints: [ep('A', { weight: 3 }), ep('B', { weight: 1 })] }] });
    const counts: Record<string, number> = {};
    for (let r = 0; r < 400; r++) {
      const first = names(plan(weighted, claude, new Map(), NOW, r))[0];
      counts[first] = (counts[first] ?? 0) + 1;
    }
    expect(counts).toEqual({ A: 300, B: 100 });
  });

  it('leaves out endpoints that do not serve the type or model', () => {
    const mixed = model({
      channels: [
        {
          name: 'm',
          endpoints: [
            ep('O', { type: 'openai' }),
            ep('A', { models: ['claude-haiku'] }),
            ep('B', { models: ['x'], model_map: { 'claude-sonnet-4-5': 'y' } }),
          ],
        },
      ],
    });
    expect(names(plan(mixed, claude, new Map(), NOW))).toEqual(['B']);
    expect(plan(mixed, { types: new Set(['claude']), model: 'nope' }, new Map(), NOW).empty).toBe('no_endpoint_for_model');
  });
});

describe('planner: fastest', () => {
  const cfg = model({
    strategy: 'fastest',
    channels: [{ name: 'main', endpoints: [ep('A', { priority: 1 }), ep('B', { priority: 2 }), ep('C', { priority: 3 })] }],
  });
  const lat = (name: string, latencyMs: number | undefined) =>
    live(name, { health: { status: 'healthy', consecutiveFailures: 0, lastCheckAt: 0, latencyMs } });

  it('orders by probe latency, ties and unknowns by priority', () => {
    expect(names(plan(cfg, claude, states(lat('A', 50), lat('B', 10), lat('C', 10)), NOW))).toEqual(['B', 'C', 'A']);
    expect(names(plan(cfg, claude, states(lat('A', undefined), lat('B', undefined), lat('C', 5)), NOW))).toEqual(['C', 'A', 'B']);
  });
});

describe('planner: channels', () => {
  const layout = (cross: boolean, pausedMain = false): RelayConfig => ({
    cross_channel_failover: cross,
    channels: [
      { name: 'main', priority: 1, paused: pausedMain, endpoints: [ep('A')] },
      { name: 'backup', priority: 2, endpoints: [ep('B')] },
      { name: 'outside', priority: 3, cross_channel: false, endpoints: [ep('C')] },
    ],
  });

  it('fails over across channels only when on, and only to channels that take part', () => {
    expect(names(plan(model(layout(true)), claude, new Map(), NOW))).toEqual(['A', 'B']);
    expect(names(plan(model(layout(false)), claude, new Map(), NOW))).toEqual(['A']);
  });

  it('a paused active channel hands over to the next by strategy; none left = no active channel', () => {
    const p = plan(model(layout(false, true)), claude, new Map(), NOW);
    expect(names(p)).toEqual(['B']);
    expect(p.channel).toBe('backup');
    const none = model({ channels: [{ name: 'main', paused: true, endpoints: [ep('A')] }] });
    expect(plan(none, claude, new Map(), NOW).empty).toBe('no_active_channel');
  });

  it('with fastest, the channel with the fastest endpoint is the active one', () => {
    const cfg = model({ ...layout(true), strategy: 'fastest' });
    const lat = states(
      live('A', { health: { status: 'healthy', consecutiveFailures: 0, lastCheckAt: 0, latencyMs: 90 } }),
      live('B', { health: { status: 'healthy', consecutiveFailures: 0, lastCheckAt: 0, latencyMs: 10 } }),
    );
    expect(names(plan(cfg, claude, lat, NOW))).toEqual(['B', 'A']);
  });
});

describe('planner: failover_enabled false', () => {
  const cfg = model({
    channels: [{ name: 'm', endpoints: [ep('A', { priority: 1 }), ep('X', { priority: 2, failover_enabled: false }), ep('B', { priority: 3 })] }],
  });

  it('is never a failover target', () => {
    expect(names(plan(cfg, claude, new Map(), NOW))).toEqual(['A', 'B']);
  });

  it('when it is the first choice, nothing is failed over to', () => {
    const aCooled = states(live('A', { endpointCooldown: { until: NOW + 1, reason: 'x' } }));
    expect(names(plan(cfg, claude, aCooled, NOW))).toEqual(['X']);
  });
});

describe('planner: sticky', () => {
  const cfg = model({ channels: [{ name: 'm', endpoints: [ep('A'), ep('B', { priority: 2 })] }] });

  it('puts a usable bound endpoint first (hit), replaces a down one (rebind)', () => {
    const hit = plan(cfg, { ...claude, binding: 'B' }, new Map(), NOW);
    expect([names(hit), hit.sticky]).toEqual([['B', 'A'], 'hit']);
    const down = plan(cfg, { ...claude, binding: 'B' }, states(live('B', { endpointCooldown: { until: NOW + 1, reason: 'x' } })), NOW);
    expect([names(down), down.sticky]).toEqual([['A'], 'rebind']);
    const gone = plan(cfg, { ...claude, binding: 'deleted' }, new Map(), NOW);
    expect(gone.sticky).toBe('rebind');
    expect(plan(cfg, claude, new Map(), NOW).sticky).toBe('miss');
  });

  it('sends a session that a failover moved back home once home is usable, not before', () => {
    const moved = { ...claude, binding: 'B', home: 'A' };
    const back = plan(cfg, moved, new Map(), NOW);
    expect([names(back), back.sticky]).toEqual([['A', 'B'], 'return']);
    // Home still cooling: the provisional binding is followed.
    const cooling = plan(cfg, moved, states(live('A', { endpointCooldown: { until: NOW + 1, reason: 'rate_limited' } })), NOW);
    expect([names(cooling), cooling.sticky]).toEqual([['B'], 'hit']);
    // Home's breaker half-open: not back yet (a probe is not a recovery).
    const probing = plan(cfg, moved, states(live('A', { breaker: { phase: 'half_open', consecutiveFailures: 3, consecutiveSuccesses: 0, openUntil: NOW - 1 } })), NOW);
    expect([names(probing), probing.sticky]).toEqual([['B', 'A'], 'hit']);
    // Home open and the binding down too: routing's own order, a rebind.
    const open = { phase: 'open' as const, consecutiveFailures: 3, consecutiveSuccesses: 0, openUntil: NOW + 1 };
    const neither = plan(cfg, moved, states(live('A', { breaker: open }), live('B', { endpointCooldown: { until: NOW + 1, reason: 'x' } })), NOW);
    expect(neither.sticky).toBe('rebind');
  });
});
