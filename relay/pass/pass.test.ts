import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { TestClock } from '../../lib/clock.js';
import { startMocks, type MockFleet, type UpstreamConfig } from '../../mocks/index.js';
import { parseBillingConfig, type BillingConfigInput } from '../billing/config.js';
import { costOf } from '../billing/prices.js';
import { LedgerBilling } from '../billing/service.js';
import { EmbeddedLedgerStore } from '../billing/ledger-embedded.js';
import { FreeBilling } from '../billing/types.js';
import { ConfigHolder } from '../config/holder.js';
import { parseRelayConfig } from '../config/load.js';
import { compileConfig } from '../config/model.js';
import { relayConfigSchema, type RelayConfig } from '../config/schema.js';
import { createClientHandler } from '../pipeline/handler.js';
import type { RelayRuntime } from '../pipeline/runtime.js';
import { UpstreamPools } from '../proxy/pools.js';
import { StatsCollector } from '../proxy/stats.js';
import { DEFAULT_LIMITS } from '../service/limits.js';
import { MemoryLiveState, openRecordStore } from '../state/index.js';
import type { PassConfigInput } from './config.js';
import { openPass, type OpenedPass } from './index.js';

const KEY = 'rk-alice-0123456789';
const POOR = 'rk-poor-0123456789';
const TOKEN = 'cp-channel-token-0001';

interface Stack {
  fleet: MockFleet;
  pass: OpenedPass;
  billing: LedgerBilling;
  clock: TestClock;
  url: string;
  server: Server;
  rt: RelayRuntime;
}

let stack: Stack | undefined;
afterEach(async () => {
  if (!stack) return;
  await stack.pass.close();
  await new Promise((r) => stack!.server.close(r));
  await stack.rt.pools.close();
  await stack.fleet.close();
  stack = undefined;
});

const silent = { info() {}, warn() {}, error() {} };

/** The relay's own pipeline (authenticate, limits, plan, attempt loop, request log) with the pass routes, on in-memory stores. */
async function start(
  opts: {
    upstream?: Partial<UpstreamConfig>;
    /** More custom-pass mocks (named), e.g. a second endpoint to fail over to. */
    more?: Array<Partial<UpstreamConfig> & { name: string }>;
    pass?: PassConfigInput;
    billing?: Partial<BillingConfigInput>;
    relay?: (m: MockFleet) => Partial<RelayConfig>;
  } = {},
): Promise<Stack> {
  const clock = new TestClock();
  const more = (opts.more ?? []).map((u) => ({ kind: 'custom-pass' as const, tokens: [TOKEN], seed: 5, ...u }));
  const fleet = await startMocks({ upstreams: [{ name: 'pass-a', kind: 'custom-pass', tokens: [TOKEN], seed: 5, ...opts.upstream }, ...more] }, { clock });
  const url0 = fleet.get('pass-a').url;
  const records = await openRecordStore({});
  const holder = await ConfigHolder.open(
    parseRelayConfig({
      channels: [{ name: 'pass', endpoints: [{ name: 'P1', type: 'custom-pass', base_url: url0, token: TOKEN }] }],
      keys: [{ key: KEY, name: 'alice' }, { key: POOR, name: 'poor' }],
      ...opts.relay?.(fleet),
    }),
    records,
    clock,
  );
  const billing = new LedgerBilling({
    store: new EmbeddedLedgerStore(),
    settings: parseBillingConfig({ balances: { alice: 10, poor: '0.000001' }, prices: { 'video-gen': { input: 2, output: 8 }, 'img-*': { per_call: 0.04 } }, ...opts.billing }, {}),
    clock,
  });
  await billing.init();
  const pools = new UpstreamPools();
  const pass = await openPass({ config: opts.pass ?? {}, clock, relay: () => holder.current, billing, startPoller: false, env: {}, pools });
  const rt: RelayRuntime = {
    holder, live: new MemoryLiveState(), records, billing: new FreeBilling(), clock, pools, stats: new StatsCollector(), logger: silent,
    refreshToken: async () => undefined, maxBodyBytes: DEFAULT_LIMITS.maxBodyBytes, pass,
  };
  const server = createServer(createClientHandler(rt));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stack = { fleet, pass, billing, clock, url, server, rt };
  return stack;
}

async function post(s: Stack, path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await request(s.url + path, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.statusCode, json: (await res.body.json()) as any };
}
async function get(s: Stack, path: string, key = KEY) {
  const res = await request(s.url + path, { headers: { authorization: `Bearer ${key}` } });
  return { status: res.statusCode, json: (await res.body.json()) as any };
}
const balance = (s: Stack) => s.billing.store.balance('alice');

describe('custom-pass sync', () => {
  it('passes query and body through with the channel token, and settles on the envelope usage', async () => {
    const s = await start({ pass: { user_token_header: 'X-Forwarded-User-Token' } });
    const r = await post(s, '/pass/video-gen?quality=hd&seed=7', { prompt: 'a cat', max_tokens: 50 }, { 'x-user-token': 'user-tok-42' });
    expect(r.status).toBe(200);
    expect(r.json.code).toBe(0);
    const [entry] = s.fleet.journal.list({ upstream: 'pass-a' });
    expect(entry.path).toBe('/video-gen');
    expect(entry.query).toEqual({ quality: 'hd', seed: '7' });
    expect(entry.body).toEqual({ prompt: 'a cat', max_tokens: 50 });
    expect(entry.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(entry.headers['x-forwarded-user-token']).toBe('user-tok-42');
    expect(JSON.stringify(entry.headers)).not.toContain(KEY);
    const price = s.billing.priceFor('video-gen')!;
    const cost = costOf(price, entry.usage!).total;
    expect(cost).toBeGreaterThan(0);
    expect(await balance(s)).toBe(10_000_000 - cost);
    const rows = await s.billing.store.ledger({ keyName: 'alice', kinds: ['settle'] });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ cost, endpoint: 'P1', model: 'video-gen', rule: 'success' });
  });

  it('never forwards the relay key, even when the client puts it in the user-token header', async () => {
    const s = await start({ pass: { user_token_header: 'x-forwarded-user-token' } });
    await post(s, '/pass/video-gen', { prompt: 'x' }, { 'x-user-token': KEY });
    const [entry] = s.fleet.journal.list({ upstream: 'pass-a' });
    expect(JSON.stringify(entry.headers)).not.toContain(KEY);
  });

  it('refunds in full when the upstream fails, and passes its error through', async () => {
    const s = await start({ upstream: { rules: [{ match: { path: '/video-gen' }, action: { status: 400, message: 'bad prompt' } }] } });
    const r = await post(s, '/pass/video-gen', { prompt: 'x' });
    expect(r.status).toBe(400);
    expect(r.json.message).toBe('bad prompt');
    expect(await balance(s)).toBe(10_000_000);
    const rows = await s.billing.store.ledger({ keyName: 'alice', kinds: ['precharge', 'refund'] });
    expect(rows.map((x) => x.kind)).toEqual(['precharge', 'refund']);
  });

  it('refuses a key whose balance cannot cover the reservation before calling upstream', async () => {
    const s = await start();
    const res = await request(s.url + '/pass/video-gen', { method: 'POST', headers: { authorization: `Bearer ${POOR}` }, body: JSON.stringify({ prompt: 'x' }) });
    expect(res.statusCode).toBe(403);
    expect(((await res.body.json()) as any).message).toMatch(/insufficient balance/);
    expect(s.fleet.journal.list({ upstream: 'pass-a' })).toHaveLength(0);
  });

  it('asks the upstream for the estimate when upstream_precharge is on', async () => {
    const s = await start({ pass: { upstream_precharge: true } });
    await post(s, '/pass/video-gen?q=1', { prompt: 'x' });
    const entries = s.fleet.journal.list({ upstream: 'pass-a' });
    expect(entries.map((e) => e.query)).toEqual([{ q: '1', precharge: 'true' }, { q: '1' }]);
    const pre = (await s.billing.store.ledger({ kinds: ['precharge'] }))[0];
    // the mock's estimate: 4 input tokens ({"prompt":"x"} / 4) and its configured 16 output tokens
    // at $2/$8 per M; the local estimate would reserve 4096 output tokens instead
    expect(pre.amount).toBe(4 * 2 + 16 * 8);
  });

  it('bills per call or not at all by channel strategy', async () => {
    const s = await start({ pass: { channels: { pass: { billing: 'call', per_call: '0.5' } } } });
    await post(s, '/pass/video-gen', { prompt: 'x' });
    expect(await balance(s)).toBe(9_500_000);
    await stack!.pass.close();
    await new Promise((r) => stack!.server.close(r));
    await stack!.rt.pools.close();
    await stack!.fleet.close();
    const f = await start({ pass: { default_billing: 'free' } });
    await post(f, '/pass/video-gen', { prompt: 'x' });
    expect(await balance(f)).toBe(10_000_000);
    expect((await f.billing.stats()).byKey.alice).toMatchObject({ requests: 1, cost: 0 });
  });

  it('answers bad input in the envelope shape without crashing', async () => {
    const s = await start();
    const res = await request(s.url + '/pass/video-gen', { method: 'POST', headers: { authorization: `Bearer ${KEY}` }, body: '{not json' });
    expect(res.statusCode).toBe(400);
    expect(await res.body.json()).toMatchObject({ code: 400, data: null });
    expect((await get(s, '/pass/tasks/nope')).status).toBe(404);
    expect((await post(s, '/pass/video-gen', {}, { authorization: 'Bearer wrong-key-123' })).status).toBe(401);
    expect((await post(s, '/pass/unknown-model', {})).status).toBe(403);
  });
});

describe('custom-pass async', () => {
  it('submits, reserves, polls in the background and settles on success without the client asking', async () => {
    const s = await start({ upstream: { custom_pass: { queued_for: 1000, running_for: 2000, fail_ratio: 0 } } });
    const r = await post(s, '/pass/video-gen/submit?res=4k', { prompt: 'a cat', max_tokens: 64 });
    expect(r.status).toBe(200);
    const id = r.json.data.task_id as string;
    expect(id).toMatch(/^pt_/);
    expect(r.json.data.status).toBe('queued');
    const reserved = 10_000_000 - (await balance(s))!;
    expect(reserved).toBeGreaterThan(0);

    await s.clock.advance(1500);
    expect(await s.pass.poller.pollOnce()).toMatchObject({ polled: 1, settled: 0 });
    expect((await get(s, `/pass/tasks/${id}`)).json.data.status).toBe('running');

    await s.clock.advance(2000);
    expect(await s.pass.poller.pollOnce()).toMatchObject({ polled: 1, settled: 1 });
    const submitEntry = s.fleet.journal.list({ upstream: 'pass-a' }).find((e) => e.path === '/video-gen/submit')!;
    expect(submitEntry.query).toEqual({ res: '4k' });
    const cost = costOf(s.billing.priceFor('video-gen')!, submitEntry.usage!).total;
    expect(await balance(s)).toBe(10_000_000 - cost);
    const view = (await get(s, `/pass/tasks/${id}`)).json.data;
    expect(view).toMatchObject({ task_id: id, status: 'succeeded', progress: '100%' });
    expect(view.usage.completion_tokens).toBe(submitEntry.usage!.outputTokens);
    // another key cannot see it; later rounds do nothing more
    expect((await get(s, `/pass/tasks/${id}`, POOR)).status).toBe(404);
    expect(await s.pass.poller.pollOnce()).toMatchObject({ polled: 0, settled: 0 });
    expect(await s.billing.store.ledger({ requestId: `task:${id}` })).toHaveLength(2);
  });

  it('refunds failed tasks', async () => {
    const s = await start({ upstream: { custom_pass: { queued_for: 10, running_for: 10, fail_ratio: 1 } } });
    const r = await post(s, '/pass/video-gen/submit', { prompt: 'x' });
    await s.clock.advance(100);
    expect(await s.pass.poller.pollOnce()).toMatchObject({ refunded: 1 });
    expect(await balance(s)).toBe(10_000_000);
    expect((await get(s, `/pass/tasks/${r.json.data.task_id}`)).json.data).toMatchObject({ status: 'failed', error: 'task failed upstream' });
  });

  it('refunds tasks that outlive the task timeout', async () => {
    const s = await start({ upstream: { custom_pass: { queued_for: '2h', running_for: 10 } }, pass: { poll: { task_timeout: '30m', interval: '1m' } } });
    s.pass.poller.start();
    const r = await post(s, '/pass/video-gen/submit', { prompt: 'x' });
    await s.clock.advance(31 * 60_000);
    await s.pass.poller.idle();
    expect(await balance(s)).toBe(10_000_000);
    const view = (await get(s, `/pass/tasks/${r.json.data.task_id}`)).json.data;
    expect(view.status).toBe('failed');
    expect(view.error).toMatch(/timed out/);
    expect((await s.billing.store.ledger({ kinds: ['refund'] }))[0].rule).toBe('task_timeout');
  });

  it('maps upstream statuses through the configured table', async () => {
    const s = await start({ upstream: { custom_pass: { queued_for: 10, running_for: 1000 } }, pass: { status_map: { running: 'failed' } } });
    await post(s, '/pass/video-gen/submit', { prompt: 'x' });
    await s.clock.advance(50);
    expect(await s.pass.poller.pollOnce()).toMatchObject({ refunded: 1 });
  });

  it('polls many tasks in batches, concurrently', async () => {
    const s = await start({ upstream: { custom_pass: { queued_for: 10, running_for: 10 } }, pass: { poll: { batch_size: 50, concurrency: 4 } } });
    const ids = await Promise.all(Array.from({ length: 120 }, () => post(s, '/pass/img-gen/submit', { prompt: 'x' }).then((r) => r.json.data.task_id)));
    expect(new Set(ids).size).toBe(120);
    expect(await balance(s)).toBe(10_000_000 - 120 * 40_000);
    await s.clock.advance(100);
    const round = await s.pass.poller.pollOnce();
    expect(round).toMatchObject({ polled: 120, queries: 3, settled: 120, failedQueries: 0 });
    expect(await balance(s)).toBe(10_000_000 - 120 * 40_000);
    expect(await s.billing.store.pending()).toEqual([]);
  });
});

describe('custom-pass orphaned task reservations', () => {
  it('refunds a task reservation no store holds once it is older than the task timeout', async () => {
    const clock = new TestClock();
    const relay = compileConfig(relayConfigSchema.parse({ keys: [{ key: KEY, name: 'alice' }] }), 1);
    const billing = new LedgerBilling({ store: new EmbeddedLedgerStore(), settings: parseBillingConfig({ balances: { alice: 1 } }, {}), clock });
    await billing.init();
    await billing.reserve({ requestId: 'task:pt_lost', keyName: 'alice', model: 'm', amount: 5000 });
    const young = await openPass({ config: { poll: { task_timeout: '1h' } }, clock, relay: () => relay, billing, startPoller: false, env: {}, pools: new UpstreamPools() });
    expect(await billing.store.balance('alice')).toBe(995_000);
    await young.close();
    await clock.advance(3_600_000);
    const later = await openPass({ config: { poll: { task_timeout: '1h' } }, clock, relay: () => relay, billing, startPoller: false, env: {}, pools: new UpstreamPools() });
    expect(await billing.store.balance('alice')).toBe(1_000_000);
    expect((await billing.store.ledger({ requestId: 'task:pt_lost', kinds: ['refund'] }))[0].rule).toBe('task_lost');
    await later.close();
  });
});

/** P1 on pass-a first, then P2 on pass-b, in one channel. */
const twoEndpoints = (m: MockFleet): RelayConfig['channels'] => [
  {
    name: 'pass',
    endpoints: [
      { name: 'P1', type: 'custom-pass', base_url: m.get('pass-a').url, token: TOKEN, priority: 0 },
      { name: 'P2', type: 'custom-pass', base_url: m.get('pass-b').url, token: TOKEN, priority: 1 },
    ],
  },
];

describe('custom-pass through the shared pipeline', () => {
  const log = async (s: Stack) => {
    await s.rt.records.flush?.();
    return s.rt.records.queryRequestLog({ limit: 50 });
  };

  it('writes every call to the request log with its attempt trail, refusals included', async () => {
    const s = await start();
    const ok = await post(s, '/pass/video-gen', { prompt: 'x' });
    expect(ok.status).toBe(200);
    await post(s, '/pass/video-gen', {}, { authorization: 'Bearer wrong-key-123' });
    const entries = await log(s);
    const served = entries.find((e) => e.status === 200)!;
    expect(served).toMatchObject({ keyName: 'alice', protocol: 'custom-pass', path: '/pass/video-gen', model: 'video-gen', outcome: 'ok' });
    expect(served.attempts).toMatchObject([{ endpoint: 'P1', channel: 'pass', status: 200 }]);
    expect(served.attempts[0].token).not.toBe(TOKEN);
    expect(entries.find((e) => e.status === 401)).toMatchObject({ outcome: 'rejected', protocol: 'custom-pass', attempts: [] });
  });

  it("obeys the key's rate limit before reading the body or calling upstream", async () => {
    const s = await start({ relay: () => ({ keys: [{ key: KEY, name: 'alice', rate_limit: { requests: 2, per: '1h' } }] }) });
    expect((await post(s, '/pass/video-gen', { prompt: 'x' })).status).toBe(200);
    expect((await post(s, '/pass/img-gen', { prompt: 'x' })).status).toBe(200);
    const third = await post(s, '/pass/video-gen', { prompt: 'x' });
    expect(third.status).toBe(429);
    expect(third.json).toMatchObject({ data: null });
    expect(third.json.message).toMatch(/rate limit of 2 requests/);
    expect(s.fleet.journal.list({ upstream: 'pass-a' })).toHaveLength(2);
    expect(await s.billing.store.pending()).toEqual([]);
  });

  it("obeys the key's model allow-list", async () => {
    const s = await start({ relay: () => ({ keys: [{ key: KEY, name: 'alice', models: ['video-gen'] }] }) });
    expect((await post(s, '/pass/video-gen', { prompt: 'x' })).status).toBe(200);
    const refused = await post(s, '/pass/img-gen/submit', { prompt: 'x' });
    expect(refused.status).toBe(403);
    expect(refused.json.message).toMatch(/may not use model "img-gen"/);
    expect(s.fleet.journal.list({ upstream: 'pass-a' }).map((e) => e.path)).toEqual(['/video-gen']);
  });

  it('fails over on a 5xx and cools the failing endpoint like any other request', async () => {
    const s = await start({
      upstream: { rules: [{ match: { path: '/video-gen' }, action: { status: 503 } }] },
      more: [{ name: 'pass-b' }],
      relay: (m) => ({ cooldowns: { server_error: '10m' }, channels: twoEndpoints(m) }),
    });
    const first = await post(s, '/pass/video-gen', { prompt: 'x' });
    expect(first.status).toBe(200);
    const second = await post(s, '/pass/video-gen', { prompt: 'y' });
    expect(second.status).toBe(200);
    // P1's first 503 was retried once on P1 (a single 5xx is a blip), the second failed over;
    // while P1 cools, the next call goes straight to P2.
    expect(s.fleet.journal.list({ upstream: 'pass-a' })).toHaveLength(2);
    expect(s.fleet.journal.list({ upstream: 'pass-b' })).toHaveLength(2);
    const [a] = await s.rt.live.readEndpoints([{ endpoint: 'P1', channel: 'pass', tokenId: s.rt.holder.current.endpoints.get('P1')!.tokenId }], s.clock.now());
    expect(a.endpointCooldown?.until).toBeGreaterThan(s.clock.now());
    const entries = await log(s);
    expect(entries.map((e) => e.attempts.map((x) => `${x.endpoint}:${x.status}`))).toEqual([['P1:503', 'P1:503', 'P2:200'], ['P2:200']]);
    // charged once per served call, on the endpoint that served it
    const settles = await s.billing.store.ledger({ keyName: 'alice', kinds: ['settle'] });
    expect(settles.map((r) => r.endpoint)).toEqual(['P2', 'P2']);
  });

  it('hands back a 4xx unchanged without failing over, and refunds', async () => {
    const s = await start({
      upstream: { rules: [{ match: { path: '/video-gen' }, action: { status: 400, message: 'bad prompt' } }] },
      more: [{ name: 'pass-b' }],
      relay: (m) => ({ channels: twoEndpoints(m) }),
    });
    const r = await post(s, '/pass/video-gen', { prompt: 'x' });
    expect(r.status).toBe(400);
    expect(r.json.message).toBe('bad prompt');
    expect(s.fleet.journal.list({ upstream: 'pass-b' })).toHaveLength(0);
    expect(await balance(s)).toBe(10_000_000);
  });
});
