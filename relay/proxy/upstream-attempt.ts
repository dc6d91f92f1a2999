/**
 * One upstream attempt: send the client's body to one endpoint with that endpoint's own token,
 * then either hand the answer to the client or report why not, for the attempt loop.
 *
 * Streams pass through event by event with backpressure, as the original bytes; the protocol's
 * observer reads usage, terminal and error events on the side. The commit point is the first
 * complete event: before it nothing has reached the client and a failure is retryable (an
 * upstream 200 whose stream dies before its first event included); after it a failure ends the
 * client's stream with the protocol's error event.
 */
import type { Dispatcher } from 'undici';
import type { ServerResponse } from 'node:http';
import type { Clock, TimerHandle } from '../../lib/clock.js';
import { upstreamAuthHeaders } from '../../protocols/auth.js';
import { encodeSseAll, SseDecoder } from '../../protocols/sse.js';
import type { EndpointModel, RelayModel } from '../config/model.js';
import { upstreamModel } from '../config/model.js';
import { parseRetryAfter } from '../routing/error-classes.js';
import type { AttemptResult } from './attempt-loop.js';
import type { Exchange } from './exchange.js';
import { downstreamHeaders, upstreamHeaders } from './headers.js';
import type { UpstreamPools } from './pools.js';

export interface AttemptEnv {
  config: RelayModel;
  clock: Clock;
  pools: UpstreamPools;
}

/** Cap on an error body kept in memory to hand back to the client. */
const MAX_ERROR_BODY = 1 << 20;

const authCache = new WeakMap<EndpointModel, Record<string, string>>();
function authHeaders(ep: EndpointModel): Record<string, string> {
  let h = authCache.get(ep);
  if (!h) {
    h = upstreamAuthHeaders(ep.type, ep.token, { accountId: ep.accountId });
    authCache.set(ep, h);
  }
  return h;
}

/** The upstream path for an endpoint: its base URL's path, the route's path, the client's query. */
export function upstreamPath(ep: EndpointModel, ex: Exchange): string {
  let prefix = ep.pathPrefix;
  // Codex's ChatGPT backend lives under /backend-api/codex; a bare origin means the standard place.
  if (ep.type === 'chatgpt-oauth' && prefix === '') prefix = '/backend-api/codex';
  let path = ex.route.upstreamPath(ep.type);
  // A base URL that already ends in /v1 must not get a second one.
  if (prefix.endsWith('/v1') && path.startsWith('/v1/')) path = path.slice(3);
  return prefix + path + ex.query;
}

/** The body for an endpoint: the client's bytes unless the model must be renamed. */
function bodyFor(ep: EndpointModel, ex: Exchange): Buffer | string {
  if (ex.model === undefined) return ex.rawBody;
  const target = upstreamModel(ep, ex.model);
  if (target === ex.model && !ex.forcedType) return ex.rawBody;
  return JSON.stringify(ex.protocol.withModel(ex.body, target));
}

function waitDrain(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function isJson(headers: Record<string, string | string[] | undefined>): boolean {
  const ct = headers['content-type'];
  return typeof ct === 'string' && ct.includes('json');
}

function isEventStream(headers: Record<string, string | string[] | undefined>): boolean {
  const ct = headers['content-type'];
  return typeof ct === 'string' && ct.includes('text/event-stream');
}

async function readLimited(body: Dispatcher.ResponseData['body'], limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) {
      chunks.push(chunk.subarray(0, Math.max(0, limit - (size - chunk.length))));
      body.destroy();
      break;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function readAll(body: Dispatcher.ResponseData['body']): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

export async function attemptUpstream(env: AttemptEnv, ex: Exchange, ep: EndpointModel): Promise<AttemptResult> {
  if (ex.clientGone) return { kind: 'aborted', committed: false };
  const { config, clock } = env;
  const ac = new AbortController();
  ex.current = ac;
  let timedOut = false;
  let timer: TimerHandle | undefined;
  const arm = (ms: number) => {
    timer?.cancel();
    timer = ms > 0 ? clock.setTimeout(() => {
      timedOut = true;
      ac.abort(new Error('upstream timeout'));
    }, ms) : undefined;
  };
  const body = bodyFor(ep, ex);
  const length = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  const headers = upstreamHeaders(ex.req.headers, authHeaders(ep), ex.requestId, length);
  // Anthropic requires a version header; clients on Bearer / OpenAI-style stacks may not send one.
  if (ep.type === 'claude' && headers['anthropic-version'] === undefined) headers['anthropic-version'] = '2023-06-01';
  // Streams must show their first event within first_byte_timeout; a non-stream answer may
  // take long (a 64k-token completion), bounded only by upstream_timeout.
  arm(ex.info.stream ? Math.min(config.retry.first_byte_timeout, config.retry.upstream_timeout) : config.retry.upstream_timeout);

  let resp: Dispatcher.ResponseData;
  try {
    resp = await env.pools.get(ep.origin).request({
      method: 'POST',
      path: upstreamPath(ep, ex),
      headers,
      body,
      signal: ac.signal,
    });
  } catch (err) {
    timer?.cancel();
    if (ex.clientGone) return { kind: 'aborted', committed: false };
    const outcome = timedOut ? 'timeout' : ex.info.stream && diedAfterSending(err) ? 'stream_cut_before_first_event' : 'connect_error';
    return { kind: 'failed', committed: false, outcome, message: (err as Error).message };
  }

  const status = resp.statusCode;
  try {
    if (status < 200 || status >= 300) {
      const errBody = await readLimited(resp.body, MAX_ERROR_BODY);
      timer?.cancel();
      return {
        kind: 'failed',
        committed: false,
        outcome: status,
        status,
        retryAfterMs: parseRetryAfter(resp.headers, clock.now()),
        reply: { status, headers: resp.headers, body: errBody },
        message: `upstream answered ${status}`,
      };
    }
    if (!isEventStream(resp.headers)) return await deliverJson(env, ex, resp, status, () => timer?.cancel());
    return await deliverStream(env, ex, resp, status, arm, () => timer?.cancel());
  } catch (err) {
    timer?.cancel();
    resp.body.destroy();
    if (ex.clientGone) return { kind: 'aborted', committed: ex.committed };
    const outcome = timedOut ? 'timeout' : !ex.committed && isEventStream(resp.headers) ? 'stream_cut_before_first_event' : 'stream_truncated';
    if (ex.committed) endBrokenStream(ex, `upstream stream failed: ${(err as Error).message}`);
    return { kind: 'failed', committed: ex.committed, outcome, status, message: (err as Error).message };
  } finally {
    timer?.cancel();
    if (ex.current === ac) ex.current = undefined;
  }
}

async function deliverJson(
  env: AttemptEnv,
  ex: Exchange,
  resp: Dispatcher.ResponseData,
  status: number,
  stopTimer: () => void,
): Promise<AttemptResult> {
  const data = await readAll(resp.body);
  stopTimer();
  if (ex.clientGone) return { kind: 'aborted', committed: false };
  let parsed: unknown;
  try {
    parsed = JSON.parse(data.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined && isJson(resp.headers)) {
    // A JSON answer that does not parse was cut short (a clean end mid-body): nothing went to the
    // client yet, so this is a failed attempt like a stream without its terminal event, never a broken 200.
    return { kind: 'failed', committed: false, outcome: 'stream_truncated', status, message: 'upstream JSON body is incomplete' };
  }
  if (parsed !== undefined) {
    ex.usage = ex.protocol.usageFromBody(parsed);
    if (!ex.usage) ex.outputText = ex.protocol.textFromBody(parsed);
  }
  const headers = downstreamHeaders(resp.headers, ex.requestId);
  headers['content-length'] = String(data.length);
  ex.committed = true;
  ex.ttfbAt = env.clock.now();
  ex.res.writeHead(status, headers);
  ex.res.end(data);
  return { kind: 'ok', committed: true, status };
}

async function deliverStream(
  env: AttemptEnv,
  ex: Exchange,
  resp: Dispatcher.ResponseData,
  status: number,
  arm: (ms: number) => void,
  stopTimer: () => void,
): Promise<AttemptResult> {
  const decoder = new SseDecoder();
  const observer = ex.protocol.createObserver();
  ex.observer = observer;
  const res = ex.res;
  let pending: Buffer[] | undefined = [];

  for await (const chunk of resp.body as AsyncIterable<Buffer>) {
    const events = decoder.push(chunk);
    for (let i = 0; i < events.length; i++) observer.push(events[i]);
    if (pending) {
      pending.push(chunk);
      if (events.length === 0) continue;
      if (observer.error && !observer.complete) {
        // An error event before anything reached the client: a failed attempt, retryable.
        resp.body.destroy();
        return { kind: 'failed', committed: false, outcome: streamErrorOutcome(observer.error), status, message: observer.error.message };
      }
      // Commit point: the first whole event goes to the client.
      if (ex.clientGone) return { kind: 'aborted', committed: false };
      arm(env.config.retry.upstream_timeout);
      ex.committed = true;
      ex.ttfbAt = env.clock.now();
      res.writeHead(status, downstreamHeaders(resp.headers, ex.requestId));
      const first = pending.length === 1 ? pending[0] : Buffer.concat(pending);
      pending = undefined;
      if (!res.write(first)) await waitDrain(res);
    } else {
      if (events.length > 0) arm(env.config.retry.upstream_timeout);
      if (!res.write(chunk)) await waitDrain(res);
    }
    if (ex.clientGone) {
      resp.body.destroy();
      return { kind: 'aborted', committed: ex.committed };
    }
  }
  for (const ev of decoder.flush()) observer.push(ev);
  stopTimer();
  ex.usage = observer.usage;
  ex.outputText = observer.text;

  if (pending) {
    // Ended before its first event: nothing was sent, another endpoint may answer.
    return { kind: 'failed', committed: false, outcome: 'stream_truncated', status, message: 'upstream stream ended before its first event' };
  }
  if (observer.complete) {
    res.end();
    if (observer.error && !observer.error.incomplete) {
      return { kind: 'failed', committed: true, outcome: streamErrorOutcome(observer.error), status, message: observer.error.message };
    }
    return { kind: 'ok', committed: true, status };
  }
  if (observer.error) {
    // The upstream's own error event already went to the client.
    res.end();
    return { kind: 'failed', committed: true, outcome: streamErrorOutcome(observer.error), status, message: observer.error.message };
  }
  endBrokenStream(ex, 'upstream stream ended without its terminal event');
  return { kind: 'failed', committed: true, outcome: 'stream_truncated', status, message: 'stream ended without its terminal event' };
}

/** Codes of a connection that was up and carried the request, then closed or was reset before the answer. */
const DIED_AFTER_SENDING = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'UND_ERR_CLOSED']);
function diedAfterSending(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string } };
  return DIED_AFTER_SENDING.has(e?.code ?? '') || DIED_AFTER_SENDING.has(e?.cause?.code ?? '');
}

/** An in-stream overload (Anthropic's overloaded_error) is classed like a 529, any other error event as a stream error. */
function streamErrorOutcome(error: { type: string }): 'stream_overloaded' | 'stream_error' {
  return error.type === 'overloaded_error' ? 'stream_overloaded' : 'stream_error';
}

/** After the commit point: end the client's stream with the protocol's error event, never silently. */
export function endBrokenStream(ex: Exchange, message: string): void {
  const res = ex.res;
  if (res.writableEnded || res.destroyed) return;
  try {
    res.end(encodeSseAll(ex.protocol.streamErrorEvents(message, undefined, ex.observer?.splice ?? {})));
  } catch {
    res.destroy();
  }
}
