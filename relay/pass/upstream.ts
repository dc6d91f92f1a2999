/**
 * Calls to a custom-pass upstream: the channel's token (Bearer), the request id, and optionally
 * the client's user token in the configured header. Answers are read whole: envelopes are small.
 */
import { request } from 'undici';
import { upstreamAuthHeaders } from '../../protocols/auth.js';

export interface PassEndpoint {
  name: string;
  channel: string;
  baseUrl: string;
  token: string;
}

export interface UpstreamAnswer {
  status: number;
  headers: Record<string, string>;
  text: string;
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
  signal?: AbortSignal;
}

export function upstreamUrl(ep: PassEndpoint, path: string): string {
  return ep.baseUrl.replace(/\/+$/, '') + path;
}

export async function callUpstream(ep: PassEndpoint, o: CallOptions): Promise<UpstreamAnswer> {
  const headers: Record<string, string> = {
    ...(o.extraHeaders ?? {}),
    ...upstreamAuthHeaders('custom-pass', ep.token),
    'x-request-id': o.requestId,
    accept: 'application/json',
  };
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  const res = await request(upstreamUrl(ep, o.path), {
    method: o.method,
    headers,
    body: o.body,
    headersTimeout: o.timeoutMs,
    bodyTimeout: o.timeoutMs,
    signal: o.signal,
  });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : String(v);
  return { status: res.statusCode, headers: out, text, json };
}
