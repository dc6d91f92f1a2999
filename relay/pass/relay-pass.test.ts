/** The custom-pass channel inside the reference relay: routes mounted, poller on the relay clock. */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClock } from '../../lib/clock.js';
import { startMocks, type MockFleet } from '../../mocks/index.js';
import { startRelay, type RunningRelay } from '../index.js';

const KEY = 'rk-alice-0123456789';

describe('custom-pass through the reference relay', () => {
  let fleet: MockFleet;
  let relay: RunningRelay;
  const clock = new TestClock();

  beforeAll(async () => {
    fleet = await startMocks({ upstreams: [{ name: 'pass-a', kind: 'custom-pass', tokens: ['cp-token-0001'], custom_pass: { queued_for: '10s', running_for: '20s' } }] }, { clock });
    relay = await startRelay({
      clock,
      logLevel: 'silent',
      healthChecks: false,
      config: {
        health: { enabled: false },
        channels: [{ name: 'pass', endpoints: [{ name: 'P', type: 'custom-pass', base_url: fleet.get('pass-a').url, token: 'cp-token-0001' }] }],
        keys: [{ key: KEY, name: 'alice' }],
        billing: { balances: { alice: 1 }, prices: { 'video-gen': { per_call: '0.1' } } },
        pass: { default_billing: 'call', poll: { interval: '5s' } },
      },
    });
  });
  afterAll(async () => {
    await relay?.close();
    await fleet?.close();
  });

  const call = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const res = await request(relay.url + path, { method, headers: { authorization: `Bearer ${KEY}` }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.statusCode, json: (await res.body.json()) as any };
  };
  const balance = async () => {
    const res = await request(relay.adminUrl + '/admin/billing/balances', { headers: { authorization: `Bearer ${relay.adminToken}` } });
    return ((await res.body.json()) as any).balances.find((b: any) => b.keyName === 'alice').balance as number;
  };

  it('serves sync calls and settles async tasks in the background on the relay clock', async () => {
    const sync = await call('POST', '/pass/video-gen?size=small', { prompt: 'x' });
    expect(sync.status).toBe(200);
    expect(fleet.journal.list({ upstream: 'pass-a' })[0].query).toEqual({ size: 'small' });
    expect(await balance()).toBe(900_000);

    const submitted = await call('POST', '/pass/video-gen/submit', { prompt: 'y' });
    expect(submitted.status).toBe(200);
    const id = submitted.json.data.task_id;
    expect(await balance()).toBe(800_000);
    // the poller runs on its own on the relay's clock; the client only looks
    await clock.advance(30_000);
    let status = '';
    for (let i = 0; i < 40 && status !== 'succeeded'; i++) {
      await clock.advance(5_000);
      status = (await call('GET', `/pass/tasks/${id}`)).json.data.status;
    }
    expect(status).toBe('succeeded');
    expect(await balance()).toBe(800_000);
    const ledger = await request(relay.adminUrl + '/admin/billing/ledger?key=alice', { headers: { authorization: `Bearer ${relay.adminToken}` } });
    const rows = ((await ledger.body.json()) as any).rows as Array<{ requestId: string; kind: string; rule?: string }>;
    expect(rows.filter((r) => r.requestId === `task:${id}`).map((r) => [r.kind, r.rule ?? null])).toEqual([['precharge', null], ['settle', 'task_succeeded']]);
  });
});
