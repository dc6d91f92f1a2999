/**
 * One upstream attempt: send the client's body to one endpoint with that endpoint's own token,
 * then either hand the answer to the client or report why not, for the attempt loop.
 *
 * Streams pass through as the original bytes, whole events only, with backpressure; the
 * protocol's observer reads usage, the model's finish, terminal and error events on the side. The
 * commit point is the first event of the answer (start events and pings are held until it comes):
 * before it nothing has reached the client and a failure is retryable; after it the stream ends
 * in one place (endStream): complete, repaired when the model finished but the sentinel is
 * missing, or with the protocol's error event after the last whole event.
 *
 * A complete answer is charged before its last bytes leave (Exchange.chargeBeforeRelease): the
 * chunk with the terminal event, or the whole JSON body, waits for the charge to be written.
 *
 * Translation (relay/translate, an endpoint's `translate_from`) is one seam here: the request,
 * the path, the JSON answer and the error body are mapped, and a stream is read through a
 * translator, so the rest of the attempt (commit point, observer, repair, error events, billing)
 * works on the client's protocol unchanged. A translated attempt never holds its stream for a
 * continuation (`continuation: prefill` needs the upstream to speak the client's protocol).
 */
import type { ServerResponse } from 'node:http';
import type { Clock, TimerHandle } from '../../lib/clock.js';
import { upstreamAuthHeaders } from '../../protocols/auth.js';
import { encodeSse, encodeSseAll, SseDecoder, SseFramer } from '../../protocols/sse.js';
import type { Protocol, SseEvent, StreamObserver } from '../../protocols/types.js';
import type { EndpointModel, RelayModel } from '../config/model.js';
import { translationOf, upstreamModel } from '../config/model.js';
import { TranslatedEventStream, type Translation } from '../translate/index.js';
import type { EventSource } from '../translate/event-stream.js';
import { parseRetryAfter, refineOutcome, type Outcome } from '../routing/error-classes.js';
import type { AttemptResult } from './attempt-loop.js';
import { AttemptSignal } from './attempt-signal.js';
import type { Exchange } from './exchange.js';
import { downstreamHeaders, upstreamHeaders, type EndpointHeaders } from './headers.js';
import type { UpstreamPools } from './pools.js';
import { isPrefillRejection } from './continuation.js';
import { streamEnding } from './stream-ending.js';
import { askStreamUsage, relayAsksStreamUsage } from './stream-usage.js';
import { isEventStream, requestUpstream, type UpstreamResponse } from './upstream-request.js';

type UpstreamHeaders = Record<string, string | string[] | undefined>;

export interface AttemptEnv {
  config: RelayModel;
  clock: Clock;
  pools: UpstreamPools;
}

/** Cap on an error body kept in memory to hand back to the client. */
const MAX_ERROR_BODY = 1 << 20;

const headersCache = new WeakMap<EndpointModel, EndpointHeaders>();
/** What the endpoint adds to a request's headers, built once per endpoint model (a config change builds new ones). */
function endpointHeaders(ep: EndpointModel): EndpointHeaders {
  let h = headersCache.get(ep);
  if (!h) {
    h = { forward: ep.forwardHeaders, set: ep.setHeaders, auth: upstreamAuthHeaders(ep.type, ep.token, { accountId: ep.accountId }) };
    headersCache.set(ep, h);
  }
  return h;
}

/** The upstream path for an endpoint: its base URL's path, the route's path (a translation's API path), the client's query. */
export function upstreamPath(ep: EndpointModel, ex: Exchange, tr?: Translation): string {
  let prefix = ep.pathPrefix;
  // Codex's ChatGPT backend lives under /backend-api/codex; a bare origin means the standard place.
  if (ep.type === 'chatgpt-oauth' && prefix === '') prefix = '/backend-api/codex';
  let path = tr ? tr.path : ex.route.upstreamPath(ep.type);
  // A base URL that already ends in /v1 must not get a second one.
  if (prefix.endsWith('/v1') && path.startsWith('/v1/')) path = path.slice(3);
  return prefix + path + ex.query;
}

/**
 * The body for an endpoint: the client's bytes unless the model must be renamed, stream usage
 * asked for, or the answer so far added as a prefill (`prefill`, a continuation).
 */
function bodyFor(ep: EndpointModel, ex: Exchange, tr: Translation | undefined, prefill?: (body: unknown) => unknown): Buffer | string {
  const target = ex.model === undefined ? undefined : upstreamModel(ep, ex.model);
  // In the upstream's protocol, model named, stream usage asked for (the translation's own business).
  if (tr) return JSON.stringify(tr.request(ex.body, target));
  const renamed = target !== undefined && (target !== ex.model || ex.forcedType !== undefined);
  const askUsage = relayAsksStreamUsage(ex);
  if (!renamed && !askUsage && !prefill) return ex.rawBody;
  const body = askStreamUsage(ex, renamed ? ex.protocol.withModel(ex.body, target!) : ex.body);
  return JSON.stringify(prefill ? prefill(body) : body);
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

/**
 * The attempt's deadline (first byte, then inactivity): when it passes, the attempt is aborted
 * and counts as a timeout. A small object instead of arm/stop closures per attempt.
 */
class AttemptTimer {
  timedOut = false;
  private handle: TimerHandle | undefined;
  private deadline = 0;

  constructor(
    private readonly clock: Clock,
    private readonly signal: AttemptSignal,
  ) {}

  /** (Re)starts the deadline `ms` from now; 0 means none. */
  arm(ms: number): void {
    this.handle?.cancel();
    this.deadline = this.clock.now() + ms;
    this.handle = ms > 0 ? this.clock.setTimeout(() => this.expire(), ms) : undefined;
  }

  /**
   * Moves the deadline to `ms` from now, without a new timer: called for every event of a long
   * stream, where cancelling and creating a timer each time cost more than forwarding the event.
   * The running timer, when it fires early, waits out the rest.
   */
  extend(ms: number): void {
    this.deadline = this.clock.now() + ms;
  }

  cancel(): void {
    this.handle?.cancel();
    this.handle = undefined;
  }

  private expire(): void {
    const left = this.deadline - this.clock.now();
    if (left > 0) {
      this.handle = this.clock.setTimeout(() => this.expire(), left);
      return;
    }
    this.handle = undefined;
    this.timedOut = true;
    this.signal.abort(new Error('upstream timeout'));
  }
}

/**
 * An upstream's error answer as a failed attempt. A 401/403 is the relay's problem (its
 * credential, or the endpoint's configuration), never the client's: classified by what it says
 * (`authOutcome`), and its body is not kept, so it can never be handed to the client.
 */
export function upstreamErrorResult(protocol: Protocol, status: number, headers: UpstreamHeaders, body: Buffer, now: number, tr?: Translation): AttemptResult {
  // A translated attempt's error is classified in the upstream's own terms, and answered in the client's.
  const outcome = errorOutcome(tr ? tr.upstream : protocol, status, body);
  if (status === 401 || status === 403) {
    return { kind: 'failed', committed: false, outcome, status, message: "an upstream refused the relay's credentials" };
  }
  const reply = tr ? { status, headers: { ...headers, 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(tr.error(status, body, outcome === 'context_length_exceeded'))) } : { status, headers, body };
  return {
    kind: 'failed',
    committed: false,
    outcome,
    status,
    retryAfterMs: parseRetryAfter(headers, now),
    reply,
    message: `upstream answered ${status}`,
  };
}

/** A continuation's answer that is not a stream: never the client's (the original failure is); a 400 refusing the prefill has its own class. */
function continuationRefused(protocol: Protocol, failed: AttemptResult, body: Buffer): AttemptResult {
  let error;
  try {
    error = protocol.errorFromBody(JSON.parse(body.toString('utf8')));
  } catch {
    error = undefined;
  }
  const outcome = isPrefillRejection(failed.status ?? 0, error) ? 'prefill_rejected' : failed.outcome;
  return { ...failed, outcome, reply: undefined, message: error?.message ?? failed.message };
}

export async function attemptUpstream(env: AttemptEnv, ex: Exchange, ep: EndpointModel): Promise<AttemptResult> {
  if (ex.clientGone) return { kind: 'aborted', committed: false };
  const { config, clock } = env;
  const ac = new AttemptSignal();
  ex.current = ac;
  const tr = translationOf(ep, ex.protocol.id);
  const timer = new AttemptTimer(clock, ac);
  // A continuation: the stream the client is reading broke and waits (relay/proxy/continuation.ts).
  let splice: Splice | undefined;
  const body = bodyFor(ep, ex, tr, ex.continuation?.pending ? (b) => {
    const begun = ex.continuation!.begin(b);
    splice = begun.splice;
    return begun.body;
  } : undefined);
  /** Whether this attempt reached the client (its own commit point; a continuation's is its splice). */
  const delivery = { committed: false };
  const length = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  const headers = upstreamHeaders(ex.req.headers, endpointHeaders(ep), ex.requestId, length);
  // Anthropic requires a version header; clients on Bearer / OpenAI-style stacks may not send one.
  if (ep.type === 'claude' && headers['anthropic-version'] === undefined) headers['anthropic-version'] = '2023-06-01';
  // Streams must show their first event within first_byte_timeout; a non-stream answer may
  // take long (a 64k-token completion), bounded only by upstream_timeout.
  timer.arm(ex.info.stream ? Math.min(config.retry.first_byte_timeout, config.retry.upstream_timeout) : config.retry.upstream_timeout);

  let resp: UpstreamResponse;
  try {
    resp = await requestUpstream(env.pools.get(ep.origin), { method: 'POST', path: upstreamPath(ep, ex, tr), headers, body }, ac, MAX_ERROR_BODY);
  } catch (err) {
    timer.cancel();
    if (ex.clientGone) return { kind: 'aborted', committed: false };
    const outcome = timer.timedOut ? 'timeout' : ex.info.stream && diedAfterSending(err) ? 'stream_cut_before_first_event' : 'connect_error';
    return { kind: 'failed', committed: false, outcome, message: (err as Error).message };
  }

  const status = resp.statusCode;
  try {
    if (status < 200 || status >= 300) {
      // Never a stream (only a 2xx is), and at most MAX_ERROR_BODY bytes: requestUpstream cuts the rest.
      const errBody = await (resp.body as Promise<Buffer>);
      timer.cancel();
      const failed = upstreamErrorResult(ex.protocol, status, resp.headers, errBody, clock.now(), tr);
      return splice ? continuationRefused(ex.protocol, failed, errBody) : failed;
    }
    if (resp.body) {
      // A continuation is a stream; an upstream that answers it with JSON cannot be spliced in.
      if (splice) return { kind: 'failed', committed: false, outcome: 'stream_truncated', status, message: 'a continuation was answered without a stream' };
      return await deliverJson(env, ex, ep, resp.body, resp.headers, status, timer, tr);
    }
    const stream = tr ? new TranslatedEventStream(resp.stream, tr.stream({ created: Math.floor(clock.now() / 1000), estimatedInputTokens: ex.info.estimatedInputTokens, includeUsage: ex.info.includeUsage })) : resp.stream;
    return await deliverStream(env, ex, ep, stream, resp.headers, status, timer, splice, delivery, tr !== undefined);
  } catch (err) {
    timer.cancel();
    resp.stream?.destroy();
    if (ex.clientGone) return { kind: 'aborted', committed: delivery.committed };
    const outcome = timer.timedOut ? 'timeout' : !delivery.committed && isEventStream(resp.headers) ? 'stream_cut_before_first_event' : 'stream_truncated';
    if (delivery.committed) endBrokenStream(ex, `upstream stream failed: ${(err as Error).message}`);
    return { kind: 'failed', committed: delivery.committed, outcome, status, message: (err as Error).message };
  } finally {
    timer.cancel();
    if (ex.current === ac) ex.current = undefined;
  }
}

async function deliverJson(
  env: AttemptEnv,
  ex: Exchange,
  ep: EndpointModel,
  body: Promise<Buffer>,
  respHeaders: UpstreamHeaders,
  status: number,
  timer: AttemptTimer,
  tr: Translation | undefined,
): Promise<AttemptResult> {
  let data = await body;
  timer.cancel();
  if (ex.clientGone) return { kind: 'aborted', committed: false };
  let parsed: unknown;
  try {
    parsed = JSON.parse(data.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined && isJson(respHeaders)) {
    // A JSON answer that does not parse was cut short (a clean end mid-body): nothing went to the
    // client yet, so this is a failed attempt like a stream without its terminal event, never a broken 200.
    return { kind: 'failed', committed: false, outcome: 'stream_truncated', status, message: 'upstream JSON body is incomplete' };
  }
  if (tr) {
    // An answer the relay cannot read cannot be translated: a failed attempt, like one cut short.
    if (parsed === undefined) return { kind: 'failed', committed: false, outcome: 'stream_truncated', status, message: 'upstream answer is not JSON (cannot translate it)' };
    // Billed from the upstream's own usage (cache writes stay cache writes), then answered in the client's protocol.
    ex.usage = tr.upstream.usageFromBody(parsed);
    parsed = tr.answer(parsed, Math.floor(env.clock.now() / 1000));
    data = Buffer.from(JSON.stringify(parsed));
    if (!ex.usage) ex.outputText = ex.protocol.textFromBody(parsed);
  } else if (parsed !== undefined) {
    ex.usage = ex.protocol.usageFromBody(parsed);
    if (!ex.usage) ex.outputText = ex.protocol.textFromBody(parsed);
  }
  const headers = downstreamHeaders(respHeaders, ex.requestId);
  headers['content-length'] = String(data.length);
  if (tr) headers['content-type'] = 'application/json';
  ex.committed = true;
  await ex.chargeBeforeRelease?.(ep.name);
  ex.ttfbAt = env.clock.now();
  ex.res.writeHead(status, headers);
  ex.res.end(data);
  return { kind: 'ok', committed: true, status };
}

/** The stream ended by its protocol's rules with a usable answer (what endStream counts as ok). */
function answeredInFull(observer: StreamObserver): boolean {
  return observer.complete && (!observer.error || observer.error.incomplete === true);
}

/**
 * Bounds of what is held before the commit point: a stream that sends this many events or bytes
 * before any content is committed anyway (the client has waited long enough, and the relay's
 * memory per stream stays small).
 */
export const HOLD_EVENTS = 64;
export const HOLD_BYTES = 64 * 1024;

/**
 * Passes an event stream through as its chunks arrive (callbacks, no async iteration per chunk),
 * pausing the upstream while the client's socket drains.
 *
 * Commit point: the start events (message_start, a role-only chunk, response.created ...) and
 * pings are held until the first event that carries the answer (content, or its end), within
 * HOLD_EVENTS / HOLD_BYTES. An error or a cut before it is a failed attempt another endpoint can
 * retry, and the client never knows.
 *
 * Framing: only whole events are written to the client (SseFramer keeps a partial event until
 * its blank line arrives), so a stream that breaks leaves the client at an event boundary, where
 * the protocol's error event (or the relay's repair of a finished stream) can follow cleanly.
 *
 * Settles with the attempt's result once the client's stream is ended (endStream), or rejects
 * with the upstream's error before the commit point (the caller turns that into a retryable
 * failure).
 */
function deliverStream(
  env: AttemptEnv,
  ex: Exchange,
  ep: EndpointModel,
  body: EventSource,
  respHeaders: UpstreamHeaders,
  status: number,
  timer: AttemptTimer,
  splice: Splice | undefined,
  delivery: { committed: boolean },
  translated: boolean,
): Promise<AttemptResult> {
  const decoder = new SseDecoder();
  const framer = new SseFramer();
  // Counting is enough: a stream is billed from its usage or its delivered characters, and a
  // continuation follows the client's text in its own track.
  const observer = ex.protocol.createObserver({ text: false });
  const cont = ex.continuation;
  // A continuation's observer becomes the exchange's at its splice: until then, a failure of it
  // leaves the broken stream's, which the client's error event and its bill follow.
  if (!splice) ex.observer = observer;
  // What the client receives, followed so that a break can be continued: this attempt's events
  // from its commit on (a continuation's, as spliced, go on in the same track).
  const track = splice ? cont!.track : cont?.enabledFor(ep) && !translated ? cont.codec.track() : undefined;
  /** Spliced events held with the continuation's start events, tracked once it commits. */
  let heldTracked: SseEvent[] | undefined = splice ? [] : undefined;
  const res = ex.res;
  const idle = env.config.retry.upstream_timeout;
  // The relay asked for a usage chunk the client did not: events are re-encoded without it.
  const hideUsage = relayAsksStreamUsage(ex);
  /** Whole events held before the commit point; undefined once committed. */
  let held: Array<Buffer | string> | undefined = [];
  let heldBytes = 0;
  let heldEvents = 0;
  /** The charge that the terminal chunk waits for; the upstream's end waits for it too. */
  let charging: Promise<void> | undefined;

  return new Promise<AttemptResult>((resolve, reject) => {
    let settled = false;
    /** Runs `fn` for the first outcome only: later callbacks of a finished attempt are ignored. */
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
    };
    const stop = (result: AttemptResult) =>
      settle(() => {
        body.destroy();
        resolve(result);
      });
    const resumeWhenDrained = () => {
      body.pause();
      waitDrain(res).then(() => body.resume());
    };
    const write = (chunk: Buffer | string) => {
      if (chunk.length > 0 && !res.write(chunk)) resumeWhenDrained();
    };
    /**
     * Writes a chunk, or, when it completes the answer, charges first and writes it after.
     * `completes`: the chunk ends a complete answer (the terminal event, or a repair's sentinel).
     */
    const release = (chunk: Buffer | string, completes = answeredInFull(observer)) => {
      if (charging) {
        // Whatever follows the held chunk goes out after it, in order.
        charging = charging.then(() => (res.writableEnded || res.destroyed ? undefined : write(chunk)));
        return;
      }
      if (!ex.chargeBeforeRelease || !completes) return write(chunk);
      // The usage the answer reported is final now: the charge is made from it.
      ex.usage = observer.usage;
      body.pause();
      charging = ex.chargeBeforeRelease(ep.name).then(() => {
        if (!res.writableEnded && !res.destroyed) write(chunk);
        body.resume();
      });
    };
    /** The commit point: the headers and the held events go to the client; nothing is retried after this. */
    const commit = () => {
      delivery.committed = true;
      if (splice) {
        // The continuation takes over the client's open stream: no headers, same message.
        cont!.spliced();
        ex.observer = observer;
        for (const ev of heldTracked!) track!.push(ev);
        heldTracked = undefined;
      } else {
        ex.committed = true;
        ex.ttfbAt = env.clock.now();
        res.writeHead(status, downstreamHeaders(respHeaders, ex.requestId));
        if (cont && track) cont.track = track;
      }
      const first = held!.length === 1 ? held![0] : Buffer.concat(held!.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)));
      held = undefined;
      release(first);
    };
    /** One continuation event as the client gets it, tracked (after the splice) or held for the track (before). */
    const emitSpliced = (ev: SseEvent): string => {
      let out = '';
      for (const e of splice!(ev)) {
        if (heldTracked) heldTracked.push(e);
        else track!.push(e);
        out += encodeSse(e);
      }
      return out;
    };
    const data = (bytes: Buffer) => {
      const whole = framer.take(bytes);
      const events = decoder.push(bytes);
      // Whether the hold ends within this chunk (committed streams: at once): at the first event
      // past the start events and pings (content, its end, usage, the terminal, an error), or at
      // the HOLD_EVENTS-th event held.
      let commits = false;
      // An error event while holding: the attempt failed before the commit point.
      let errorFirst = false;
      const limit = held ? HOLD_EVENTS - heldEvents : 0;
      /** Events to keep from the client (the relay's usage chunk), by index in `events`. */
      let hidden: number[] | undefined;
      /** A continuation's events as the client gets them (spliced), encoded. */
      let spliced = '';
      for (let i = 0; i < events.length; i++) {
        const phase = observer.push(events[i]);
        if (hideUsage && phase === 'usage') (hidden ??= []).push(i);
        else if (splice) spliced += emitSpliced(events[i]);
        else if (track) track.push(events[i]);
        if (commits) continue;
        if (phase === 'error') errorFirst = true;
        if ((phase !== 'start' && phase !== 'ping') || i + 1 >= limit) commits = true;
      }
      let chunk: Buffer | string = whole;
      // The whole events go on as the upstream's bytes, unless the relay's usage chunk is among
      // them (or the bytes end on a bare \r, whose event the decoder has not read yet): then the
      // events are re-encoded without it.
      if (splice) chunk = spliced;
      else if (hideUsage && (hidden || whole[whole.length - 1] === CR)) chunk = encodeWithout(events, hidden);
      if (events.length > 0) {
        // The first event ends the first-byte wait; from then on, the inactivity limit.
        if (held && heldEvents === 0) timer.arm(idle);
        else timer.extend(idle);
      }
      if (held) {
        if (errorFirst && observer.error && !observer.complete) {
          // An error event before the answer began: a failed attempt, retryable.
          stop({ kind: 'failed', committed: false, outcome: streamErrorOutcome(observer.error), status, message: observer.error.message });
          return;
        }
        if (chunk.length > 0) held.push(chunk);
        heldBytes += chunk.length;
        heldEvents += events.length;
        if (!commits && heldBytes < HOLD_BYTES) return;
        if (ex.clientGone) return stop({ kind: 'aborted', committed: false });
        commit();
      } else {
        release(chunk);
      }
      if (ex.clientGone) stop({ kind: 'aborted', committed: ex.committed });
    };
    /** The upstream stopped (cleanly, or with `failure`): the client's stream is ended accordingly, once the charge is written. */
    const ended = (failure: Error | undefined) =>
      settle(() => {
        if (held) {
          // Nothing reached the client: another endpoint may answer.
          if (failure) return reject(failure);
          timer.cancel();
          return resolve({ kind: 'failed', committed: false, outcome: 'stream_truncated', status, message: 'upstream stream ended before the answer began' });
        }
        const finish = () => {
          try {
            const client: ClientWrites = { release, written: () => charging ?? Promise.resolve(), encode: splice ? emitSpliced : undefined };
            endStream(ex, ep, decoder, observer, failure, status, timer, hideUsage || splice !== undefined, framer.partialBytes, client, translated).then(resolve, reject);
          } catch (err) {
            reject(err);
          }
        };
        // The terminal chunk may still be waiting for its charge: it goes out first.
        if (charging) charging.then(finish, reject);
        else finish();
      });
    body.read({
      data: (chunk) => {
        if (settled) return;
        try {
          data(chunk);
        } catch (err) {
          // A bug on the relay's side must fail this attempt, not the process.
          settle(() => {
            body.destroy();
            reject(err);
          });
        }
      },
      end: () => ended(undefined),
      error: (err) => ended(err),
    });
  });
}

/** How endStream writes to the client: in order behind a pending charge (see deliverStream's release). */
interface ClientWrites {
  release(chunk: string, completes: boolean): void;
  /** Settles once everything released so far was written. */
  written(): Promise<void>;
  /** A continuation's event as the client gets it (spliced), instead of as the upstream sent it. */
  encode?: (ev: SseEvent) => string;
}

/** Maps a continuation's events onto the client's stream (ContinuationTrack.splicer). */
type Splice = (ev: SseEvent) => SseEvent[];

const CR = 0x0d;

/** The events as SSE, without those at the `skip` indexes. */
function encodeWithout(events: readonly SseEvent[], skip: readonly number[] | undefined): string {
  let out = '';
  for (let i = 0; i < events.length; i++) if (!skip?.includes(i)) out += encodeSse(events[i]);
  return out;
}

/**
 * The one place a committed stream ends: the upstream stopped, cleanly or with `failure` (a
 * reset, the inactivity limit), and the client's stream stands at an event boundary (a partial
 * event, `partialBytes` long, was held back and is dropped). What the attempt amounts to follows
 * from whether the model finished (stream-ending.ts), not from how the connection closed.
 */
async function endStream(
  ex: Exchange,
  ep: EndpointModel,
  decoder: SseDecoder,
  observer: StreamObserver,
  failure: Error | undefined,
  status: number,
  timer: AttemptTimer,
  reencoded: boolean,
  partialBytes: number,
  client: ClientWrites,
  translated: boolean,
): Promise<AttemptResult> {
  const res = ex.res;
  if (!failure) {
    for (const ev of decoder.flush()) {
      const phase = observer.push(ev);
      // A re-encoded stream forwards events, not bytes: a last event without its blank line goes out here.
      if (reencoded && phase !== 'usage' && !res.writableEnded) res.write(client.encode ? client.encode(ev) : encodeSse(ev));
    }
  }
  timer.cancel();
  ex.usage = observer.usage;
  const dropped = partialBytes > 0 ? { partialEventBytes: partialBytes } : undefined;
  if (ex.clientGone) return { kind: 'aborted', committed: true, ...dropped };
  switch (streamEnding(observer)) {
    case 'complete':
      res.end();
      return { kind: 'ok', committed: true, status, ...dropped };
    case 'failed':
      // The upstream's own error event already went to the client.
      res.end();
      return { kind: 'failed', committed: true, outcome: streamErrorOutcome(observer.error!), status, message: observer.error!.message, ...dropped };
    case 'repair':
      // The model finished; only the sentinel is missing. The relay writes it, after the charge like any terminal event.
      client.release(encodeSseAll(ex.protocol.terminalEvents()), true);
      await client.written();
      if (!res.writableEnded) res.end();
      return { kind: 'ok', committed: true, status, repaired: true, ...dropped };
    case 'cut':
      // The answer broke off before the model finished (`failure` says how). This is where a
      // mid-stream continuation would take over instead of the error event: the client's stream
      // stands at an event boundary, the observer holds what it saw (text, usage, splice).
      break;
  }
  const outcome = failure && timer.timedOut ? 'timeout' : 'stream_truncated';
  const message = failure ? `upstream stream failed: ${failure.message}` : 'upstream stream ended before the model finished';
  // Another endpoint may finish the answer: the client's stream stays open (relay/proxy/continuation.ts).
  const cont = ex.continuation;
  if (cont && !translated && !ex.clientGone && cont.hold(ep, observer, ex.info.estimatedInputTokens, { message, outcome }) === undefined) {
    return { kind: 'failed', committed: true, outcome, status, message, continuable: true, ...dropped };
  }
  endBrokenStream(ex, message);
  return { kind: 'failed', committed: true, outcome, status, message, ...dropped };
}
/** A 4xx whose body names its cause (context length, content policy, an auth failure that is not the credential's) has a row of its own; the rest are their status. */
function errorOutcome(protocol: Protocol, status: number, body: Buffer): Outcome {
  if (status < 400 || status >= 500 || status === 429 || body.length === 0) return status;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return status;
  }
  return refineOutcome(status, protocol.errorFromBody(parsed));
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
