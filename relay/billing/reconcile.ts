/**
 * Reconciliation: does the ledger charge what the upstreams actually delivered? The mocks'
 * journal is the ground truth (its `usage` is what each upstream request really billed: for a cut
 * stream only what was emitted, nothing for an error). Upstream requests are tied to client
 * requests by the `x-request-id` the relay sends upstream, and so to ledger rows and keys.
 *
 *   expected(request) = price(model billed) x (sum of the journal usage of its upstream requests)
 *   actual(request)   = sum of its ledger rows (precharge + settle = final cost)
 * and per key: totals side by side, requests settled more than once, reservations still pending,
 * and balance == start (topups) - ledger total.
 */
import { addUsage } from '../../protocols/tokens.js';
import type { Usage } from '../../protocols/types.js';
import type { Balance, LedgerRow } from './ledger.js';
import type { Micros } from './money.js';
import { costOf, type ModelPrice } from './prices.js';

/** The journal fields reconciliation reads (mocks/journal.ts JournalEntry has them). */
export interface JournalUsage {
  upstream: string;
  headers: Record<string, string | string[] | undefined>;
  usage: Usage | null | undefined;
  status: number | null;
}

export interface KeyReconciliation {
  keyName: string;
  expected: Micros;
  actual: Micros;
  requests: number;
  /** Requests whose charge differs from the journal, with both sides. */
  mismatches: Array<{ requestId: string; model: string; expected: Micros; actual: Micros; journalUsage: Usage; ledgerUsage?: Usage; rule?: string }>;
  start: Micros;
  balance: Micros | undefined;
  /** start - ledger total (undefined for unmetered keys). */
  expectedBalance: Micros | undefined;
}

export interface Reconciliation {
  ok: boolean;
  keys: KeyReconciliation[];
  settledTwice: string[];
  pending: string[];
  /** Upstream usage with a request id the ledger does not know (billed by nobody). */
  unbilledUpstream: Array<{ requestId: string; upstream: string; usage: Usage }>;
}

const CLOSING = new Set(['settle', 'refund', 'charge']);

const ZERO: Usage = { inputTokens: 0, outputTokens: 0, cacheWriteTokens: 0, cacheReadTokens: 0 };

function requestIdOf(e: JournalUsage): string | undefined {
  const v = e.headers['x-request-id'];
  return Array.isArray(v) ? v[0] : v;
}

export function reconcile(input: {
  journal: JournalUsage[];
  ledger: LedgerRow[];
  balances: Balance[];
  priceOf: (model: string) => ModelPrice | undefined;
  /** Only these keys (default: every key in the ledger). */
  keys?: string[];
}): Reconciliation {
  const delivered = new Map<string, { usage: Usage; upstream: string }>();
  for (const e of input.journal) {
    const id = requestIdOf(e);
    if (!id || !e.usage) continue;
    const prev = delivered.get(id);
    delivered.set(id, { usage: addUsage(prev?.usage ?? ZERO, e.usage), upstream: e.upstream });
  }

  const byRequest = new Map<string, LedgerRow[]>();
  const starts = new Map<string, Micros>();
  for (const row of input.ledger) {
    if (row.kind === 'topup') {
      starts.set(row.keyName, (starts.get(row.keyName) ?? 0) - row.amount);
      continue;
    }
    let rows = byRequest.get(row.requestId);
    if (!rows) byRequest.set(row.requestId, (rows = []));
    rows.push(row);
  }

  const keys = new Map<string, KeyReconciliation>();
  const key = (name: string): KeyReconciliation => {
    let k = keys.get(name);
    if (!k) {
      const balance = input.balances.find((b) => b.keyName === name)?.balance;
      keys.set(name, (k = { keyName: name, expected: 0, actual: 0, requests: 0, mismatches: [], start: starts.get(name) ?? 0, balance, expectedBalance: undefined }));
    }
    return k;
  };
  const settledTwice: string[] = [];
  const pending: string[] = [];
  const ledgerTotals = new Map<string, Micros>();
  for (const [requestId, rows] of byRequest) {
    const first = rows[0];
    const k = key(first.keyName);
    const closing = rows.filter((r) => CLOSING.has(r.kind));
    if (closing.length > 1) settledTwice.push(requestId);
    if (closing.length === 0) pending.push(requestId);
    const actual = rows.reduce((s, r) => s + r.amount, 0);
    ledgerTotals.set(first.keyName, (ledgerTotals.get(first.keyName) ?? 0) + actual);
    const model = rows.find((r) => r.model)?.model ?? '';
    const price = input.priceOf(model);
    const journalUsage = delivered.get(requestId)?.usage ?? ZERO;
    delivered.delete(requestId);
    // A per-call price has no usage to compare; its ledger row stands for itself.
    const expected = price && price.kind === 'tokens' ? costOf(price, journalUsage).total : actual;
    k.requests++;
    k.expected += expected;
    k.actual += actual;
    if (expected !== actual) {
      const settle = closing[0];
      k.mismatches.push({ requestId, model, expected, actual, journalUsage, ledgerUsage: settle?.usage, rule: settle?.rule });
    }
  }
  for (const k of keys.values()) {
    if (k.balance !== undefined) k.expectedBalance = k.start - (ledgerTotals.get(k.keyName) ?? 0);
  }
  for (const b of input.balances) key(b.keyName);
  for (const k of keys.values()) if (k.balance !== undefined && k.expectedBalance === undefined) k.expectedBalance = k.start;

  const wanted = input.keys ? new Set(input.keys) : undefined;
  const list = [...keys.values()].filter((k) => !wanted || wanted.has(k.keyName)).sort((a, b) => a.keyName.localeCompare(b.keyName));
  const unbilledUpstream = [...delivered].map(([requestId, d]) => ({ requestId, upstream: d.upstream, usage: d.usage })).filter((u) => u.usage.inputTokens + u.usage.outputTokens + u.usage.cacheReadTokens + u.usage.cacheWriteTokens > 0);
  const ok =
    list.every((k) => k.expected === k.actual && k.mismatches.length === 0 && k.balance === k.expectedBalance) &&
    settledTwice.length === 0 &&
    pending.length === 0 &&
    unbilledUpstream.length === 0;
  return { ok, keys: list, settledTwice, pending, unbilledUpstream };
}
