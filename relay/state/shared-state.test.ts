/**
 * Two relays on one Redis + one MySQL behave as one: a session bound by relay 1 stays on its
 * endpoint when relay 2 serves it, and a cooldown set by relay 1 routes relay 2's next request
 * elsewhere. The relays are two in-process instances with their own stores, connection pools and
 * HTTP servers; only Redis and MySQL connect them. The same two relays on in-memory stores are
 * the control: there, nothing is shared (which is what makes the first test able to fail).
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { TestClock } from '../../lib/clock.js';
import { startMocks, type MockFleet } from '../../mocks/index.js';
import type { RelayConfig } from '../config/schema.js';
import { startRelay, type RunningRelay } from '../server.js';
import { admin, ask, claudeBody, CLIENT_KEY } from '../testing.js';
import { dropStatePrefix } from './test-backends.js';

const TOKEN_A = 'sk-ant-api03-shared-A-000000000001';
const TOKEN_B = 'sk-ant-api03-shared-B-000000000002';
const redisUrl = process.env.REDIS_URL;
const mysqlUrl = process.env.MYSQL_URL;

let fleet: MockFleet | undefined;
let relays: RunningRelay[] = [];
let prefixes: string[] = [];
afterEach(async () => {
  for (const r of relays) await r.close();
  relays = [];
  await fleet?.close();
  fleet = undefined;
  for (const p of prefixes) await dropStatePrefix(p, { redisUrl, mysqlUrl });
  prefixes = [];
});

function layout(m: MockFleet, priorities: [number, number]): RelayConfig {
  return {
    strategy: 'priority',
    health: { enabled: false },
    keys: [{ key: CLIENT_KEY, name: 'tester' }],
    channels: [
      {
        name: 'main',
        endpoints: [
          { name: 'A', type: 'claude', base_url: m.get('claude').url, token: TOKEN_A, priority: priorities[0] },
          { name: 'B', type: 'claude', base_url: m.get('claude').url, token: TOKEN_B, priority: priorities[1] },
        ],
      },
    ],
  };
}

/** Two relays with one clock (processes on synchronised hosts) and, if given, one Redis + MySQL. */
async function twoRelays(priorities: [number, number], shared: { redisUrl?: string; mysqlUrl?: string }) {
  fleet = await startMocks({ upstreams: [{ name: 'claude', kind: 'claude', tokens: [TOKEN_A, TOKEN_B], output: { tokens: 4 } }] });
  const clock = new TestClock();
  const statePrefix = `t_shared_${randomBytes(4).toString('hex')}`;
  prefixes.push(statePrefix);
  for (let i = 0; i < 2; i++) {
    relays.push(
      await startRelay({ config: layout(fleet, priorities), clock, statePrefix, healthChecks: false, ...shared }),
    );
  }
  return { relay1: relays[0], relay2: relays[1], mocks: fleet, clock };
}

/** A second pair on memory stores (the first pair is closed first). */
async function twoRelaysAgain(priorities: [number, number]) {
  for (const r of relays) await r.close();
  relays = [];
  await fleet?.close();
  return twoRelays(priorities, {});
}

const session = (id: string) => ({ 'x-claude-code-session-id': id });

async function credentialsOf(mocks: MockFleet): Promise<string[]> {
  return (await mocks.control.journal({ path: '/v1/messages' })).map((e) => e.credential as string);
}

/**
 * For each session: A (priority 1) is rate limited by a request without a session, so relay 1
 * serves the session from B and binds it there (routing chose B: a plain binding, not one a
 * failover moved, which would go back to A). Once A's cooldown is over, relay 2 serves the
 * session three times: with a shared binding it stays on B; with its own memory it would take
 * A, the first by priority. Returns how many sessions stayed on B.
 */
async function sessionsFollowed(relay1: RunningRelay, relay2: RunningRelay, mocks: MockFleet, clock: TestClock): Promise<number> {
  let followed = 0;
  for (let s = 0; s < 3; s++) {
    await mocks.control.resetJournal();
    await mocks.control.addRule('claude', { match: { token: TOKEN_A, path: '/v1/messages' }, times: 1, action: { status: 429, retry_after: 30 } });
    expect((await ask(relay1, '/v1/messages', claudeBody())).status).toBe(200);
    expect((await ask(relay1, '/v1/messages', claudeBody(), session(`conv-${s}`))).status).toBe(200);
    expect(await credentialsOf(mocks)).toEqual([TOKEN_A, TOKEN_B, TOKEN_B]);
    await clock.advance(31_000);
    await mocks.control.resetJournal();
    for (let i = 0; i < 3; i++) {
      expect((await ask(relay2, '/v1/messages', claudeBody(), session(`conv-${s}`))).status).toBe(200);
    }
    if ((await credentialsOf(mocks)).every((c) => c === TOKEN_B)) followed++;
  }
  return followed;
}

async function cooldownShared(relay1: RunningRelay, relay2: RunningRelay, mocks: MockFleet): Promise<string[]> {
  // A answers relay 1 with one 429 (retry-after 30 s): relay 1 cools A and fails over to B.
  await mocks.control.addRule('claude', { match: { token: TOKEN_A, path: '/v1/messages' }, times: 1, action: { status: 429, retry_after: 30 } });
  expect((await ask(relay1, '/v1/messages', claudeBody())).status).toBe(200);
  expect(await credentialsOf(mocks)).toEqual([TOKEN_A, TOKEN_B]);
  await mocks.control.resetJournal();
  // A is fine again, but relay 2 must still skip it: the cooldown is shared.
  expect((await ask(relay2, '/v1/messages', claudeBody())).status).toBe(200);
  return credentialsOf(mocks);
}

describe.runIf(redisUrl && mysqlUrl)('two relays on one Redis and one MySQL', () => {
  it('share sticky bindings: a session bound through relay 1 stays on its endpoint through relay 2', async () => {
    const { relay1, relay2, mocks, clock } = await twoRelays([1, 2], { redisUrl, mysqlUrl });
    expect(await sessionsFollowed(relay1, relay2, mocks, clock)).toBe(3);
    // And a new session on relay 2 goes to A: B was only the binding, not a lasting preference.
    await mocks.control.resetJournal();
    expect((await ask(relay2, '/v1/messages', claudeBody(), session('conv-new'))).status).toBe(200);
    expect(await credentialsOf(mocks)).toEqual([TOKEN_A]);
  });

  it('share cooldowns: a cooldown set by relay 1 routes relay 2 elsewhere until it ends', async () => {
    const { relay1, relay2, mocks, clock } = await twoRelays([1, 2], { redisUrl, mysqlUrl });
    expect(await cooldownShared(relay1, relay2, mocks)).toEqual([TOKEN_B]);

    // After the cooldown (virtual time), relay 2 goes back to A.
    await clock.advance(30_001);
    await mocks.control.resetJournal();
    expect((await ask(relay2, '/v1/messages', claudeBody())).status).toBe(200);
    expect(await credentialsOf(mocks)).toEqual([TOKEN_A]);
  });

  it('share the request log: relay 2 lists what relay 1 served', async () => {
    const { relay1, relay2 } = await twoRelays([1, 2], { redisUrl, mysqlUrl });
    const first = await ask(relay1, '/v1/messages', claudeBody());
    const id = first.headers['x-request-id'];
    // Relay 1 writes its log in batches (every 200 ms): across processes the log is eventually shared.
    const deadline = Date.now() + 3000;
    let ids: string[] = [];
    while (!ids.includes(id as string) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      ids = ((await admin(relay2, 'GET', '/admin/requests?limit=10')).json as Array<{ requestId: string }>).map((e) => e.requestId);
    }
    expect(ids).toContain(id);
  });
});

describe('control: two relays on in-memory stores share nothing', () => {
  it('relay 2 neither knows relay 1\u2019s cooldown nor its bindings', async () => {
    const { relay1, relay2, mocks } = await twoRelays([1, 2], {});
    expect(await cooldownShared(relay1, relay2, mocks)).toEqual([TOKEN_A]);
    const again = await twoRelaysAgain([1, 2]);
    expect(await sessionsFollowed(again.relay1, again.relay2, again.mocks, again.clock)).toBe(0);
  });
});
