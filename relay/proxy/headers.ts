/**
 * Headers across the relay: what goes upstream (the client's headers minus hop-by-hop, host,
 * length and the client's own credentials, plus the endpoint's token and our request id) and
 * what comes back to the client (the upstream's headers minus hop-by-hop and framing).
 */
import type { IncomingHttpHeaders } from 'node:http';

/** Never forwarded upstream: hop-by-hop, framing, and every form of the client's credential. */
const DROP_UPSTREAM = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'content-length',
  'expect',
  'authorization',
  'x-api-key',
  'api-key',
  'cookie',
  // The relay reads usage from the bytes, so it asks for them uncompressed.
  'accept-encoding',
  'x-request-id',
  'chatgpt-account-id',
]);

/** Never passed back to the client: hop-by-hop and framing (the relay frames its own answer). */
const DROP_DOWNSTREAM = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'content-length',
  'content-encoding',
  'date',
  'set-cookie',
  'x-request-id',
]);

export function upstreamHeaders(
  client: IncomingHttpHeaders,
  auth: Record<string, string>,
  requestId: string,
  contentLength: number,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in client) {
    if (DROP_UPSTREAM.has(name)) continue;
    const v = client[name];
    if (v !== undefined) out[name] = v;
  }
  for (const name in auth) out[name] = auth[name];
  out['x-request-id'] = requestId;
  out['content-length'] = String(contentLength);
  if (!out['content-type']) out['content-type'] = 'application/json';
  return out;
}

export function downstreamHeaders(
  upstream: Record<string, string | string[] | undefined>,
  requestId: string,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in upstream) {
    if (DROP_DOWNSTREAM.has(name)) continue;
    const v = upstream[name];
    if (v !== undefined) out[name] = v;
  }
  out['x-request-id'] = requestId;
  return out;
}
