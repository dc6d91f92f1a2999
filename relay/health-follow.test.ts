/** Health checks turned on through PUT /admin/config start probing without a restart. */
import { afterEach, describe, expect, it } from 'vitest';
import { TestClock } from '../lib/clock.js';
import type { MockFleet } from '../mocks/index.js';
import { admin, startStack, type TestStack } from './testing.js';

const TOKEN = 'sk-ant-api03-health-follow-000001';
let stack: TestStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function waitFor(cond: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met within 3s');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('health checker follows the admin config', () => {
  it('starts when PUT /admin/config turns health on, stops when it turns it off', async () => {
    const clock = new TestClock();
    stack = await startStack(
      { upstreams: [{ name: 'claude', kind: 'claude', tokens: [TOKEN] }] },
      (m: MockFleet) => ({
        health: { enabled: false, interval: '10s' },
        channels: [{ name: 'main', endpoints: [{ name: 'A', type: 'claude', base_url: m.get('claude').url, token: TOKEN }] }],
      }),
      { clock, healthChecks: undefined },
    );
    const probes = async () => (await stack!.mocks.control.journal({ path: '/v1/models' })).length;
    // The mock records a probe when it arrives; the round ends after the relay stored its result.
    // A tick during a running round is skipped, so the clock moves only once the round is over.
    const roundOver = async () => (await admin(stack!.relay, 'GET', '/admin/state')).json.endpoints[0].health === 'healthy';
    await clock.advance(30_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(await probes()).toBe(0);

    const config = (await admin(stack.relay, 'GET', '/admin/config')).json.config;
    expect((await admin(stack.relay, 'PUT', '/admin/config', { ...config, health: { ...config.health, enabled: true } })).status).toBe(200);
    await waitFor(async () => (await probes()) === 1 && (await roundOver()));
    await clock.advance(10_000);
    await waitFor(async () => (await probes()) === 2);

    await admin(stack.relay, 'PUT', '/admin/config', { ...config, health: { ...config.health, enabled: false } });
    await clock.advance(60_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(await probes()).toBe(2);
  });
});
