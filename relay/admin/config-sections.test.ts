/**
 * PUT /admin/config is the whole layout, billing and custom-pass sections included: a relay
 * configured over HTTP behaves as one started with the same file. Restart and a full state reset
 * are what a long-lived relay under test needs between scenarios.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestClock } from '../../lib/clock.js';
import { startRelay, type RunningRelay } from '../index.js';
import { call } from '../testing.js';

let relay: RunningRelay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

const adminCall = (method: string, path: string, body?: unknown) => call(relay!.adminUrl, method, path, body, { authorization: `Bearer ${relay!.adminToken}` });
const keys = [{ key: 'rk-sections-alice-0001', name: 'alice' }];

describe('PUT /admin/config with billing and pass sections', () => {
  it('applies new balances and prices, and a layout without billing makes requests free', async () => {
    relay = await startRelay({ config: { health: { enabled: false }, billing: { prices: {}, unpriced_models: 'free' } }, clock: new TestClock() });
    const priced = { keys, billing: { balances: { alice: '2.50' }, unpriced_models: 'reject', prices: { 'claude-*': { input: 3, output: 15 } } } };
    expect((await adminCall('PUT', '/admin/config', priced)).status).toBe(200);
    const balances = (await adminCall('GET', '/admin/billing/balances')).json.balances;
    expect(balances).toEqual([expect.objectContaining({ keyName: 'alice', balance: 2_500_000 })]);
    expect((await adminCall('GET', '/admin/billing/prices')).json.models).toHaveProperty('claude-*');
    // An unpriced model is refused under that billing section ...
    const refused = await call(relay.url, 'POST', '/v1/messages', { model: 'gpt-x', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }, { 'x-api-key': keys[0].key, 'anthropic-version': '2023-06-01' });
    expect(refused.status).toBe(403);
    // ... and not metered at all once the layout says `billing: null` (no channel, so a 503 instead).
    expect((await adminCall('PUT', '/admin/config', { keys, billing: null })).status).toBe(200);
    const free = await call(relay.url, 'POST', '/v1/messages', { model: 'gpt-x', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }, { 'x-api-key': keys[0].key, 'anthropic-version': '2023-06-01' });
    expect(free.status).not.toBe(403);
  });

  it('refuses a billing section a relay started without billing cannot apply, and changes nothing', async () => {
    relay = await startRelay({ config: { health: { enabled: false } }, clock: new TestClock() });
    const res = await adminCall('PUT', '/admin/config', { keys, billing: { balances: { alice: 1 } } });
    expect(res.status).toBe(409);
    expect(JSON.stringify(res.json)).toContain('started without a billing section');
    expect((await adminCall('GET', '/admin/config')).json.config.keys).toEqual([]);
  });

  it('offers POST /admin/restart only when its owner can restart it', async () => {
    let restarts = 0;
    relay = await startRelay({ config: { health: { enabled: false } }, clock: new TestClock(), restart: () => restarts++ });
    expect((await adminCall('POST', '/admin/restart', { dry_run: true })).json).toEqual({ restart: 'available' });
    expect(restarts).toBe(0);
    expect((await adminCall('POST', '/admin/restart')).status).toBe(202);
    await new Promise((r) => setImmediate(r));
    expect(restarts).toBe(1);
    await relay.close();
    relay = await startRelay({ config: { health: { enabled: false } }, clock: new TestClock() });
    expect((await adminCall('POST', '/admin/restart', { dry_run: true })).status).toBe(501);
  });
});
