/**
 * The order a stream's events must come in, per protocol: the grammar a client SDK assumes
 * when it assembles an answer (a translating relay writes a stream its upstream never sent, so
 * a well-formed but misordered stream is its defect). strict-sse.ts judges each event's syntax;
 * this judges the sequence. One checker per stream: `push` every decoded event, then `end()`.
 *
 * Anthropic (Messages streaming): message_start first; content blocks opened with
 * content_block_start at index 0, 1, 2 ..., one at a time, their deltas at the open index,
 * closed by content_block_stop; message_delta (once) with no block open; message_stop last.
 * `ping` anywhere after message_start; an `error` event ends the stream wherever it comes.
 *
 * Chat Completions: every chunk a `chat.completion.chunk`; no content for a choice after its
 * finish_reason; a usage chunk (empty choices) only after every choice finished; `[DONE]` last.
 */
import { DONE_DATA } from '../../protocols/sse.js';
import type { ProtocolId, SseEvent } from '../../protocols/types.js';

export interface EventOrderCheck {
  push(event: SseEvent): void;
  /** The problems found (empty: in order); call once the stream is over. */
  end(): string[];
}

function parse(data: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(data) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** At most this many problems are kept per stream: the first ones explain the rest. */
const MAX_PROBLEMS = 5;

/** What both checkers share: the problems found, each named by its event's number. */
abstract class OrderCheck implements EventOrderCheck {
  protected problems: string[] = [];
  /** Events seen so far (the current one's number). */
  protected n = 0;

  protected bad(what: string): void {
    if (this.problems.length < MAX_PROBLEMS) this.problems.push(`event ${this.n}: ${what}`);
  }

  abstract push(event: SseEvent): void;
  abstract end(): string[];
}

class AnthropicOrder extends OrderCheck {
  private started = false;
  private open: number | undefined;
  private nextIndex = 0;
  private delta = false;
  private stopped = false;
  private errored = false;

  push(event: SseEvent): void {
    this.n++;
    const data = parse(event.data);
    const type = typeof data?.type === 'string' ? data.type : event.event;
    if (this.stopped || this.errored) return this.bad(`${type} after the stream's end`);
    if (type === 'error') {
      this.errored = true;
      return;
    }
    if (type === 'ping') {
      if (!this.started) this.bad('ping before message_start');
      return;
    }
    if (!this.started) {
      if (type !== 'message_start') this.bad(`${type} before message_start`);
      this.started = true;
      return;
    }
    const index = typeof data?.index === 'number' ? data.index : undefined;
    switch (type) {
      case 'message_start':
        return this.bad('a second message_start');
      case 'content_block_start':
        if (this.delta) return this.bad('content_block_start after message_delta');
        if (this.open !== undefined) this.bad(`content_block_start ${index} while block ${this.open} is open`);
        if (index !== this.nextIndex) this.bad(`content_block_start at index ${index}, expected ${this.nextIndex}`);
        this.open = index;
        this.nextIndex = (index ?? this.nextIndex) + 1;
        return;
      case 'content_block_delta':
        if (this.open === undefined || index !== this.open) this.bad(`content_block_delta at index ${index} with ${this.open === undefined ? 'no block' : `block ${this.open}`} open`);
        return;
      case 'content_block_stop':
        if (this.open === undefined || index !== this.open) this.bad(`content_block_stop at index ${index} with ${this.open === undefined ? 'no block' : `block ${this.open}`} open`);
        this.open = undefined;
        return;
      case 'message_delta':
        if (this.delta) this.bad('a second message_delta');
        if (this.open !== undefined) this.bad(`message_delta while block ${this.open} is open`);
        this.delta = true;
        return;
      case 'message_stop':
        if (!this.delta) this.bad('message_stop without a message_delta before it');
        this.stopped = true;
        return;
      default:
        return this.bad(`unknown event ${type}`);
    }
  }

  end(): string[] {
    if (!this.started) this.bad('no message_start');
    else if (!this.stopped && !this.errored) this.bad('no message_stop (nor error) at the end');
    return this.problems;
  }
}

class ChatOrder extends OrderCheck {
  private finished = new Set<number>();
  private choices = new Set<number>();
  private done = false;
  private errored = false;

  push(event: SseEvent): void {
    this.n++;
    if (this.done || this.errored) return this.bad('an event after the stream\u2019s end');
    if (event.data === DONE_DATA) {
      this.done = true;
      return;
    }
    const data = parse(event.data);
    if (!data) return this.bad('data that is not a JSON object');
    if (data.error !== undefined) {
      this.errored = true;
      return;
    }
    if (data.object !== 'chat.completion.chunk') this.bad(`object ${JSON.stringify(data.object)}, expected "chat.completion.chunk"`);
    const choices = Array.isArray(data.choices) ? (data.choices as Array<Record<string, unknown>>) : [];
    if (choices.length === 0) {
      // The usage chunk (stream_options.include_usage) comes after every choice finished.
      if (data.usage && [...this.choices].some((c) => !this.finished.has(c))) this.bad('the usage chunk before every choice finished');
      return;
    }
    for (const c of choices) {
      const index = typeof c.index === 'number' ? c.index : 0;
      this.choices.add(index);
      const delta = (c.delta ?? {}) as Record<string, unknown>;
      const content = (typeof delta.content === 'string' && delta.content !== '') || Array.isArray(delta.tool_calls);
      if (this.finished.has(index) && (content || (c.finish_reason !== null && c.finish_reason !== undefined))) this.bad(`choice ${index} goes on after its finish_reason`);
      if (c.finish_reason !== null && c.finish_reason !== undefined) this.finished.add(index);
    }
  }

  end(): string[] {
    if (!this.errored) {
      if ([...this.choices].some((c) => !this.finished.has(c)) || this.choices.size === 0) this.bad('a choice without its finish_reason');
      if (!this.done) this.bad('no [DONE] at the end');
    }
    return this.problems;
  }
}

/** The order checker of a protocol, or undefined where relaylab has no rules for it (Responses, custom-pass). */
export function eventOrderCheck(protocol: ProtocolId): EventOrderCheck | undefined {
  if (protocol === 'anthropic') return new AnthropicOrder();
  if (protocol === 'openai-chat') return new ChatOrder();
  return undefined;
}
