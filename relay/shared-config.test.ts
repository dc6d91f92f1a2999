/**
 * Two relays on one MySQL: an admin edit made through one (a token change, a pause) reaches the
 * other within its sync interval; an edit made against a version the other relay has since moved
 * past is refused with 409 and the current version. Without MySQL each relay keeps its own
 * records: nothing to share.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestClock } from '../lib/clock.js';
import { startMocks, type MockFleet } from '../mocks/index.js';
import type { RelayConfig } from './config/schema.js';
import { startRelay, type RunningRelay } from './server.js';
import { admin, ask, claudeBody, CLIENT_KEY } from './testing.js';

const mysqlUrl = process.env.MYSQL_URL;
const OLD = 'sk-ant-api03-shared-old-000001';
const NEW = 'sk-ant-api03-shared-new-000002';

let fleet: MockFleet | undefined;
const relays: RunningRelay[] = [];
afterEach(async () => {
  for (const r of relays.splice(0)) await r.close();
  await fleet?.close();
  fleet = undefined;
});

const layout = (m: MockFleet): RelayConfig => ({
  keys: [{ key: CLIENT_KEY, name: 'tester' }],
  channels: [{ name: 'main', endpoints: [{ name: 'A', type: 'claude', base_url: m.get('claude').url, token: OLD }] }],
});

describe.runIf(mysqlUrl)('two relays on one MySQL share admin edits', () => {
  it('a token changed through relay 1 is used by relay 2 after its sync interval', async () => {
    fleet = await startMocks({ upstreams: [{ name: 'claude', kind: 'claude', tokens: [OLD, NEW] }] });
    const clock = new TestClock();
    const statePrefix = `sc${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const shared = { clock, statePrefix, mysqlUrl, redisUrl: process.env.REDIS_URL, healthChecks: false };
    relays.push(await startRelay({ config: layout(fleet), ...shared }));
    relays.push(await startRelay({ config: layout(fleet), ...shared }));
    const [one, two] = relays;

    expect((await ask(two, '/v1/messages', claudeBody())).status).toBe(200);
    expect((await admin(one, 'PATCH', '/admin/endpoints/A', { token: NEW })).status).toBe(200);
    await clock.advance(2_000);
    // The first request after the interval starts the refresh; the change applies from the next ones.
    await ask(two, '/v1/messages', claudeBody());
    for (let i = 0; i < 20; i++) {
      const state = (await admin(two, 'GET', '/admin/config')).json;
      if (state.version > 1) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    await fleet.control.resetJournal();
    await ask(two, '/v1/messages', claudeBody());
    expect((await fleet.control.journal()).map((e) => e.credential)).toEqual([NEW]);
  });

  it('an edit made against a version the other relay moved past is refused with 409 and the current version', async () => {
    fleet = await startMocks({ upstreams: [{ name: 'claude', kind: 'claude', tokens: [OLD, NEW] }] });
    const statePrefix = `sv${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const shared = { clock: new TestClock(), statePrefix, mysqlUrl, redisUrl: process.env.REDIS_URL, healthChecks: false };
    relays.push(await startRelay({ config: layout(fleet), ...shared }));
    relays.push(await startRelay({ config: layout(fleet), ...shared }));
    const [one, two] = relays;
    const seen = await admin(two, 'GET', '/admin/config');
    const v = seen.json.version as number;
    expect(seen.headers.etag).toBe(`"${v}"`);
    expect((await admin(one, 'PATCH', '/admin/endpoints/A', { token: NEW }, { 'if-match': `"${v}"` })).json).toEqual({ version: v + 1 });
    // Relay two has not synced yet: its admin still holds version v.
    const stale = await admin(two, 'PATCH', '/admin/endpoints/A', { token: OLD }, { 'if-match': `"${v}"` });
    expect(stale.status).toBe(409);
    expect(stale.json).toMatchObject({ version: v + 1 });
    const put = await admin(two, 'PUT', '/admin/config', { version: v, config: { ...seen.json.config, strategy: 'fastest' } });
    expect(put.status).toBe(409);
    // Against the current version the edit goes through, on top of relay one's token change.
    const current = await admin(two, 'GET', '/admin/config');
    expect(current.json.version).toBe(v + 1);
    expect((await admin(two, 'PUT', '/admin/config', { version: v + 1, config: { ...current.json.config, strategy: 'fastest' } })).json).toEqual({ version: v + 2 });
    await fleet.control.resetJournal();
    await ask(two, '/v1/messages', claudeBody());
    expect((await fleet.control.journal()).map((e) => e.credential)).toEqual([NEW]);
  });
});
