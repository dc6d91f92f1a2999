/**
 * Usage and cost statistics, computed from the ledger's closing rows (settle, refund, charge):
 * each request counts once, with its final usage and cost, whatever its reservation was.
 */
import type { LedgerRow } from './ledger.js';
import type { Micros } from './money.js';

export interface UsageTotals {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cacheWriteTokens: number;
  cacheReadTokens: number;
  cost: Micros;
}

export interface BillingStats {
  total: UsageTotals;
  byKey: Record<string, UsageTotals>;
  byModel: Record<string, UsageTotals>;
  /** UTC day, YYYY-MM-DD. */
  byDay: Record<string, UsageTotals>;
  byEndpoint: Record<string, UsageTotals>;
  /** Client route (/v1/messages, /pass/...). */
  byPath: Record<string, UsageTotals>;
}

const CLOSING = new Set(['settle', 'refund', 'charge']);

/** Whether a row closes a request (settle, refund, charge): what every total counts once. */
export function isClosingRow(row: Pick<LedgerRow, 'kind'>): boolean {
  return CLOSING.has(row.kind);
}

/** Adds a closing row to its key's running totals (LedgerStore.totalsByKey kept as rows are written). */
export function countByKey(totals: Record<string, UsageTotals>, row: LedgerRow): void {
  if (CLOSING.has(row.kind)) add(bucket(totals, row.keyName), row);
}

export function emptyTotals(): UsageTotals {
  return { requests: 0, inputTokens: 0, outputTokens: 0, cacheWriteTokens: 0, cacheReadTokens: 0, cost: 0 };
}

function add(into: UsageTotals, row: LedgerRow): void {
  into.requests += 1;
  into.inputTokens += row.usage?.inputTokens ?? 0;
  into.outputTokens += row.usage?.outputTokens ?? 0;
  into.cacheWriteTokens += row.usage?.cacheWriteTokens ?? 0;
  into.cacheReadTokens += row.usage?.cacheReadTokens ?? 0;
  into.cost += row.cost ?? 0;
}

function bucket(map: Record<string, UsageTotals>, name: string): UsageTotals {
  return (map[name] ??= emptyTotals());
}

export function billingStats(rows: Iterable<LedgerRow>): BillingStats {
  const stats: BillingStats = { total: emptyTotals(), byKey: {}, byModel: {}, byDay: {}, byEndpoint: {}, byPath: {} };
  for (const row of rows) {
    if (!CLOSING.has(row.kind)) continue;
    add(stats.total, row);
    add(bucket(stats.byKey, row.keyName), row);
    add(bucket(stats.byModel, row.model ?? '(none)'), row);
    add(bucket(stats.byDay, new Date(row.time).toISOString().slice(0, 10)), row);
    add(bucket(stats.byEndpoint, row.endpoint ?? '(none)'), row);
    add(bucket(stats.byPath, row.path ?? '(none)'), row);
  }
  return stats;
}

/** Net charged per key: the sum of every non-topup row (precharge + settle = final cost). */
export function ledgerTotalsByKey(rows: Iterable<LedgerRow>): Record<string, Micros> {
  const out: Record<string, Micros> = {};
  for (const row of rows) if (row.kind !== 'topup') out[row.keyName] = (out[row.keyName] ?? 0) + row.amount;
  return out;
}
