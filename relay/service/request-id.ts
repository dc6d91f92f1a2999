/**
 * The request id: sent upstream as x-request-id, returned to the client, written to logs and the
 * request log, and the key billing settles by. A client's own x-request-id is kept as the id's
 * prefix, not taken verbatim: billing closes exactly one reservation per id, so a client that
 * repeated an id would otherwise make one reservation cover several requests.
 */
import { randomUUID } from 'node:crypto';

/** What a client id may contain: printable, header- and log-safe, bounded. */
const CLIENT_ID = /^[A-Za-z0-9._:@/+=-]{1,96}$/;

/** Tells this process's ids from another relay's sharing the same request log and ledger. */
const PROCESS_TAG = randomUUID().slice(0, 8);
let seq = 0;

/** A fresh id, unique in this process and (by its tag) among relay processes. */
export function newRequestId(): string {
  return `req_${PROCESS_TAG}${(++seq).toString(36).padStart(6, '0')}`;
}

export function requestIdFor(header: string | string[] | undefined, generate: () => string = newRequestId): string {
  const own = generate();
  const client = Array.isArray(header) ? header[0] : header;
  return client !== undefined && CLIENT_ID.test(client) ? `${client}~${own}` : own;
}
