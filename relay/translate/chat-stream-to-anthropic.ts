/**
 * A Chat Completions stream as the Messages stream an Anthropic client expects, event by event:
 *
 *   first chunk          -> message_start (usage 0: Chat reports usage only at the end)
 *   delta.content        -> content_block_start(text) once, then content_block_delta(text_delta)
 *   delta.tool_calls     -> a new call (id, name): the open block stops, content_block_start(tool_use);
 *                           its arguments: content_block_delta(input_json_delta)
 *   finish_reason        -> content_block_stop of the open block (an empty text block if none opened)
 *   usage chunk          -> message_delta { stop_reason, usage: input, cache reads, output }
 *   [DONE]               -> message_stop
 *   { error }            -> event: error
 *
 * message_delta waits for the usage chunk (the relay asks for it: `stream_options.include_usage`),
 * so the client's final usage is the upstream's. An upstream that sends none: at [DONE] or at the
 * end of the stream, message_delta carries the relay's estimate (protocols/tokens.ts). A stream
 * that ends after its finish without [DONE] gets message_delta here and message_stop from the
 * relay's repair; one that ends before its finish gets nothing more (the relay ends it as cut).
 * Only the first choice is translated (Messages has one answer).
 */
import { anthropicUsage } from '../../protocols/anthropic.js';
import { readChatUsage } from '../../protocols/openai-chat.js';
import { DONE_DATA } from '../../protocols/sse.js';
import { tokensForChars } from '../../protocols/tokens.js';
import { ZERO_USAGE, type SseEvent, type Usage } from '../../protocols/types.js';
import { isObject, str, tryParse, type Json } from '../../protocols/util.js';
import { anthropicMessageId } from './chat-answer-to-anthropic.js';
import { anthropicErrorEvent } from './errors.js';
import type { EventTranslator, StreamContext } from './event-translator.js';
import { anthropicStopReason } from './stop-reasons.js';

function event(type: string, data: Json): SseEvent {
  return { event: type, data: JSON.stringify({ type, ...data }) };
}

export class ChatToAnthropicStream implements EventTranslator {
  private started = false;
  /** The block being written (its Anthropic index), undefined between blocks. */
  private open: number | undefined;
  private openKind: 'text' | 'tool_use' | undefined;
  private nextBlock = 0;
  /** Chat tool_calls index -> Anthropic block index. */
  private readonly tools = new Map<number, number>();
  private stopReason: string | undefined;
  private usage: Usage | undefined;
  private delta = false;
  private stopped = false;
  /** Characters of text and tool arguments delivered: the output estimate when no usage comes. */
  private chars = 0;

  constructor(private readonly ctx: Pick<StreamContext, 'estimatedInputTokens'>) {}

  push(ev: SseEvent): SseEvent[] {
    if (this.stopped) return [];
    if (ev.data === DONE_DATA) {
      const out = this.finish();
      this.stopped = true;
      out.push(event('message_stop', {}));
      return out;
    }
    const data = tryParse(ev.data);
    // Not JSON: passed on as it came, so the client (and the relay's reading of the stream) sees the same broken event.
    if (!isObject(data)) return [ev];
    if (isObject(data.error)) return [anthropicErrorEvent(data.error)];
    const out: SseEvent[] = [];
    if (!this.started) out.push(this.start(data));
    if (isObject(data.usage)) this.usage = readChatUsage(data.usage) ?? this.usage;
    const choice = Array.isArray(data.choices) ? data.choices.find((c) => isObject(c) && (c.index ?? 0) === 0) : undefined;
    if (isObject(choice)) {
      const d = isObject(choice.delta) ? choice.delta : {};
      if (typeof d.content === 'string' && d.content !== '') this.text(d.content, out);
      if (Array.isArray(d.tool_calls)) for (const call of d.tool_calls) if (isObject(call)) this.toolCall(call, out);
      const finish = str(choice.finish_reason);
      if (finish !== undefined && this.stopReason === undefined) {
        this.stopReason = anthropicStopReason(finish);
        if (this.open === undefined && this.nextBlock === 0) this.openBlock({ type: 'text', text: '' }, out);
        this.closeBlock(out);
      }
    }
    // The usage that message_delta reports has come (with the finish, or in its own chunk).
    if (this.stopReason !== undefined && this.usage !== undefined && !this.delta) out.push(this.messageDelta(this.usage));
    return out;
  }

  end(): SseEvent[] {
    return this.stopped ? [] : this.finish();
  }

  /** message_delta if the model finished and it was not written yet (with an estimate when no usage came). */
  private finish(): SseEvent[] {
    if (this.stopReason === undefined || this.delta) return [];
    return [this.messageDelta(this.usage ?? this.estimate())];
  }

  private estimate(): Usage {
    return { inputTokens: this.ctx.estimatedInputTokens, outputTokens: tokensForChars(this.chars), cacheWriteTokens: 0, cacheReadTokens: 0 };
  }

  private start(data: Json): SseEvent {
    this.started = true;
    return event('message_start', {
      message: {
        id: anthropicMessageId(str(data.id)),
        type: 'message',
        role: 'assistant',
        model: str(data.model) ?? '',
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: anthropicUsage(ZERO_USAGE),
      },
    });
  }

  private text(text: string, out: SseEvent[]): void {
    if (this.openKind !== 'text') {
      this.closeBlock(out);
      this.openBlock({ type: 'text', text: '' }, out);
    }
    this.chars += text.length;
    out.push(event('content_block_delta', { index: this.open, delta: { type: 'text_delta', text } }));
  }

  private toolCall(call: Json, out: SseEvent[]): void {
    const index = typeof call.index === 'number' ? call.index : 0;
    const fn = isObject(call.function) ? call.function : {};
    let block = this.tools.get(index);
    if (block === undefined) {
      this.closeBlock(out);
      block = this.openBlock({ type: 'tool_use', id: str(call.id) ?? `toolu_${index}`, name: str(fn.name) ?? '', input: {} }, out);
      this.tools.set(index, block);
    }
    const args = str(fn.arguments);
    if (args) {
      this.chars += args.length;
      out.push(event('content_block_delta', { index: block, delta: { type: 'input_json_delta', partial_json: args } }));
    }
  }

  private openBlock(block: Json, out: SseEvent[]): number {
    const index = this.nextBlock++;
    this.open = index;
    this.openKind = block.type === 'text' ? 'text' : 'tool_use';
    out.push(event('content_block_start', { index, content_block: block }));
    return index;
  }

  private closeBlock(out: SseEvent[]): void {
    if (this.open === undefined) return;
    out.push(event('content_block_stop', { index: this.open }));
    this.open = undefined;
    this.openKind = undefined;
  }

  private messageDelta(usage: Usage): SseEvent {
    this.delta = true;
    const u = anthropicUsage(usage);
    return event('message_delta', {
      delta: { stop_reason: this.stopReason, stop_sequence: null },
      usage: { input_tokens: u.input_tokens, cache_creation_input_tokens: u.cache_creation_input_tokens, cache_read_input_tokens: u.cache_read_input_tokens, output_tokens: u.output_tokens },
    });
  }
}
