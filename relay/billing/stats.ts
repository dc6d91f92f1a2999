/**
 * Usage and cost statistics, computed from the ledger's closing rows (settle, refund, charge):
 * each request counts once, with its final usage and cost, whatever its reservation was.
 * Stores never hand every row over for them: they aggregate into groups of one UTC day, key,
 * model, endpoint and route (`UsageGroup`: MySQL with GROUP BY, the embedded store as running
 * totals), and `statsFromGroups` folds the groups into the answer.
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

export const DAY_MS = 86_400_000;

/** The UTC day a time falls on, as a day number (days since 1970-01-01). */
export function dayOf(time: number): number {
  return Math.floor(time / DAY_MS);
}

/** The closing rows of one UTC day, key, model, endpoint and route, summed. */
export interface UsageGroup {
  day: number;
  keyName: string;
  model?: string;
  endpoint?: string;
  path?: string;
  totals: UsageTotals;
}

function groupId(day: number, row: Pick<LedgerRow, 'keyName' | 'model' | 'endpoint' | 'path'>): string {
  return JSON.stringify([day, row.keyName, row.model ?? null, row.endpoint ?? null, row.path ?? null]);
}

/** Running totals by group, kept as closing rows are written (the embedded store's stats). */
export class UsageGroups {
  private readonly groups = new Map<string, UsageGroup>();

  /** Counts a row if it closes a request. */
  add(row: LedgerRow): void {
    if (!CLOSING.has(row.kind)) return;
    const day = dayOf(row.time);
    const id = groupId(day, row);
    let g = this.groups.get(id);
    if (!g) {
      g = { day, keyName: row.keyName, model: row.model, endpoint: row.endpoint, path: row.path, totals: emptyTotals() };
      this.groups.set(id, g);
    }
    add(g.totals, row);
  }

  /** The groups of `fromDay` and later (all without it). */
  *from(fromDay = Number.NEGATIVE_INFINITY): Generator<UsageGroup> {
    for (const g of this.groups.values()) if (g.day >= fromDay) yield g;
  }
}

/** The groups that closing rows make, summed (rows read for a part of one day). */
export function groupRows(rows: Iterable<LedgerRow>): UsageGroup[] {
  const groups = new UsageGroups();
  for (const row of rows) groups.add(row);
  return [...groups.from()];
}

export function statsFromGroups(groups: Iterable<UsageGroup>): BillingStats {
  const stats: BillingStats = { total: emptyTotals(), byKey: {}, byModel: {}, byDay: {}, byEndpoint: {}, byPath: {} };
  for (const g of groups) {
    addTotals(stats.total, g.totals);
    addTotals(bucket(stats.byKey, g.keyName), g.totals);
    addTotals(bucket(stats.byModel, g.model ?? '(none)'), g.totals);
    addTotals(bucket(stats.byDay, new Date(g.day * DAY_MS).toISOString().slice(0, 10)), g.totals);
    addTotals(bucket(stats.byEndpoint, g.endpoint ?? '(none)'), g.totals);
    addTotals(bucket(stats.byPath, g.path ?? '(none)'), g.totals);
  }
  return stats;
}

/** Statistics of a list of rows (tests, and what reconciles with them). */
export function billingStats(rows: Iterable<LedgerRow>): BillingStats {
  return statsFromGroups(groupRows(rows));
}

function addTotals(into: UsageTotals, t: UsageTotals): void {
  into.requests += t.requests;
  into.inputTokens += t.inputTokens;
  into.outputTokens += t.outputTokens;
  into.cacheWriteTokens += t.cacheWriteTokens;
  into.cacheReadTokens += t.cacheReadTokens;
  into.cost += t.cost;
}

/** Net charged per key: the sum of every non-topup row (precharge + settle = final cost). */
export function ledgerTotalsByKey(rows: Iterable<LedgerRow>): Record<string, Micros> {
  const out: Record<string, Micros> = {};
  for (const row of rows) if (row.kind !== 'topup') out[row.keyName] = (out[row.keyName] ?? 0) + row.amount;
  return out;
}
