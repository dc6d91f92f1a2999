import Fastify from 'fastify';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TestClock } from '../../lib/clock.js';
import type { RequestInfo, Usage } from '../../protocols/types.js';
import { billingAdminRoutes } from './admin-routes.js';
import { parseBillingConfig, type BillingConfigInput } from './config.js';
import { openBilling } from './index.js';
import type { LedgerStore } from './ledger.js';
import { LedgerBilling } from './service.js';
import { ledgerTotalsByKey } from './stats.js';
import { ledgerBackends } from './test-backends.js';

const CONFIG: BillingConfigInput = {
  balances: { alice: '1.00', poor: '0.001' },
  prices: {
    'claude-sonnet-4-5': { input: 3, output: 15, cache_write: 3.75, cache_read: 0.3 },
    'gpt-4o-mini': { input: 0.15, output: 0.6 },
    'pass-*': { per_call: 0.01 },
    'free-model': 'free',
  },
};

function info(estimatedInputTokens: number, maxOutputTokens?: number): RequestInfo {
  return { model: undefined, stream: false, maxOutputTokens, estimatedInputTokens, includeUsage: false, hasTools: false };
}
const usage = (inputTokens: number, outputTokens: number, cacheWriteTokens = 0, cacheReadTokens = 0): Usage => ({ inputTokens, outputTokens, cacheWriteTokens, cacheReadTokens });

describe.each(ledgerBackends)('ledger billing: $name', (backend) => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });
  async function billingOn(config: BillingConfigInput = CONFIG, env: Record<string, string> = {}) {
    const made = await backend.create();
    cleanup = made.cleanup;
    const clock = new TestClock();
    const billing = new LedgerBilling({ store: made.store, settings: parseBillingConfig(config, env), clock });
    await billing.init();
    return { billing, store: made.store, clock, reopen: made.reopen };
  }
  const sonnet = (requestId: string, keyName = 'alice', est = 1000, max = 100) =>
    ({ requestId, keyName, model: 'claude-sonnet-4-5', protocol: 'anthropic' as const, info: info(est, max), path: '/v1/messages' });

  it('reserves input at the cache-write price plus max output, then settles to the real cost', async () => {
    const { billing, store } = await billingOn();
    expect(await billing.precharge(sonnet('r1'))).toEqual({ ok: true });
    expect(await store.balance('alice')).toBe(1_000_000 - (3750 + 1500));
    await billing.settle({ requestId: 'r1', keyName: 'alice', model: 'claude-sonnet-4-5', endpoint: 'A', outcome: 'success', usage: usage(900, 80, 10, 20), firstTokenSent: true });
    const cost = 2700 + 1200 + 38 + 6; // 37.5 -> 38 (half up), 6
    expect(await store.balance('alice')).toBe(1_000_000 - cost);
    expect(await billing.stats()).toMatchObject({ total: { requests: 1, inputTokens: 900, outputTokens: 80, cost }, byEndpoint: { A: { cost } }, byPath: { '/v1/messages': { cost } } });
  });

  it('refuses with 403 in words when the balance cannot cover the reservation, and unpriced models', async () => {
    const { billing, store } = await billingOn();
    const refused = await billing.precharge(sonnet('r1', 'poor'));
    expect(refused).toEqual({ ok: false, status: 403, message: 'insufficient balance: key "poor" has $0.001000, this request needs up to $0.005250' });
    expect(await store.balance('poor')).toBe(1000);
    expect(await billing.precharge({ ...sonnet('r2'), model: 'mystery' })).toMatchObject({ ok: false, status: 403, message: expect.stringMatching(/no price/) });
    expect((await billingOn(CONFIG, { RELAY_BILLING_UNPRICED_MODELS: 'free' })).billing.priceFor('mystery')).toEqual({ kind: 'free' });
  });

  it('charges each ending by the policy table', async () => {
    const { billing, store } = await billingOn();
    const end = async (id: string, outcome: Parameters<LedgerBilling['settle']>[0]['outcome'], firstTokenSent: boolean, u?: Usage) => {
      await billing.precharge(sonnet(id, 'alice', 100, 100));
      await billing.settle({ requestId: id, keyName: 'alice', model: 'claude-sonnet-4-5', outcome, usage: u, firstTokenSent });
      const rows = await store.ledger({ requestId: id });
      return { kind: rows[1].kind, cost: rows[1].cost, rule: rows[1].rule, net: rows.reduce((s, r) => s + r.amount, 0) };
    };
    expect(await end('err', 'upstream_error', false, usage(100, 0))).toEqual({ kind: 'refund', cost: 0, rule: 'upstream_error', net: 0 });
    expect(await end('cut', 'stream_cut', true, usage(100, 7))).toEqual({ kind: 'settle', cost: 300 + 105, rule: 'stream_cut', net: 405 });
    expect(await end('err-late', 'upstream_error', true, usage(100, 7))).toMatchObject({ rule: 'stream_cut', cost: 405 });
    expect(await end('abort-early', 'client_abort', false, usage(100, 3))).toEqual({ kind: 'settle', cost: 300, rule: 'client_abort_before_first_token', net: 300 });
    // no usage at all before the abort: nothing is provably owed
    expect(await end('abort-blind', 'client_abort', false)).toMatchObject({ cost: 0 });
    expect(await end('abort-late', 'client_abort', true, usage(100, 3))).toMatchObject({ cost: 345, rule: 'client_abort_after_first_token' });
    expect(await end('empty', 'empty', false, usage(100, 0))).toEqual({ kind: 'refund', cost: 0, rule: 'empty', net: 0 });
    const totals = ledgerTotalsByKey(await store.ledger({ keyName: 'alice' }));
    expect(totals.alice).toBe(405 + 405 + 300 + 345);
    expect(await store.balance('alice')).toBe(1_000_000 - totals.alice);
  });

  it('charges an empty 200 when configured to', async () => {
    const { billing, store } = await billingOn({ ...CONFIG, policy: { empty: 'usage' } });
    await billing.precharge(sonnet('e'));
    await billing.settle({ requestId: 'e', keyName: 'alice', model: 'claude-sonnet-4-5', outcome: 'empty', usage: usage(100, 0), firstTokenSent: false });
    expect((await store.ledger({ requestId: 'e', kinds: ['settle'] }))[0].cost).toBe(300);
  });

  it('settles once per request id, however often settle is called', async () => {
    const { billing, store } = await billingOn();
    await billing.precharge(sonnet('r1'));
    const s = { requestId: 'r1', keyName: 'alice', model: 'claude-sonnet-4-5', outcome: 'success' as const, usage: usage(10, 10), firstTokenSent: true };
    await Promise.all([billing.settle(s), billing.settle(s), billing.settle({ ...s, outcome: 'upstream_error' })]);
    await billing.settle(s);
    const rows = await store.ledger({ requestId: 'r1' });
    expect(rows.map((r) => r.kind).sort()).toEqual(['precharge', 'settle']);
    expect(await store.balance('alice')).toBe(1_000_000 - 180);
  });

  it('charges per call and nothing for free models', async () => {
    const { billing, store } = await billingOn();
    await billing.precharge({ ...sonnet('p1'), model: 'pass-video' });
    expect(await store.balance('alice')).toBe(990_000);
    await billing.settle({ requestId: 'p1', keyName: 'alice', model: 'pass-video', outcome: 'success', firstTokenSent: true });
    await billing.precharge({ ...sonnet('p2'), model: 'pass-video' });
    await billing.settle({ requestId: 'p2', keyName: 'alice', model: 'pass-video', outcome: 'upstream_error', firstTokenSent: false });
    await billing.precharge({ ...sonnet('f1'), model: 'free-model' });
    await billing.settle({ requestId: 'f1', keyName: 'alice', model: 'free-model', outcome: 'success', usage: usage(5, 5), firstTokenSent: true });
    expect(await store.balance('alice')).toBe(990_000);
    expect((await billing.stats()).byModel['free-model']).toMatchObject({ requests: 1, inputTokens: 5, cost: 0 });
  });

  it('prices a settlement by the price version its pre-charge saw', async () => {
    const { billing, store } = await billingOn();
    await billing.precharge(sonnet('old'));
    await billing.update(parseBillingConfig({ ...CONFIG, prices: { 'claude-sonnet-4-5': { input: 30, output: 150 } } }, {}));
    await billing.settle({ requestId: 'old', keyName: 'alice', model: 'claude-sonnet-4-5', outcome: 'success', usage: usage(1000, 0), firstTokenSent: true });
    const settled = (await store.ledger({ requestId: 'old', kinds: ['settle'] }))[0];
    expect(settled.cost).toBe(3000);
    expect(settled.priceVersion).not.toBe(billing.priceTable.version);
  });

  it('gives keys without a configured balance the default balance, or leaves them unmetered', async () => {
    const metered = await billingOn({ ...CONFIG, default_balance: '0.002' });
    expect((await metered.billing.precharge(sonnet('a', 'carol'))).ok).toBe(false);
    expect(await metered.store.balance('carol')).toBe(2000);
    await cleanup?.();
    const unmetered = await billingOn();
    expect((await unmetered.billing.precharge(sonnet('b', 'carol'))).ok).toBe(true);
    expect(await unmetered.store.balance('carol')).toBeUndefined();
  });

  it('never overdraws under hundreds of concurrent pre-charges', async () => {
    const { billing, store, reopen } = await billingOn({ ...CONFIG, balances: { edge: '0.1' } });
    const second = backend.name === 'mysql' ? new LedgerBilling({ store: await reopen(), settings: parseBillingConfig({ ...CONFIG, balances: { edge: '0.1' } }, {}), clock: new TestClock() }) : billing;
    // each reserves 3750 + 1500 = 5250; 100000 / 5250 = 19 fit
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? second : billing).precharge(sonnet(`c${i}`, 'edge'))));
    expect(results.filter((r) => r.ok)).toHaveLength(19);
    expect(await store.balance('edge')).toBe(100_000 - 19 * 5250);
  }, 60_000);

  it('recovers pending charges after a crash: settled from the request log, else refunded', async () => {
    const { billing, store, reopen, clock } = await billingOn();
    await billing.precharge(sonnet('done'));
    await billing.precharge(sonnet('lost'));
    await billing.precharge({ ...sonnet('task:t1'), model: 'pass-video' });
    // The process ends here (a process killed for real: crash.test.ts); a new one opens the same ledger.
    await store.shutdown();
    const log: Record<string, { outcome: string; usage: Usage; endpoint: string }> = { done: { outcome: 'ok', usage: usage(1000, 10), endpoint: 'B' } };
    const reopened = await reopen();
    const restarted = new LedgerBilling({ store: reopened, settings: parseBillingConfig(CONFIG, {}), clock, lookupRequest: async (p) => log[p.requestId] });
    const report = await restarted.recover({ skip: (p) => p.requestId.startsWith('task:') });
    expect(report).toEqual({ settled: ['done'], refunded: ['lost'], skipped: ['task:t1'] });
    expect((await reopened.ledger({ requestId: 'done', kinds: ['settle'] }))[0]).toMatchObject({ cost: 3150, endpoint: 'B', rule: 'recovered:success' });
    expect((await reopened.ledger({ requestId: 'lost', kinds: ['refund'] }))[0]).toMatchObject({ cost: 0, rule: 'recovered:incomplete' });
    expect(await reopened.balance('alice')).toBe(1_000_000 - 3150 - 10_000);
    // running recovery again changes nothing
    expect(await restarted.recover({ skip: (p) => p.requestId.startsWith('task:') })).toEqual({ settled: [], refunded: [], skipped: ['task:t1'] });
  });

  it('answers the admin API', async () => {
    const { billing } = await billingOn();
    await billing.precharge(sonnet('r1'));
    await billing.settle({ requestId: 'r1', keyName: 'alice', model: 'claude-sonnet-4-5', endpoint: 'A', outcome: 'success', usage: usage(10, 10), firstTokenSent: true });
    const app = Fastify();
    await app.register(billingAdminRoutes, { billing });
    try {
      const balances = await app.inject({ method: 'GET', url: '/admin/billing/balances' });
      expect(balances.json().balances).toContainEqual({ keyName: 'alice', balance: 999_820, display: '$0.999820' });
      const ledger = await app.inject({ method: 'GET', url: '/admin/billing/ledger?key=alice' });
      expect(ledger.json().rows.map((r: { kind: string }) => r.kind)).toEqual(['topup', 'precharge', 'settle']);
      const stats = await app.inject({ method: 'GET', url: '/admin/billing/stats' });
      expect(stats.json().byKey.alice).toMatchObject({ requests: 1, cost: 180 });
      const topup = await app.inject({ method: 'POST', url: '/admin/billing/keys/alice/topup', payload: { amount: '2.5', request_id: 'tp1' } });
      expect(topup.json()).toMatchObject({ balance: 3_499_820, display: '$3.499820' });
      await app.inject({ method: 'POST', url: '/admin/billing/keys/alice/topup', payload: { amount: '2.5', request_id: 'tp1' } });
      expect(await billing.store.balance('alice')).toBe(3_499_820);
      const bad = await app.inject({ method: 'POST', url: '/admin/billing/keys/alice/topup', payload: { amount: 'lots' } });
      expect(bad.statusCode).toBe(400);
      expect((await app.inject({ method: 'POST', url: '/admin/billing/keys/x/topup', payload: { amount: -1 } })).statusCode).toBe(400);
    } finally {
      await app.close();
    }
  });
});

describe('openBilling', () => {
  it('is free without a billing section', async () => {
    const opened = await openBilling({ config: undefined, clock: new TestClock() });
    expect(opened.ledger).toBeUndefined();
    expect(await opened.billing.precharge({} as never)).toEqual({ ok: true });
  });

  it('refunds an embedded ledger\'s orphaned reservations on open, and keeps async task reservations', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'relay-billing-'));
    const clock = new TestClock();
    const first = await openBilling({ config: CONFIG, clock, dataDir });
    await first.billing.precharge({ requestId: 'x', keyName: 'alice', model: 'gpt-4o-mini', protocol: 'openai-chat', info: info(1000, 1000) });
    await first.ledger!.reserve({ requestId: 'task:1', keyName: 'alice', model: 'pass-video', amount: 10_000 });
    const second = await openBilling({ config: CONFIG, clock, dataDir });
    expect(second.recovery).toEqual({ settled: [], refunded: ['x'], skipped: ['task:1'] });
    expect(await second.ledger!.store.balance('alice')).toBe(990_000);
    await first.close();
    await second.close();
  });
});

// keeps the LedgerStore import honest for readers: the service is tested through the same stores
export type _Store = LedgerStore;

describe('requestLogLookup', () => {
  it('finds how a pending request ended in the relay request log', async () => {
    const { EmbeddedRecordStore } = await import('../state/embedded.js');
    const { requestLogLookup } = await import('./request-log-lookup.js');
    const records = await EmbeddedRecordStore.open({});
    const t = Date.UTC(2026, 0, 1);
    records.appendRequestLog({
      requestId: 'r1', time: t, keyName: 'alice', protocol: 'anthropic', path: '/v1/messages', stream: true, status: 200, outcome: 'ok',
      latencyMs: 5, ttfbMs: 2, usage: usage(10, 5), attempts: [{ endpoint: 'A', channel: 'c', token: 'x', durationMs: 1 }, { endpoint: 'B', channel: 'c', token: 'y', durationMs: 1 }],
    });
    await records.flush();
    const lookup = requestLogLookup(records);
    const pending = { requestId: 'r1', keyName: 'alice', amount: 1, time: t, model: 'm', priceVersion: 'v', estimatedInputTokens: 1 };
    expect(await lookup(pending)).toEqual({ outcome: 'ok', usage: usage(10, 5), endpoint: 'B', firstTokenSent: true });
    expect(await lookup({ ...pending, requestId: 'r2' })).toBeUndefined();
    await records.close();
  });
});
