import type { LedgerQuery, LedgerRow } from './ledger.js';

/** Whether a row passes a query's filters (not its limit). */
export function rowMatches(r: LedgerRow, q: LedgerQuery): boolean {
  return (
    (q.keyName === undefined || r.keyName === q.keyName) &&
    (q.requestId === undefined || r.requestId === q.requestId) &&
    (q.kinds === undefined || q.kinds.includes(r.kind)) &&
    (q.since === undefined || r.time >= q.since)
  );
}

/** Filters rows (oldest first) by a query; `limit` keeps the newest. */
export function selectLedgerRows(rows: readonly LedgerRow[], q: LedgerQuery): LedgerRow[] {
  const out = rows.filter((r) => rowMatches(r, q));
  return q.limit !== undefined && out.length > q.limit ? out.slice(out.length - q.limit) : out;
}
