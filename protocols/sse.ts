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
