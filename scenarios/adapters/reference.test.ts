/** The reference adapter starts every scenario on a clean relay: state reset, the clock left alone. */
import { afterEach, describe, expect, it } from 'vitest';
import { TestClock } from '../../lib/clock.js';
import type { RelayConfig } from '../../relay/config/schema.js';
import { startRelay, type RunningRelay } from '../../relay/index.js';
import { call } from '../../relay/testing.js';
import { portableLayout } from '../engine/portable-layout.js';
import type { ScenarioLayout } from '../engine/schema.js';
import { referenceAdapter } from './reference.js';

let relay: RunningRelay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

const layout: RelayConfig = {
  health: { enabled: false },
  channels: [{ name: 'main', endpoints: [{ name: 'A', type: 'claude', base_url: 'http://127.0.0.1:9', token: 'sk-ant-api03-adapter-A' }] }],
  keys: [{ key: 'rk-adapter-client-0001', name: 'client' }],
};

describe('reference adapter', () => {
  it('resets the relay\u2019s live state before a scenario instead of moving its clock 60 days', async () => {
    const clock = new TestClock(1_000_000);
    relay = await startRelay({ config: layout, clock, healthChecks: false });
    const adminCall = (method: string, path: string, body?: unknown) => call(relay!.adminUrl, method, path, body, { authorization: `Bearer ${relay!.adminToken}` });
    await adminCall('POST', '/admin/channels/main/cooldown', { for: '1h' });
    expect((await adminCall('GET', '/admin/state')).json.endpoints[0].cooldown).not.toBeNull();

    const configured = await referenceAdapter({ target: relay.url, adminUrl: relay.adminUrl, adminToken: relay.adminToken }).configure(portableLayout('t', layout as ScenarioLayout, []), {
      scenario: 't',
      log: () => undefined,
    });
    expect(configured?.capabilities?.clock).toBeUndefined();
    expect((await adminCall('GET', '/admin/state')).json.endpoints[0].cooldown).toBeNull();
    // One millisecond on, past the last scenario's ledger rows, not the 60 days of a relay without a reset.
    expect(clock.now()).toBe(1_000_001);
  });
});
