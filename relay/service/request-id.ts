/**
 * The request id: sent upstream as x-request-id, returned to the client, written to logs and the
 * request log, and the key billing settles by. A client's own x-request-id is kept as the id's
 * prefix, not taken verbatim: billing closes exactly one reservation per id, so a client that
 * repeated an id would otherwise make one reservation cover several requests.
 */

/** What a client id may contain: printable, header- and log-safe, bounded. */
const CLIENT_ID = /^[A-Za-z0-9._:@/+=-]{1,96}$/;

export function requestIdFor(header: string | string[] | undefined, generate: () => string): string {
  const own = generate();
  const client = Array.isArray(header) ? header[0] : header;
  return client !== undefined && CLIENT_ID.test(client) ? `${client}~${own}` : own;
}
