/**
 * One request/response in flight: what has been written so far and how it ended. The writers
 * update it as they go; the server turns it into a journal entry when the response closes, so
 * a stream cut after 7 events is journaled as exactly 7 events and the tokens they carried.
 */
import type { ServerResponse } from 'node:http';
import type { Clock, TimerHandle } from '../lib/clock.js';
import type { Usage } from '../protocols/types.js';

export class Exchange {
  status: number | null = null;
  eventsSent = 0;
  bytesSent = 0;
  disconnect: 'fin' | 'rst' | null = null;
  usage: Usage | null = null;
  /** The response reached its planned end (or a planned cut). */
  done = false;
  clientAborted = false;
  private timer: TimerHandle | undefined;
  private readonly cleanups: (() => void)[] = [];

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
  write(chunk: string): boolean {
    this.bytesSent += Buffer.byteLength(chunk);
    return this.res.write(chunk);
  }

  end(chunk?: string): void {
    if (chunk !== undefined) this.bytesSent += Buffer.byteLength(chunk);
    this.done = true;
    this.res.end(chunk);
  }

  /** Ends the response abnormally: FIN mid-body (no chunked terminator), RST, or a clean HTTP end. */
  cut(mode: 'fin' | 'rst' | 'end'): void {
    this.done = true;
    if (mode === 'end') {
      this.res.end();
      return;
    }
    this.disconnect = mode;
    const socket = this.res.socket;
    if (!socket) {
      this.res.destroy();
      return;
    }
    if (mode === 'rst') {
      socket.resetAndDestroy();
    } else {
      // Flush what was written, then half-close: the client sees EOF before the body's end.
      socket.end();
    }
  }

  /** Waits on the exchange's clock; cancelled if the client goes away. */
  after(ms: number, fn: () => void): void {
    if (ms <= 0) {
      fn();
      return;
    }
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      if (!this.res.destroyed) fn();
    }, ms);
  }

  /** Continues once the socket drained (or right away if it is gone). */
  whenDrained(fn: () => void): void {
    this.res.once('drain', fn);
  }

  onCleanup(fn: () => void): void {
    this.cleanups.push(fn);
  }

  /** Called when the response closed, whichever way. */
  close(): void {
    this.timer?.cancel();
    this.timer = undefined;
    if (!this.done) this.clientAborted = true;
    for (const fn of this.cleanups) fn();
  }
}
