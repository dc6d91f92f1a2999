/** The request-log query rules, shared by every RecordStore so they all answer alike. */
import type { RequestLogEntry, RequestLogQuery } from './types.js';

export const DEFAULT_LOG_LIMIT = 100;
export const MAX_LOG_LIMIT = 10_000;

export function effectiveLimit(query: RequestLogQuery): number {
  const limit = query.limit ?? DEFAULT_LOG_LIMIT;
  if (!Number.isFinite(limit) || limit < 0) return DEFAULT_LOG_LIMIT;
  return Math.min(Math.floor(limit), MAX_LOG_LIMIT);
}

export function matchesQuery(entry: RequestLogEntry, query: RequestLogQuery): boolean {
  if (query.since !== undefined && entry.time < query.since) return false;
  if (query.keyName !== undefined && entry.keyName !== query.keyName) return false;
  if (query.endpoint !== undefined && !entry.attempts.some((a) => a.endpoint === query.endpoint)) return false;
  return true;
}

/** The newest `limit` matching entries of an oldest-first list, newest last. */
export function selectRequestLog(entries: readonly RequestLogEntry[], query: RequestLogQuery): RequestLogEntry[] {
  return selectNewest(entries.length, (i) => entries[i], query);
}

/**
 * The same over `count` entries read one by one, newest first, until `limit` match: a store that
 * keeps its entries serialised decodes only those it looks at.
 */
export function selectNewest(count: number, entryAt: (i: number) => RequestLogEntry, query: RequestLogQuery): RequestLogEntry[] {
  const limit = effectiveLimit(query);
  const out: RequestLogEntry[] = [];
  for (let i = count - 1; i >= 0 && out.length < limit; i--) {
    const entry = entryAt(i);
    if (matchesQuery(entry, query)) out.push(entry);
  }
  return out.reverse();
}
