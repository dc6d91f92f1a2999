/**
 * One upstream HTTP request on undici's dispatch API. pool.request() wraps every answer in a
 * Readable that the relay then reads through an async iterator; for a JSON or error answer that
 * machinery cost about a tenth of the relay's CPU per request. Here the handler collects such a
 * body into one Buffer itself, and hands an event stream's chunks straight to its reader, with
 * backpressure (pause / resume), to be passed through chunk by chunk.
 *
 * Kept as pool.request() behaved: the promise settles at the response head (or with the error
 * that came before it), 1xx heads are skipped, aborting the signal fails the request (before the
 * head) or the body (after it) with the signal's reason, and an error body past its limit is cut
 * there and its connection closed.
 */
import { errors, type Dispatcher } from 'undici';
import type { Abortable, AttemptSignal } from './attempt-signal.js';

type Headers = Record<string, string | string[] | undefined>;

export type UpstreamResponse =
  | { statusCode: number; headers: Headers; stream: undefined; body: Promise<Buffer> }
  | { statusCode: number; headers: Headers; stream: UpstreamEventStream; body: undefined };

export interface UpstreamRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body: Buffer | string;
}

export function isEventStream(headers: Headers): boolean {
  const ct = headers['content-type'];
  return typeof ct === 'string' && ct.includes('text/event-stream');
}

/**
 * Sends the request. A 2xx event stream comes back as `stream`; every other answer as `body`,
 * the whole of it for a 2xx and at most `errorLimit` bytes otherwise.
 */
export function requestUpstream(dispatcher: Dispatcher, req: UpstreamRequest, signal: AttemptSignal, errorLimit: number): Promise<UpstreamResponse> {
  return new Promise((resolve, reject) => {
    dispatcher.dispatch(req, new UpstreamHandler(resolve, reject, signal, errorLimit));
  });
}

/** What reads an upstream event stream: called with each chunk as undici hands it over. */
export interface EventStreamReader {
  data(chunk: Buffer): void;
  end(): void;
  error(err: Error): void;
}

/**
 * A streamed answer, pushed chunk by chunk to one reader. No Readable: at 1,000 concurrent
 * streams its per-chunk machinery (a push, an async iterator step, a promise) was a large part
 * of the relay's CPU per forwarded event. Chunks that arrive before the reader attaches wait.
 */
export class UpstreamEventStream {
  /** Nothing left to abort: the answer ended or already failed. */
  settled = false;
  private reader: EventStreamReader | undefined;
  private early: Buffer[] | undefined = [];
  private outcome: { err?: Error } | undefined;

  constructor(private readonly controller: Dispatcher.DispatchController) {}

  /** Attaches the reader and replays what came before it. */
  read(reader: EventStreamReader): void {
    this.reader = reader;
    const early = this.early ?? [];
    this.early = undefined;
    for (const chunk of early) reader.data(chunk);
    if (this.outcome) this.deliverOutcome(reader, this.outcome);
  }

  /** Backpressure: the client's socket is full. */
  pause(): void {
    this.controller.pause();
  }

  resume(): void {
    this.controller.resume();
  }

  /** The relay gives up on the answer before its end: the upstream request is closed too. */
  destroy(err?: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.reader = undefined;
    this.controller.abort(err ?? new errors.RequestAbortedError());
  }

  push(chunk: Buffer): void {
    if (this.reader) this.reader.data(chunk);
    else this.early?.push(chunk);
  }

  finish(err?: Error): void {
    if (this.settled) return;
    this.settled = true;
    const outcome = { err };
    if (this.reader) this.deliverOutcome(this.reader, outcome);
    else this.outcome = outcome;
  }

  private deliverOutcome(reader: EventStreamReader, outcome: { err?: Error }): void {
    if (outcome.err) reader.error(outcome.err);
    else reader.end();
  }
}

class UpstreamHandler implements Dispatcher.DispatchHandler, Abortable {
  private controller: Dispatcher.DispatchController | undefined;
  private headReceived = false;
  private stream: UpstreamEventStream | undefined;
  private chunks: Buffer[] = [];
  private size = 0;
  private limit = Number.POSITIVE_INFINITY;
  private bodySettled = false;
  private resolveBody: ((body: Buffer) => void) | undefined;
  private rejectBody: ((err: Error) => void) | undefined;

  constructor(
    private readonly resolveHead: (r: UpstreamResponse) => void,
    private readonly rejectHead: (err: Error) => void,
    private readonly signal: AttemptSignal,
    private readonly errorLimit: number,
  ) {
    signal.attach(this);
  }

  /** The attempt was aborted. Before the request reaches a connection this is only noted: onRequestStart acts on it. */
  abortWith(reason: Error): void {
    this.controller?.abort(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.signal.aborted) controller.abort(this.signal.reason ?? new errors.RequestAbortedError());
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Headers): void {
    if (statusCode < 200) return;
    this.headReceived = true;
    const ok = statusCode >= 200 && statusCode < 300;
    if (ok && isEventStream(headers)) {
      this.stream = new UpstreamEventStream(controller);
      this.resolveHead({ statusCode, headers, stream: this.stream, body: undefined });
      return;
    }
    if (!ok) this.limit = this.errorLimit;
    const body = new Promise<Buffer>((resolve, reject) => {
      this.resolveBody = resolve;
      this.rejectBody = reject;
    });
    this.resolveHead({ statusCode, headers, stream: undefined, body });
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.stream) {
      this.stream.push(chunk);
      return;
    }
    if (this.bodySettled) return;
    this.size += chunk.length;
    if (this.size <= this.limit) {
      this.chunks.push(chunk);
      return;
    }
    // Past the limit: keep what fits and close the connection, the rest is never read.
    this.chunks.push(chunk.subarray(0, Math.max(0, this.limit - (this.size - chunk.length))));
    this.settleBody();
    controller.abort(new errors.RequestAbortedError());
  }

  onResponseEnd(): void {
    this.signal.attach(undefined);
    if (this.stream) {
      this.stream.finish();
      return;
    }
    this.settleBody();
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    this.signal.attach(undefined);
    if (!this.headReceived) {
      this.rejectHead(err);
    } else if (this.stream) {
      this.stream.finish(err);
    } else if (!this.bodySettled) {
      this.bodySettled = true;
      this.rejectBody?.(err);
    }
  }

  private settleBody(): void {
    if (this.bodySettled) return;
    this.bodySettled = true;
    const chunks = this.chunks;
    this.resolveBody?.(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
  }
}
