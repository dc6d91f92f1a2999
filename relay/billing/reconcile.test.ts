import { describe, expect, it } from 'vitest';
import type { LedgerRow } from './ledger.js';
import type { ModelPrice } from './prices.js';
import { reconcile } from './reconcile.js';

const price: ModelPrice = { kind: 'tokens', input: 3_000_000, output: 15_000_000, cacheWrite: 3_750_000, cacheRead: 300_000 };
const u = (i: number, o: number) => ({ inputTokens: i, outputTokens: o, cacheWriteTokens: 0, cacheReadTokens: 0 });
let id = 1;
const row = (r: Partial<LedgerRow> & Pick<LedgerRow, 'keyName' | 'requestId' | 'kind' | 'amount'>): LedgerRow => ({ id: id++, time: 0, model: 'm', ...r });
const entry = (requestId: string, usage: ReturnType<typeof u> | null, upstream = 'A') => ({ upstream, headers: { 'x-request-id': requestId }, usage, status: usage ? 200 : 429 });

describe('reconcile', () => {
  const ledger = [
    row({ keyName: 'alice', requestId: 'open:alice', kind: 'topup', amount: -1000 }),
    row({ keyName: 'alice', requestId: 'r1', kind: 'precharge', amount: 200 }),
    row({ keyName: 'alice', requestId: 'r1', kind: 'settle', amount: -155, cost: 45 }), // 10 in + 1 out = 30 + 15
    row({ keyName: 'alice', requestId: 'r2', kind: 'precharge', amount: 200 }),
    row({ keyName: 'alice', requestId: 'r2', kind: 'refund', amount: -200, cost: 0 }),
  ];
  const journal = [entry('r1', null), entry('r1', u(10, 1), 'B'), entry('r2', null), { upstream: 'A', headers: {}, usage: u(5, 5), status: 200 }];

  it('matches when the ledger charged exactly the delivered usage', () => {
    const rec = reconcile({ journal, ledger, balances: [{ keyName: 'alice', balance: 955 }], priceOf: () => price });
    expect(rec.ok).toBe(true);
    expect(rec.keys[0]).toMatchObject({ keyName: 'alice', expected: 45, actual: 45, start: 1000, balance: 955, expectedBalance: 955, requests: 2 });
  });

  it('reports an overcharge, a double settlement, a pending reservation, a wrong balance and unbilled usage', () => {
    const bad = [
      ...ledger,
      row({ keyName: 'alice', requestId: 'r2', kind: 'settle', amount: 30, cost: 30 }),
      row({ keyName: 'alice', requestId: 'r3', kind: 'precharge', amount: 50 }),
    ];
    const rec = reconcile({ journal: [...journal, entry('r9', u(1, 1))], ledger: bad, balances: [{ keyName: 'alice', balance: 955 }], priceOf: () => price });
    expect(rec.ok).toBe(false);
    expect(rec.settledTwice).toEqual(['r2']);
    expect(rec.pending).toEqual(['r3']);
    expect(rec.unbilledUpstream).toEqual([{ requestId: 'r9', upstream: 'A', usage: u(1, 1) }]);
    expect(rec.keys[0].mismatches.map((m) => [m.requestId, m.expected, m.actual])).toEqual([['r2', 0, 30], ['r3', 0, 50]]);
    expect(rec.keys[0].expectedBalance).toBe(1000 - 45 - 30 - 50);
  });
});
