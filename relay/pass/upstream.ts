/**
 * Calls to a custom-pass upstream through the relay's pools (keep-alive per origin, closed with
 * the relay): the channel's token (Bearer), the request id, and optionally the client's user
 * token in the configured header. Answers are read whole, up to a limit: envelopes are small,
 * and an upstream that sends more than the relay accepts from a client is cut there.
 */
import { errors } from 'undici';
import { upstreamAuthHeaders } from '../../protocols/auth.js';
import type { UpstreamPools } from '../proxy/pools.js';

export interface PassEndpoint {
  name: string;
  channel: string;
  /** `scheme://host:port` of the base URL (the pool's key). */
  origin: string;
  /** The base URL's path, without a trailing slash. */
  pathPrefix: string;
  token: string;
}

export interface UpstreamAnswer {
  status: number;
  headers: Record<string, string>;
  /** The raw bytes, handed to the client unchanged. */
  raw: Buffer;
  json: unknown;
}

export interface CallOptions {
  method: 'GET' | 'POST';
  /** Path after the base URL, starting with `/`, including any query string. */
  path: string;
  body?: string | Buffer;
  requestId: string;
  extraHeaders?: Record<string, string>;
  timeoutMs: number;
  /** Answers larger than this fail the call. */
  maxBytes: number;
}

/** The call failed because the upstream did not answer in time (headers or body). */
export function isTimeout(err: unknown): boolean {
  return err instanceof errors.HeadersTimeoutError || err instanceof errors.BodyTimeoutError;
}

export async function callUpstream(pools: UpstreamPools, ep: PassEndpoint, o: CallOptions): Promise<UpstreamAnswer> {
  const headers: Record<string, string> = {
    ...(o.extraHeaders ?? {}),
    ...upstreamAuthHeaders('custom-pass', ep.token),
    'x-request-id': o.requestId,
    accept: 'application/json',
  };
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  const res = await pools.get(ep.origin).request({
    method: o.method,
    path: ep.pathPrefix + o.path,
    headers,
    body: o.body,
    headersTimeout: o.timeoutMs,
    bodyTimeout: o.timeoutMs,
  });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += (chunk as Buffer).length;
    if (size > o.maxBytes) {
      res.body.destroy();
      throw new Error(`custom-pass upstream answer exceeds ${o.maxBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  const raw = Buffer.concat(chunks);
  let json: unknown;
  try {
    json = raw.length > 0 ? JSON.parse(raw.toString('utf8')) : undefined;
  } catch {
    json = undefined;
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : String(v);
  return { status: res.statusCode, headers: out, raw, json };
}
