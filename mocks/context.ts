/**
 * What a request carries through the pipeline (Ctx) and the two ways to answer it: a JSON body
 * or the protocol's error reply, both with the kind's request-id header. Shared by the server and
 * the per-kind handlers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../lib/clock.js';
import type { ErrorReply, Protocol, RequestInfo, SessionKey } from '../protocols/types.js';
import { writeBody } from './body-writer.js';
import type { FaultAction } from './config.js';
import type { Exchange } from './exchange.js';
import type { FiredRule } from './faults.js';
import type { Journal } from './journal.js';
import { KINDS, type Route } from './kinds.js';
import { mixSeed } from './random.js';
import type { Pacer } from './pacer.js';
import type { ScheduleStats } from './stats.js';
import type { MockUpstream } from './upstream.js';

export interface ServerDeps {
  journal: Journal;
  clock: Clock;
  stats: ScheduleStats;
  /** One timer for all paced stream events of the process. */
  pacer: Pacer;
  /** Handles `/__mock/...` on any upstream's port. */
  control: (req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams, body: Buffer) => void;
}

/** Everything known about a request as it goes through the pipeline. */
export interface Ctx {
  up: MockUpstream;
  deps: ServerDeps;
  ex: Exchange;
  route: Route | undefined;
  protocol: Protocol;
  method: string;
  path: string;
  rawQuery: string;
  headers: IncomingMessage['headers'];
  credential: string | undefined;
  body: unknown;
  /** The body as text, once decoded (the journal keeps this rather than the parsed tree). */
  rawText: string | undefined;
  info: RequestInfo | undefined;
  session: SessionKey | undefined;
  fired: FiredRule | undefined;
  requestId: string;
}

export function sendJson(ctx: Ctx, status: number, body: unknown, action: FaultAction | undefined, extra?: Record<string, string>): void {
  const headers: Record<string, string> = { 'content-type': 'application/json', [KINDS[ctx.up.kind].requestIdHeader]: ctx.requestId, ...extra };
  writeBody(ctx.ex, status, headers, JSON.stringify(body), action);
}

export function reply(ctx: Ctx, r: ErrorReply, action?: FaultAction): void {
  const headers: Record<string, string> = { [KINDS[ctx.up.kind].requestIdHeader]: ctx.requestId, ...r.headers };
  headers['content-type'] ??= 'application/json';
  // Only body faults apply to an error answer (a drip or a hang of the error body).
  const bodyFaults = action && (action.drip || action.hang === 'body' || action.truncate) ? action : undefined;
  writeBody(ctx.ex, r.status, headers, typeof r.body === 'string' ? r.body : JSON.stringify(r.body), bodyFaults);
}

export function withRequestId(ctx: Ctx, r: ErrorReply): ErrorReply {
  return { ...r, headers: { [KINDS[ctx.up.kind].requestIdHeader]: ctx.requestId, ...r.headers } };
}

/** OpenAI's 429 carries the rate-limit window headers clients read. */
export function withKindHeaders(ctx: Ctx, r: ErrorReply): ErrorReply {
  if (r.status !== 429 || ctx.protocol.id === 'anthropic' || ctx.protocol.id === 'custom-pass') return r;
  const reset = r.headers['retry-after'] ?? '1';
  return {
    ...r,
    headers: {
      'x-ratelimit-limit-requests': '500',
      'x-ratelimit-remaining-requests': '0',
      'x-ratelimit-reset-requests': `${reset}s`,
      'x-ratelimit-limit-tokens': '30000',
      'x-ratelimit-remaining-tokens': '0',
      'x-ratelimit-reset-tokens': `${reset}s`,
      ...r.headers,
    },
  };
}

export function responseId(seed: number, n: number): string {
  return `01${mixSeed(seed, n).toString(36).padStart(7, '0')}${n.toString(36).padStart(6, '0')}`;
}

export function header(headers: IncomingMessage['headers'], name: string): string | undefined {
  const v = headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' ? undefined : s;
}
