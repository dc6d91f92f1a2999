/**
 * Recovery's view of the request log: how a request ended, from relay/state's RecordStore.
 * A request is logged after it ends, so its entry lies at or after its reservation time.
 */
import type { RecordStore } from '../state/types.js';
import type { PendingCharge } from './ledger.js';
import type { LoggedRequest } from './service.js';

export function requestLogLookup(records: Pick<RecordStore, 'queryRequestLog'>): (pending: PendingCharge) => Promise<LoggedRequest | undefined> {
  return async (p) => {
    const entries = await records.queryRequestLog({ since: p.time - 1000, keyName: p.keyName, limit: 10_000 });
    const e = entries.find((x) => x.requestId === p.requestId);
    if (!e) return undefined;
    return {
      outcome: e.outcome,
      usage: e.usage,
      endpoint: e.attempts.at(-1)?.endpoint,
      firstTokenSent: e.ttfbMs !== undefined && (e.usage?.outputTokens ?? 0) > 0,
    };
  };
}
