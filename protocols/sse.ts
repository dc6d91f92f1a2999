/**
 * Server-sent events on the wire: one encoder and one decoder for every protocol. The decoder is
 * eventsource-parser 3 behind a UTF-8 streaming TextDecoder, so events and multi-byte characters
 * split across any chunk boundary come out whole. Malformed input never throws: it is counted.
 */
import { createParser, type EventSourceParser } from 'eventsource-parser';
import type { SseEvent } from './types.js';

/** `event:` (optional), `id:` (optional), then one `data:` line per line of data, blank line. */
export function encodeSse(ev: SseEvent): string {
  let out = '';
  if (ev.event !== undefined) out += `event: ${ev.event}\n`;
  if (ev.id !== undefined) out += `id: ${ev.id}\n`;
  const data = ev.data;
  if (data.indexOf('\n') === -1 && data.indexOf('\r') === -1) return `${out}data: ${data}\n\n`;
  for (const line of data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return out + '\n';
}

export function encodeSseAll(events: readonly SseEvent[]): string {
  let out = '';
  for (const ev of events) out += encodeSse(ev);
  return out;
}

/** OpenAI's stream terminator. */
export const DONE_DATA = '[DONE]';

export function isDone(ev: SseEvent): boolean {
  return ev.data === DONE_DATA;
}

export interface SseParseProblem {
  type: string;
  message: string;
  line?: string;
}

export class SseDecoder {
  private readonly parser: EventSourceParser;
  private readonly utf8 = new TextDecoder('utf-8');
  private pending: SseEvent[] = [];
  /** Lines the SSE grammar could not use (unknown fields, bad retry); the stream goes on. */
  readonly problems: SseParseProblem[] = [];
  /** Comment lines (`: keep-alive`) seen; some upstreams send them as pings. */
  comments = 0;

  constructor() {
    this.parser = createParser({
      onEvent: (m) => {
        const ev: SseEvent = { data: m.data };
        if (m.event !== undefined) ev.event = m.event;
        if (m.id !== undefined) ev.id = m.id;
        this.pending.push(ev);
      },
      onError: (err) => {
        if (this.problems.length < 100) this.problems.push({ type: err.type, message: err.message, line: err.line });
      },
      onComment: () => {
        this.comments++;
      },
    });
  }

  /** true once any malformed line was seen. */
  get malformed(): boolean {
    return this.problems.length > 0;
  }

  /** Feeds bytes or text; returns the events completed by this chunk (possibly none). */
  push(chunk: string | Uint8Array): SseEvent[] {
    const text = typeof chunk === 'string' ? chunk : this.utf8.decode(chunk, { stream: true });
    if (text.length > 0) this.parser.feed(text);
    return this.drain();
  }

  /**
   * Ends the stream. An event without its terminating blank line is, per the SSE spec, never
   * dispatched; `flush` returns nothing for it (a cut stream's half event is lost, as in browsers).
   */
  flush(): SseEvent[] {
    const rest = this.utf8.decode();
    if (rest.length > 0) this.parser.feed(rest);
    this.parser.reset({ consume: false });
    return this.drain();
  }

  private drain(): SseEvent[] {
    if (this.pending.length === 0) return [];
    const out = this.pending;
    this.pending = [];
    return out;
  }
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * Where the last whole event in `buf` ends: just after its last blank line (an empty line ends an
 * event; a line ends with \n, \r\n or \r), 0 when no event ends in it. `buf` starts at an event
 * boundary. O(1) when it ends on a boundary, as an upstream's writes usually do.
 */
export function wholeEventsEnd(buf: Uint8Array): number {
  let i = buf.length - 1;
  while (i > 0) {
    const c = buf[i];
    if (c !== LF && c !== CR) {
      i--;
      continue;
    }
    // The line terminator ending at i starts at s (\r\n is one terminator).
    const s = c === LF && buf[i - 1] === CR ? i - 1 : i;
    const before = s > 0 ? buf[s - 1] : -1;
    // The line it ends is empty: the terminator follows another one.
    if (before === LF || before === CR) return i + 1;
    i = s - 1;
  }
  return 0;
}

/** true when `buf` holds anything but line terminators (a partial event, not the rest of a \r\n). */
function hasText(buf: Uint8Array): boolean {
  for (let i = 0; i < buf.length; i++) if (buf[i] !== LF && buf[i] !== CR) return true;
  return false;
}

/**
 * Cuts a byte stream at event boundaries, so that a relay forwards whole events only: `take`
 * returns the bytes up to the last whole event and keeps the rest until its end arrives. What is
 * left when the stream stops is a partial event, which must never reach a client (an error event
 * written after half an event merges with it in the client's parser).
 */
export class SseFramer {
  private rest: Buffer | undefined;

  /** The whole events completed by `chunk` (possibly empty); a chunk that ends on a boundary is returned as is. */
  take(chunk: Buffer): Buffer {
    const buf = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    const end = wholeEventsEnd(buf);
    if (end === buf.length) {
      this.rest = undefined;
      return buf;
    }
    this.rest = buf.subarray(end);
    return buf.subarray(0, end);
  }

  /** Bytes of a partial event waiting for its end (0 when the stream stands at a boundary). */
  get partialBytes(): number {
    return this.rest && hasText(this.rest) ? this.rest.length : 0;
  }
}
