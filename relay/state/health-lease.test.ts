/**
 * Two relays on one Redis run one health round per interval between them (a lease in LiveState),
 * not one each. The same pair on in-memory stores is the control: there each relay probes.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { TestClock } from '../../lib/clock.js';
import { startMocks, type MockFleet } from '../../mocks/index.js';
import type { RelayConfig } from '../config/schema.js';
import { startRelay, type RunningRelay } from '../server.js';
import { CLIENT_KEY } from '../testing.js';
import { dropStatePrefix } from './test-backends.js';

const TOKEN = 'sk-ant-api03-lease-00000000000001';
const redisUrl = process.env.REDIS_URL;

let fleet: MockFleet | undefined;
let relays: RunningRelay[] = [];
let prefix: string | undefined;
afterEach(async () => {
  for (const r of relays) await r.close();
  relays = [];
  await fleet?.close();
  fleet = undefined;
  if (prefix) await dropStatePrefix(prefix, { redisUrl });
  prefix = undefined;
});

async function waitFor(cond: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met within 3s');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function probesAfterThreeRounds(shared: { redisUrl?: string }): Promise<number> {
  fleet = await startMocks({ upstreams: [{ name: 'claude', kind: 'claude', tokens: [TOKEN] }] });
  const config: RelayConfig = {
    health: { enabled: true, interval: '10s' },
    keys: [{ key: CLIENT_KEY, name: 'tester' }],
    channels: [{ name: 'main', endpoints: [{ name: 'A', type: 'claude', base_url: fleet.get('claude').url, token: TOKEN }] }],
  };
  const clock = new TestClock();
  prefix = `t_lease_${randomBytes(4).toString('hex')}`;
  for (let i = 0; i < 2; i++) relays.push(await startRelay({ config, clock, statePrefix: prefix, ...shared }));
  const probes = async () => (await fleet!.control.journal({ path: '/v1/models' })).length;
  const settle = () => new Promise((r) => setTimeout(r, 100));
  await waitFor(async () => (await probes()) >= 1);
  for (let round = 0; round < 2; round++) {
    await settle();
    await clock.advance(10_000);
  }
  await settle();
  return probes();
}

describe('health rounds among relays', () => {
  it('control: two relays on in-memory stores each probe every interval', async () => {
    expect(await probesAfterThreeRounds({})).toBe(6);
  });

  it.runIf(redisUrl)('two relays on one Redis probe once per interval between them', async () => {
    expect(await probesAfterThreeRounds({ redisUrl })).toBe(3);
  });
});
