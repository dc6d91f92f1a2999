/**
 * End to end: the reference relay with billing in front of the mocks, hundreds of mixed requests
 * with injected 429s, 529s, 500s and cut streams, then the ledger reconciled against the mocks'
 * journal (what the upstreams really delivered).
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMocks, type MockFleet } from '../../mocks/index.js';
import { startRelay, type RunningRelay } from '../index.js';
import { parseBillingConfig, type BillingConfigInput } from './config.js';
import { findPrice } from './prices.js';
import { reconcile } from './reconcile.js';
import type { Balance, LedgerRow } from './ledger.js';
import { MysqlLedgerStore } from './ledger-mysql.js';

const STATE_PREFIX = `rec${Date.now().toString(36)}`;

const BILLING: BillingConfigInput = {
  balances: { alice: 50, bob: 50, carol: '0.003' },
  prices: {
    'claude-sonnet-4-5': { input: 3, output: 15, cache_write: 3.75, cache_read: 0.3 },
    'gpt-4o-mini': { input: 0.15, output: 0.6, cache_read: 0.075 },
  },
};
const KEYS = { alice: 'rk-alice-0123456789', bob: 'rk-bob-0123456789', carol: 'rk-carol-0123456789' };

describe('billing reconciliation through the reference relay', () => {
  let fleet: MockFleet;
  let relay: RunningRelay;

  beforeAll(async () => {
    fleet = await startMocks({
      upstreams: [
        {
          name: 'claude-a', kind: 'claude', tokens: ['sk-ant-api03-A'], seed: 1,
          rules: [
            { name: '429', match: { probability: 0.1, seed: 1 }, action: { status: 429, retry_after: 0 } },
            { name: '529', match: { probability: 0.08, seed: 2 }, action: { status: 529, retry_after: 0 } },
            { name: 'cut', match: { stream: true, probability: 0.1, seed: 3 }, action: { cut: { after: 'mid_content', mode: 'rst' } } },
          ],
        },
        { name: 'claude-b', kind: 'claude', tokens: ['sk-ant-api03-B'], seed: 2 },
        {
          name: 'openai-a', kind: 'openai', tokens: ['sk-proj-O'], seed: 3,
          rules: [
            { name: '500', match: { probability: 0.1, seed: 4 }, action: { status: 500 } },
            { name: 'cut', match: { stream: true, probability: 0.1, seed: 5 }, action: { cut: { after: 'first_content', mode: 'fin' } } },
          ],
        },
      ],
    });
    relay = await startRelay({
      config: {
        health: { enabled: false },
        retry: { max_attempts: 3 },
        channels: [
          { name: 'claude', endpoints: [
            { name: 'CA', type: 'claude', base_url: fleet.get('claude-a').url, token: 'sk-ant-api03-A', priority: 1 },
            { name: 'CB', type: 'claude', base_url: fleet.get('claude-b').url, token: 'sk-ant-api03-B', priority: 2 },
          ] },
          { name: 'openai', endpoints: [{ name: 'OA', type: 'openai', base_url: fleet.get('openai-a').url, token: 'sk-proj-O' }] },
        ],
        keys: Object.entries(KEYS).map(([name, key]) => ({ name, key })),
        billing: BILLING,
      },
      logLevel: process.env.DEBUG_REC ? 'error' : 'silent',
      healthChecks: false,
      mysqlUrl: process.env.MYSQL_URL,
      statePrefix: STATE_PREFIX,
    });
  });

  afterAll(async () => {
    await relay?.close();
    await fleet?.close();
    if (process.env.MYSQL_URL) {
      const s = await MysqlLedgerStore.open({ url: process.env.MYSQL_URL, prefix: `${STATE_PREFIX}_` });
      await s.dropTables();
      await s.shutdown();
    }
  });

  async function send(i: number): Promise<number> {
    const key = i % 7 === 0 ? KEYS.carol : i % 2 ? KEYS.alice : KEYS.bob;
    const stream = i % 3 !== 0;
    const claude = i % 2 === 0;
    const path = claude ? '/v1/messages' : '/v1/chat/completions';
    const body = claude
      ? { model: 'claude-sonnet-4-5', max_tokens: 64, stream, messages: [{ role: 'user', content: `hello number ${i}` }] }
      : { model: 'gpt-4o-mini', max_tokens: 64, stream, stream_options: stream ? { include_usage: true } : undefined, messages: [{ role: 'user', content: `hi ${i}` }] };
    try {
      const res = await request(relay.url + path, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const text = await res.body.text().catch(() => ""); if (process.env.DEBUG_REC && res.statusCode !== 200) console.log(res.statusCode, text.slice(0, 300));
      return res.statusCode;
    } catch {
      return -1;
    }
  }

  async function admin<T>(path: string): Promise<T> {
    const res = await request(relay.adminUrl + path, { headers: { authorization: `Bearer ${relay.adminToken}` } });
    return (await res.body.json()) as T;
  }

  it('charges exactly what the upstreams delivered, once per request, and balances follow the ledger', async () => {
    const statuses: number[] = [];
    let next = 0;
    await Promise.all(Array.from({ length: 10 }, async () => {
      while (next < 300) statuses.push(await send(next++));
    }));
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(100);
    // carol's small balance runs out: refused in the protocol's shape, never overdrawn
    expect(statuses.filter((s) => s === 403).length).toBeGreaterThan(0);

    // settlement runs after the answer: wait until nothing is pending
    for (let i = 0; i < 100; i++) {
      const { pending } = await admin<{ pending: unknown[] }>('/admin/billing/pending');
      if (pending.length === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const { rows } = await admin<{ rows: LedgerRow[] }>('/admin/billing/ledger?limit=100000');
    const { balances } = await admin<{ balances: Balance[] }>('/admin/billing/balances');
    const table = parseBillingConfig(BILLING, {}).prices;
    const rec = reconcile({ journal: fleet.journal.list(), ledger: rows, balances, priceOf: (m) => findPrice(table, m) });
    const summary = rec.keys.map((k) => ({ key: k.keyName, expected: k.expected, actual: k.actual, balance: k.balance, expectedBalance: k.expectedBalance, mismatches: k.mismatches.slice(0, 3) }));
    expect({ settledTwice: rec.settledTwice, pending: rec.pending, unbilled: rec.unbilledUpstream.slice(0, 3), summary }).toEqual({
      settledTwice: [], pending: [], unbilled: [], summary: summary.map((s) => ({ ...s, actual: s.expected, expectedBalance: s.balance, mismatches: [] })),
    });
    expect(rec.ok).toBe(true);
    expect(balances.every((b) => b.balance >= 0)).toBe(true);
    // faults did happen
    const journal = fleet.journal.list();
    expect(journal.some((e) => e.status === 429)).toBe(true);
    expect(journal.some((e) => e.disconnect !== null)).toBe(true);
  }, 120_000);
});
