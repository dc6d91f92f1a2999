/**
 * A Messages stream as the Chat Completions stream a Chat client expects, event by event:
 *
 *   message_start                     -> the role chunk (delta: role assistant, content '')
 *   content_block_start(tool_use)     -> a tool_calls delta with the call's index, id and name
 *   content_block_delta(text_delta)   -> delta.content
 *   content_block_delta(input_json_delta) -> a tool_calls delta with the arguments piece
 *   content_block_delta(thinking_delta) -> delta.reasoning_content (the compatible APIs' form)
 *   message_delta                     -> the finish_reason chunk, then the usage chunk (choices: [])
 *   message_stop                      -> data: [DONE]
 *   event: error                      -> { error } chunk
 *   ping, content_block_start(text / thinking), content_block_stop, signature_delta -> nothing
 *
 * The usage chunk is always written (the relay bills from it, and keeps it from a client that
 * did not ask for it: relay/proxy/stream-usage.ts); its usage is message_start's input and cache
 * tokens merged with message_delta's cumulative counts, as Anthropic reports them. Every chunk
 * repeats the completion's id, created and model; with include_usage they carry `usage: null`.
 * Thinking goes on as `reasoning_content` (DeepSeek's and vLLM's field; OpenAI's SDK ignores it),
 * so a long thinking phase still shows the relay and the client a live stream.
 */
import { chatUsage } from '../../protocols/openai-chat.js';
import { DONE_DATA } from '../../protocols/sse.js';
import type { SseEvent, Usage } from '../../protocols/types.js';
import { isObject, num, str, tryParse, type Json } from '../../protocols/util.js';
import { chatCompletionId } from './anthropic-answer-to-chat.js';
import { chatErrorChunk } from './errors.js';
import type { EventTranslator, StreamContext } from './event-translator.js';
import { chatFinishReason } from './stop-reasons.js';

export class AnthropicToChatStream implements EventTranslator {
  private id = chatCompletionId(undefined);
  private model = '';
  private usage: Usage = { inputTokens: 0, outputTokens: 0, cacheWriteTokens: 0, cacheReadTokens: 0 };
  /** Anthropic block index -> Chat tool_calls index, for tool_use blocks. */
  private readonly tools = new Map<number, number>();
  private finished = false;

  constructor(private readonly ctx: Pick<StreamContext, 'created' | 'includeUsage'>) {}

  push(ev: SseEvent): SseEvent[] {
    if (ev.event === 'ping') return [];
    const data = tryParse(ev.data);
    // Not JSON: passed on as it came, so the client (and the relay's reading of the stream) sees the same broken event.
    if (!isObject(data)) return [ev];
    switch (data.type ?? ev.event) {
      case 'message_start': {
        const m = isObject(data.message) ? data.message : {};
        this.id = chatCompletionId(str(m.id));
        this.model = str(m.model) ?? '';
        this.mergeUsage(m.usage);
        return [this.chunk({ role: 'assistant', content: '' })];
      }
      case 'content_block_start': {
        const block = isObject(data.content_block) ? data.content_block : {};
        if (block.type !== 'tool_use') return [];
        const index = this.tools.size;
        this.tools.set(num(data.index) ?? 0, index);
        return [this.chunk({ tool_calls: [{ index, id: str(block.id) ?? '', type: 'function', function: { name: str(block.name) ?? '', arguments: '' } }] })];
      }
      case 'content_block_delta': {
        const d = isObject(data.delta) ? data.delta : {};
        if (d.type === 'text_delta' && typeof d.text === 'string') return d.text === '' ? [] : [this.chunk({ content: d.text })];
        if (d.type === 'input_json_delta' && typeof d.partial_json === 'string' && d.partial_json !== '') {
          const index = this.tools.get(num(data.index) ?? 0);
          return index === undefined ? [] : [this.chunk({ tool_calls: [{ index, function: { arguments: d.partial_json } }] })];
        }
        if (d.type === 'thinking_delta' && typeof d.thinking === 'string' && d.thinking !== '') return [this.chunk({ reasoning_content: d.thinking })];
        return [];
      }
      case 'message_delta': {
        this.mergeUsage(data.usage);
        const d = isObject(data.delta) ? data.delta : {};
        if (this.finished || d.stop_reason === null || d.stop_reason === undefined) return [];
        this.finished = true;
        return [this.chunk({}, chatFinishReason(str(d.stop_reason))), { data: this.envelope([], chatUsage(this.usage)) }];
      }
      case 'message_stop':
        return [{ data: DONE_DATA }];
      case 'error':
        return [chatErrorChunk(data)];
      default:
        return [];
    }
  }

  end(): SseEvent[] {
    return [];
  }

  /** message_start reports input and cache tokens; message_delta's counts are cumulative and win. */
  private mergeUsage(raw: unknown): void {
    if (!isObject(raw)) return;
    const u = this.usage;
    this.usage = {
      inputTokens: num(raw.input_tokens) ?? u.inputTokens,
      outputTokens: num(raw.output_tokens) ?? u.outputTokens,
      cacheWriteTokens: num(raw.cache_creation_input_tokens) ?? u.cacheWriteTokens,
      cacheReadTokens: num(raw.cache_read_input_tokens) ?? u.cacheReadTokens,
    };
  }

  private chunk(delta: Json, finish: string | null = null): SseEvent {
    return { data: this.envelope([{ index: 0, delta, logprobs: null, finish_reason: finish }], null) };
  }

  private envelope(choices: Json[], usage: Json | null): string {
    const out: Json = { id: this.id, object: 'chat.completion.chunk', created: this.ctx.created, model: this.model, choices };
    if (usage !== null || this.ctx.includeUsage) out.usage = usage;
    return JSON.stringify(out);
  }
}
