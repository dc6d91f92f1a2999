import type { LedgerQuery, LedgerRow } from './ledger.js';

/** Filters rows (oldest first) by a query; `limit` keeps the newest. */
export function selectLedgerRows(rows: readonly LedgerRow[], q: LedgerQuery): LedgerRow[] {
  const kinds = q.kinds ? new Set(q.kinds) : undefined;
  const out = rows.filter(
    (r) =>
      (q.keyName === undefined || r.keyName === q.keyName) &&
      (q.requestId === undefined || r.requestId === q.requestId) &&
      (kinds === undefined || kinds.has(r.kind)) &&
      (q.since === undefined || r.time >= q.since),
  );
  return q.limit !== undefined && out.length > q.limit ? out.slice(out.length - q.limit) : out;
}
