import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TestClock } from '../../lib/clock.js';
import { startMocks, type MockFleet } from '../../mocks/index.js';
import { compileConfig, type RelayModel } from '../config/model.js';
import { relayConfigSchema, type RelayConfig } from '../config/schema.js';
import { MemoryLiveState } from '../state/memory.js';
import { createHealthChecker } from './checker.js';
import type { HealthLog } from './types.js';

/** Records what the checker logs, so tests can assert "state changes only". */
function recordingLog(): HealthLog & { lines: Array<{ level: string; msg: string; obj: object }> } {
  const lines: Array<{ level: string; msg: string; obj: object }> = [];
  return {
    lines,
    info: (obj, msg) => lines.push({ level: 'info', msg, obj }),
    warn: (obj, msg) => lines.push({ level: 'warn', msg, obj }),
  };
}

describe('health checker against the mock upstreams', () => {
  let fleet: MockFleet;
  let jwt: string;

  beforeAll(async () => {
    fleet = await startMocks({
      upstreams: [
        { name: 'claude-1', kind: 'claude', tokens: ['sk-ant-api03-health-claude-0001'] },
        { name: 'openai-1', kind: 'openai', tokens: ['sk-proj-health-openai-0001'] },
        { name: 'openai-2', kind: 'openai', tokens: ['sk-proj-health-openai-0002'] },
        { name: 'codex-1', kind: 'chatgpt-oauth', tokens: [] },
        { name: 'pass-1', kind: 'custom-pass', tokens: ['pk-health-pass-0001'] },
      ],
    });
    jwt = (await fleet.control.issueJwt('codex-1', { accountId: 'acc-health-1', expiresInSec: 3600 })).accessToken;
  });
  afterAll(async () => {
    await fleet?.close();
  });
  beforeEach(async () => {
    await fleet.control.reset();
  });

  function layout(over: Partial<RelayConfig> = {}): RelayModel {
    const cfg: RelayConfig = {
      cross_channel_failover: true,
      health: { interval: '30s', failure_threshold: 3, timeout: '2s' },
      channels: [
        {
          name: 'main',
          priority: 1,
          endpoints: [
            { name: 'C', type: 'claude', base_url: fleet.get('claude-1').url, token: 'sk-ant-api03-health-claude-0001' },
            { name: 'O', type: 'openai', base_url: `${fleet.get('openai-1').url}/v1`, token: 'sk-proj-health-openai-0001' },
            { name: 'X', type: 'openai', base_url: fleet.get('openai-2').url, token: 'sk-proj-health-openai-0002', failover_enabled: false },
          ],
        },
        {
          name: 'backup',
          priority: 2,
          endpoints: [
            { name: 'G', type: 'chatgpt-oauth', base_url: `${fleet.get('codex-1').url}/backend-api/codex`, token: jwt, account_id: 'acc-health-1' },
            { name: 'P', type: 'custom-pass', base_url: fleet.get('pass-1').url, token: 'pk-health-pass-0001', fast_test_path: '/v1/models' },
            { name: 'P2', type: 'custom-pass', base_url: fleet.get('pass-1').url, token: 'pk-health-pass-0001' },
          ],
        },
        {
          name: 'paused',
          priority: 0,
          paused: true,
          endpoints: [{ name: 'Z', type: 'openai', base_url: fleet.get('openai-1').url, token: 'sk-proj-health-openai-0001' }],
        },
      ],
      ...over,
    };
    return compileConfig(relayConfigSchema.parse(cfg), 1);
  }

  it('probes every participating endpoint with its own credential in its own header form', async () => {
    const live = new MemoryLiveState();
    const clock = new TestClock();
    const checker = createHealthChecker({ clock, liveState: live, getLayout: () => layout() });
    const round = await checker.runOnce();
    await checker.stop();

    const by = Object.fromEntries(round.results.map((r) => [r.endpoint, r]));
    expect(round.activeChannel).toBe('main');
    for (const name of ['C', 'O', 'X', 'G', 'P']) expect(by[name], name).toMatchObject({ checked: true, ok: true, status: 'healthy' });
    // Paused channel, and custom-pass without a fast-test path: shown, not probed.
    expect(by.Z).toMatchObject({ checked: false, status: 'not_checked' });
    expect(by.P2).toMatchObject({ checked: false, status: 'not_checked' });

    const journal = await fleet.control.journal();
    const one = (upstream: string) => {
      const entries = journal.filter((e) => e.upstream === upstream);
      return entries;
    };
    expect(one('claude-1').map((e) => [e.method, e.path, e.headers['x-api-key'], e.headers.authorization])).toEqual([
      ['GET', '/v1/models', 'sk-ant-api03-health-claude-0001', undefined],
    ]);
    expect(one('claude-1')[0].headers['anthropic-version']).toBeDefined();
    // base_url ending in /v1 gets no second /v1.
    expect(one('openai-1').map((e) => [e.path, e.headers.authorization])).toEqual([['/v1/models', 'Bearer sk-proj-health-openai-0001']]);
    expect(one('openai-2').map((e) => e.headers.authorization)).toEqual(['Bearer sk-proj-health-openai-0002']);
    expect(one('codex-1').map((e) => [e.path, e.headers.authorization, e.headers['chatgpt-account-id'], e.status])).toEqual([
      ['/backend-api/accounts/check/v4-2023-04-27', `Bearer ${jwt}`, 'acc-health-1', 200],
    ]);
    expect(one('pass-1').map((e) => [e.path, e.headers.authorization])).toEqual([['/v1/models', 'Bearer pk-health-pass-0001']]);

    const c = await live.getHealth('C');
    expect(c?.status).toBe('healthy');
    expect(c?.latencyMs).toBeGreaterThan(0);
    expect(c?.lastCheckAt).toBe(clock.now());
  });

  it('with cross-channel failover off probes only the active channel\u2019s failover-enabled endpoints', async () => {
    const live = new MemoryLiveState();
    const checker = createHealthChecker({
      clock: new TestClock(),
      liveState: live,
      getLayout: () => layout({ cross_channel_failover: false }),
    });
    const round = await checker.runOnce();
    await checker.stop();
    const checked = round.results.filter((r) => r.checked).map((r) => r.endpoint).sort();
    expect(checked).toEqual(['C', 'O']);
    expect(round.results.filter((r) => !r.checked).map((r) => r.endpoint).sort()).toEqual(['G', 'P', 'P2', 'X', 'Z']);
    expect((await fleet.control.journal()).map((e) => e.upstream).sort()).toEqual(['claude-1', 'openai-1']);
    expect((await live.getHealth('X'))?.status).toBe('not_checked');
  });

  it('disables an endpoint after failure_threshold failed probes, keeps probing it, re-enables it, and logs only changes', async () => {
    const live = new MemoryLiveState();
    const log = recordingLog();
    const clock = new TestClock();
    const checker = createHealthChecker({ clock, liveState: live, log, getLayout: () => layout({ cross_channel_failover: false }) });
    await checker.runOnce();
    const afterFirst = log.lines.length; // unknown -> healthy for C and O
    expect(log.lines.map((l) => l.msg).sort()).toEqual(['endpoint C healthy', 'endpoint O healthy']);

    await fleet.control.setRules('openai-1', [{ match: { path: '/v1/models' }, action: { status: 500 } }]);
    const statuses: string[] = [];
    for (let i = 0; i < 5; i++) {
      const round = await checker.runOnce();
      statuses.push(round.results.find((r) => r.endpoint === 'O')!.status);
    }
    expect(statuses).toEqual(['unhealthy', 'unhealthy', 'disabled', 'disabled', 'disabled']);
    const [o] = await live.readEndpoints([{ endpoint: 'O', channel: 'main', tokenId: 'x' }], clock.now());
    expect(o.health).toMatchObject({ status: 'disabled', consecutiveFailures: 5, lastError: 'HTTP 500', latencyMs: undefined });
    // Disabled endpoints are still probed: 1 healthy + 5 failed probes so far.
    expect(await fleet.control.journal({ upstream: 'openai-1' })).toHaveLength(6);

    await fleet.control.clearRules('openai-1');
    const recovered = await checker.runOnce();
    await checker.stop();
    expect(recovered.results.find((r) => r.endpoint === 'O')).toMatchObject({ status: 'healthy', ok: true });

    const changes = log.lines.slice(afterFirst).map((l) => [l.level, l.msg]);
    expect(changes).toEqual([
      ['warn', 'endpoint O unhealthy'],
      ['warn', 'endpoint O disabled'],
      ['info', 'endpoint O healthy'],
    ]);
  });

  it('counts a 429 as alive', async () => {
    const live = new MemoryLiveState();
    await fleet.control.setRules('claude-1', [{ match: { path: '/v1/models' }, action: { status: 429, retry_after: 5 } }]);
    const checker = createHealthChecker({ clock: new TestClock(), liveState: live, getLayout: () => layout() });
    const round = await checker.runOnce();
    await checker.stop();
    expect(round.results.find((r) => r.endpoint === 'C')).toMatchObject({ ok: true, httpStatus: 429, status: 'healthy' });
  });

  it('times out a hanging probe when the relay clock passes health.timeout', async () => {
    const live = new MemoryLiveState();
    const clock = new TestClock();
    await fleet.control.setRules('openai-2', [{ match: { path: '/v1/models' }, action: { hang: 'headers' } }]);
    const checker = createHealthChecker({
      clock,
      liveState: live,
      getLayout: () => layout({ health: { interval: '30s', failure_threshold: 1, timeout: '20s' } }),
    });
    const pending = checker.runOnce();
    // Real time would take 20 s; the virtual clock gets there at once.
    await new Promise((r) => setTimeout(r, 100));
    await clock.advance(20_000);
    const round = await pending;
    await checker.stop();
    expect(round.results.find((r) => r.endpoint === 'X')).toMatchObject({ ok: false, status: 'disabled', error: 'timed out after 20000ms' });
  });

  it('runs a round at start and then every interval of the injected clock, until stopped', async () => {
    const live = new MemoryLiveState();
    const clock = new TestClock();
    const checker = createHealthChecker({ clock, liveState: live, getLayout: () => layout({ cross_channel_failover: false }) });
    const count = async () => (await fleet.control.journal({ upstream: 'claude-1' })).length;
    checker.start();
    await vi_waitFor(async () => (await count()) === 1);
    await clock.advance(29_999);
    await new Promise((r) => setTimeout(r, 50));
    expect(await count()).toBe(1);
    await clock.advance(1);
    await vi_waitFor(async () => (await count()) === 2);
    // A round still running when the next tick comes is not doubled up, so step one interval at a time.
    await clock.advance(30_000);
    await vi_waitFor(async () => (await count()) === 3);
    await clock.advance(30_000);
    await vi_waitFor(async () => (await count()) === 4);
    await checker.stop();
    await clock.advance(120_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(await count()).toBe(4);
    expect(clock.pendingTimers()).toBe(0);
    expect(checker.lastRound?.results.length).toBe(7);
  });

  it('follows config changes: turned on starts the timer, a new interval reschedules it, turned off stops it', async () => {
    const live = new MemoryLiveState();
    const clock = new TestClock();
    let current = layout({ cross_channel_failover: false, health: { enabled: false, interval: '1h' } });
    const checker = createHealthChecker({ clock, liveState: live, getLayout: () => current });
    const count = async () => (await fleet.control.journal({ upstream: 'claude-1' })).length;
    checker.follow();
    expect(clock.pendingTimers()).toBe(0);
    current = layout({ cross_channel_failover: false, health: { enabled: true, interval: '1h' } });
    checker.follow();
    await vi_waitFor(async () => (await count()) === 1);
    // The interval shrinks: the next round comes after the new interval, not the old hour.
    current = layout({ cross_channel_failover: false, health: { enabled: true, interval: '10s' } });
    checker.follow();
    await clock.advance(10_000);
    await vi_waitFor(async () => (await count()) === 2);
    current = layout({ cross_channel_failover: false, health: { enabled: false, interval: '10s' } });
    checker.follow();
    expect(clock.pendingTimers()).toBe(0);
    await clock.advance(60_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(await count()).toBe(2);
    await checker.stop();
  });
});

/** Polls a condition (real I/O to the mocks takes a few ms); fails after 3 s. */
async function vi_waitFor(cond: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met within 3s');
    await new Promise((r) => setTimeout(r, 10));
  }
}
