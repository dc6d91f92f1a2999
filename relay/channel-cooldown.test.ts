/**
 * Channel cooldowns against the real mocks: set by the relay when a whole channel failed inside
 * one request, or by an operator through the admin API; a cooled channel is left out until the
 * cooldown ends or is cleared.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestClock } from '../lib/clock.js';
import type { MockFleet } from '../mocks/index.js';
import { admin, ask, claudeBody, startStack, type TestStack } from './testing.js';

const T1 = 'sk-ant-api03-chan-one-000000000001';
const T2 = 'sk-ant-api03-chan-two-000000000002';

let stack: TestStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

function twoChannels(clock = new TestClock()) {
  return startStack(
    { upstreams: [{ name: 'claude', kind: 'claude', tokens: [T1, T2], output: { tokens: 4 } }] },
    (m: MockFleet) => ({
      cooldowns: { channel_all_failed: '30s' },
      channels: [
        { name: 'one', priority: 1, endpoints: [{ name: 'one-a', type: 'claude', base_url: m.get('claude').url, token: T1 }] },
        { name: 'two', priority: 2, endpoints: [{ name: 'two-a', type: 'claude', base_url: m.get('claude').url, token: T2 }] },
      ],
    }),
    { clock },
  );
}

const credentials = async (s: TestStack) => (await s.mocks.control.journal()).map((e) => e.credential);

describe('channel cooldowns', () => {
  it('an operator-cooled channel is skipped (cross-channel failover) and comes back after its cooldown', async () => {
    const clock = new TestClock();
    stack = await twoChannels(clock);
    const set = await admin(stack.relay, 'POST', '/admin/channels/one/cooldown', { for: '30s' });
    expect(set.status).toBe(200);
    expect(set.json.activeChannel).toBe('one');
    const state = (await admin(stack.relay, 'GET', '/admin/state')).json;
    expect(state.endpoints.find((e: { name: string }) => e.name === 'one-a').cooldown).toMatchObject({ scope: 'channel', reason: 'admin' });

    expect((await ask(stack.relay, '/v1/messages', claudeBody())).status).toBe(200);
    expect(await credentials(stack)).toEqual([T2]);
    await clock.advance(30_001);
    expect((await ask(stack.relay, '/v1/messages', claudeBody())).status).toBe(200);
    expect(await credentials(stack)).toEqual([T2, T1]);

    await admin(stack.relay, 'POST', '/admin/channels/one/cooldown', { for: '1h' });
    expect((await admin(stack.relay, 'DELETE', '/admin/channels/one/cooldown')).json.cleared).toBe(true);
    await ask(stack.relay, '/v1/messages', claudeBody());
    expect((await credentials(stack)).at(-1)).toBe(T1);
    expect((await admin(stack.relay, 'POST', '/admin/channels/nope/cooldown', { for: '1s' })).status).toBe(404);
    expect((await admin(stack.relay, 'POST', '/admin/channels/one/cooldown', { for: 'soon' })).status).toBe(400);
  });

  it('every channel cooled: a protocol-shaped 503 with retry-after, and no upstream call', async () => {
    stack = await twoChannels();
    await admin(stack.relay, 'POST', '/admin/channels/one/cooldown', { for: '30s' });
    await admin(stack.relay, 'POST', '/admin/channels/two/cooldown', { for: '10s' });
    const res = await ask(stack.relay, '/v1/messages', claudeBody());
    expect(res.status).toBe(503);
    expect(res.json.type).toBe('error');
    expect(Number(res.headers['retry-after'])).toBe(10);
    expect(await credentials(stack)).toEqual([]);
  });

  it('a channel whose every endpoint failed retryably in one request is cooled as a whole', async () => {
    const clock = new TestClock();
    stack = await twoChannels(clock);
    await stack.mocks.control.addRule('claude', { match: { token: T1 }, action: { status: 503 } });
    expect((await ask(stack.relay, '/v1/messages', claudeBody())).status).toBe(200);
    // The endpoint's own 5 s cooldown runs out; the channel's 30 s one still keeps it out.
    await clock.advance(10_000);
    await stack.mocks.control.clearRules('claude');
    await stack.mocks.control.resetJournal();
    expect((await ask(stack.relay, '/v1/messages', claudeBody())).status).toBe(200);
    expect(await credentials(stack)).toEqual([T2]);
    const state = (await admin(stack.relay, 'GET', '/admin/state')).json;
    expect(state.endpoints.find((e: { name: string }) => e.name === 'one-a').cooldown).toMatchObject({ scope: 'channel', reason: 'channel_all_failed' });
    await clock.advance(20_001);
    await ask(stack.relay, '/v1/messages', claudeBody());
    expect(await credentials(stack)).toEqual([T2, T1]);
  });

  it('POST /admin/state/reset clears cooldowns, breakers and credential counts, for listed endpoints or all', async () => {
    stack = await twoChannels();
    await admin(stack.relay, 'POST', '/admin/channels/one/cooldown', { for: '1h' });
    await stack.mocks.control.addRule('claude', { match: { token: T2 }, action: { status: 401 } });
    await stack.mocks.control.addRule('claude', { match: { token: T2 }, action: { status: 503 } });
    await ask(stack.relay, '/v1/messages', claudeBody());
    const state = async () => Object.fromEntries((await admin(stack!.relay, 'GET', '/admin/state')).json.endpoints.map((e: { name: string }) => [e.name, e]));
    expect((await state())['two-a'].authFailures).toBe(1);

    expect((await admin(stack.relay, 'POST', '/admin/state/reset', { endpoints: ['nope'] })).status).toBe(404);
    expect((await admin(stack.relay, 'POST', '/admin/state/reset', { endpoints: ['two-a'] })).status).toBe(200);
    let s = await state();
    expect(s['two-a']).toMatchObject({ authFailures: 0, cooldown: null, breaker: 'closed' });
    expect(s['one-a'].cooldown).toMatchObject({ scope: 'channel' });

    expect((await admin(stack.relay, 'POST', '/admin/state/reset', {})).json).toMatchObject({ reset: 'all' });
    s = await state();
    expect(s['one-a'].cooldown).toBeNull();
  });
});
