/**
 * One request/response in flight: what has been written so far and how it ended. The writers
 * update it as they go; the server turns it into a journal entry when the response closes, so
 * a stream cut after 7 events is journaled as exactly 7 events and the tokens they carried.
 */
import type { ServerResponse } from 'node:http';
import type { Clock, TimerHandle } from '../lib/clock.js';
import type { Usage } from '../protocols/types.js';

/** Real time between the last bytes and a FIN/RST cut (an I/O ordering grace, not simulated time). */
export const CUT_GRACE_MS = 15;

export class Exchange {
  status: number | null = null;
  eventsSent = 0;
  bytesSent = 0;
  disconnect: 'fin' | 'rst' | null = null;
  usage: Usage | null = null;
  /** The generated answer's text tokens (one per content event, text first), when there is one. */
  textTokens: readonly string[] | undefined = undefined;
  /** Content events of the answer (not its reasoning) written so far (one generated token each; a whole body: all of them). */
  contentEventsSent = 0;
  /** The assistant prefill the request ended with, or null. */
  prefill: string | null = null;
  /** The response reached its planned end (or a planned cut). */
  done = false;
  clientAborted = false;
  private timer: TimerHandle | undefined;
  private readonly cleanups: (() => void)[] = [];
  finished = false;
  /** Called once: when the mock ended the response (end or cut), or when the client left first. */
  onFinish: (() => void) | undefined;

  constructor(
    readonly res: ServerResponse,
    readonly clock: Clock,
  ) {}

  get closed(): boolean {
    return this.res.destroyed || this.res.writableEnded;
  }

  writeHead(status: number, headers: Record<string, string | number>): void {
    this.status = status;
    this.res.writeHead(status, headers);
  }

  /** Writes a piece of body; returns false when the socket asks us to wait for 'drain'. */
  write(chunk: string | Buffer): boolean {
    this.bytesSent += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    return this.res.write(chunk);
  }

  end(chunk?: string | Buffer): void {
    if (chunk !== undefined) this.bytesSent += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    this.done = true;
    this.res.end(chunk);
    this.finish();
  }

  /** Marks the planned end (journals now, so a client that saw the end finds the entry). */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    for (const fn of this.cleanups) fn();
    this.onFinish?.();
  }

  /**
   * Ends the response abnormally: FIN mid-body (no chunked terminator), RST, or a clean HTTP end.
   * FIN and RST wait a moment of real time first: bytes and the close arriving in one read would
   * make a client fail the request before it saw the headers, which is not a mid-stream cut.
   */
  cut(mode: 'fin' | 'rst' | 'end'): void {
    this.done = true;
    if (mode === 'end') {
      this.res.end();
      this.finish();
      return;
    }
    this.disconnect = mode;
    const socket = this.res.socket;
    this.finish();
    if (!socket) {
      this.res.destroy();
      return;
    }
    setTimeout(() => {
      if (socket.destroyed) return;
      if (mode === 'rst') socket.resetAndDestroy();
      // Half-close after what was written: the client sees EOF before the body's end.
      else socket.end();
    }, CUT_GRACE_MS);
  }

  /** Waits on the exchange's clock; cancelled if the client goes away. */
  after(ms: number, fn: () => void): void {
    if (ms <= 0) {
      fn();
      return;
    }
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      if (this.res.destroyed) return;
      try {
        fn();
      } catch {
        // A bug in a timed step must not take the process down: drop this one response.
        this.res.destroy();
      }
    }, ms);
  }

  /** Continues once the socket drained (or right away if it is gone). */
  whenDrained(fn: () => void): void {
    this.res.once('drain', fn);
  }

  /** Runs once when the response is over (finished by the mock or abandoned by the client). */
  onCleanup(fn: () => void): void {
    this.cleanups.push(fn);
  }

  /** The text of the content written so far (what the client could read of the answer). */
  get textSent(): string | null {
    if (!this.textTokens) return null;
    return this.textTokens.slice(0, Math.min(this.contentEventsSent, this.textTokens.length)).join('');
  }

  /** Called when the response closed, whichever way. */
  close(): void {
    this.timer?.cancel();
    this.timer = undefined;
    if (!this.done) this.clientAborted = true;
    this.finish();
  }
}
