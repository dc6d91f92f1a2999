/**
 * Anthropic Messages API (POST /v1/messages), as the official SDK and Claude Code see it.
 * Field names follow @anthropic-ai/sdk resources/messages: Message, Usage, RawMessageStreamEvent.
 *
 * Stream order (a thinking block when the request asked for thinking, text, then an optional
 * tool_use block when the request had tools):
 *   message_start (usage: input + cache tokens, output_tokens 1)
 *   [content_block_start(0, {type: thinking, thinking: '', signature: ''}) · ping ·
 *    content_block_delta(thinking_delta)* · content_block_delta(signature_delta) · content_block_stop(0)]
 *   content_block_start(i, text) · [ping] · content_block_delta(text_delta)* · content_block_stop(i)
 *   [content_block_start(1, tool_use) · content_block_delta(input_json_delta)* · content_block_stop(1)]
 *   message_delta {delta:{stop_reason, stop_sequence}, usage:{output_tokens}} · message_stop
 * Errors mid-stream: `event: error` data {type:'error', error:{type:'overloaded_error', ...}}.
 */
import { opaqueBlob } from './reasoning.js';
import { estimateInputTokens, tokensForChars } from './tokens.js';
import type {
  ErrorOptions,
  ErrorReply,
  GeneratedContent,
  LabeledEvent,
  Protocol,
  RequestInfo,
  ResponseIds,
  SessionKey,
  SseEvent,
  StreamErrorOptions,
  StreamObserver,
  StreamPhase,
  UpstreamError,
  Usage,
  ContinuationCodec,
  ContinuationTrack,
} from './types.js';
import {
  contentText,
  hashedKey,
  header,
  isObject,
  jsonReply,
  num,
  prefixed,
  replaceModel,
  str,
  tryParse,
  type Headers,
  type Json,
} from './util.js';

/** Status -> error.type, as api.anthropic.com answers. */
export function anthropicErrorType(status: number): string {
  switch (status) {
    case 400:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 402:
      return 'billing_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 503:
    case 529:
      return 'overloaded_error';
    case 504:
      return 'timeout_error';
    default:
      return status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

function requestInfo(body: unknown): RequestInfo {
  const b: Json = isObject(body) ? body : {};
  return {
    model: str(b.model),
    stream: b.stream === true,
    maxOutputTokens: num(b.max_tokens),
    estimatedInputTokens: estimateInputTokens('anthropic', body),
    // Anthropic streams always carry usage.
    includeUsage: true,
    hasTools: Array.isArray(b.tools) && b.tools.length > 0,
  };
}

function invalid(message: string): ErrorReply {
  return errorReply(400, message);
}

function validate(body: unknown): ErrorReply | undefined {
  if (!isObject(body)) return invalid('Request body must be a JSON object');
  if (body.model === undefined) return invalid('model: Field required');
  if (typeof body.model !== 'string') return invalid('model: Input should be a valid string');
  if (body.messages === undefined) return invalid('messages: Field required');
  if (!Array.isArray(body.messages)) return invalid('messages: Input should be a valid list');
  if (body.messages.length === 0) return invalid('messages: at least one message is required');
  if (body.max_tokens === undefined) return invalid('max_tokens: Field required');
  if (typeof body.max_tokens !== 'number' || !Number.isInteger(body.max_tokens)) {
    return invalid('max_tokens: Input should be a valid integer');
  }
  if (body.max_tokens < 1) return invalid('max_tokens: Input should be greater than or equal to 1');
  if (body.stream !== undefined && typeof body.stream !== 'boolean') {
    return invalid('stream: Input should be a valid boolean');
  }
  return undefined;
}

function errorReply(status: number, message: string, opts: ErrorOptions = {}): ErrorReply {
  const body: Json = { type: 'error', error: { type: opts.type ?? anthropicErrorType(status), message } };
  const headers: Record<string, string> = {};
  if (opts.requestId !== undefined) {
    body.request_id = opts.requestId;
    headers['request-id'] = opts.requestId;
  }
  const retryAfter = opts.retryAfterSeconds ?? (status === 429 ? 1 : undefined);
  if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
  return jsonReply(status, body, headers);
}

function errorEvent(type: string, message: string): SseEvent {
  return { event: 'error', data: JSON.stringify({ type: 'error', error: { type, message } }) };
}

function streamErrorEvents(message: string, type = 'api_error'): SseEvent[] {
  return [errorEvent(type, message)];
}

function terminalEvents(): SseEvent[] {
  return [{ event: 'message_stop', data: '{"type":"message_stop"}' }];
}

/** Usage as the Message object carries it. */
export function anthropicUsage(u: Usage): Json {
  return {
    input_tokens: u.inputTokens,
    cache_creation_input_tokens: u.cacheWriteTokens,
    cache_read_input_tokens: u.cacheReadTokens,
    cache_creation: { ephemeral_5m_input_tokens: u.cacheWriteTokens, ephemeral_1h_input_tokens: 0 },
    output_tokens: u.outputTokens,
    service_tier: 'standard',
  };
}

function readUsage(raw: unknown): Usage | undefined {
  if (!isObject(raw)) return undefined;
  const input = num(raw.input_tokens);
  const output = num(raw.output_tokens);
  if (input === undefined && output === undefined) return undefined;
  return {
    inputTokens: input ?? 0,
    outputTokens: output ?? 0,
    cacheWriteTokens: num(raw.cache_creation_input_tokens) ?? 0,
    cacheReadTokens: num(raw.cache_read_input_tokens) ?? 0,
  };
}

function errorFromBody(body: unknown): UpstreamError | undefined {
  if (!isObject(body) || body.type !== 'error' || !isObject(body.error)) return undefined;
  return { type: str(body.error.type) ?? 'api_error', message: str(body.error.message) ?? '' };
}

function usageFromBody(body: unknown): Usage | undefined {
  return isObject(body) ? readUsage(body.usage) : undefined;
}

function textFromBody(body: unknown): string {
  if (!isObject(body) || !Array.isArray(body.content)) return '';
  let out = '';
  for (const block of body.content) {
    if (isObject(block) && block.type === 'text' && typeof block.text === 'string') out += block.text;
  }
  return out;
}

function stopReasonFromBody(body: unknown): string | undefined {
  return isObject(body) ? str(body.stop_reason) : undefined;
}

function modelOf(req: RequestInfo, body: unknown): string {
  return req.model ?? (isObject(body) ? str(body.model) : undefined) ?? 'claude-sonnet-4-6';
}

function toolUseId(id: string): string {
  return prefixed('toolu_', id);
}

/**
 * The thinking block's text and signature. With `display: omitted` the text is empty and the
 * signature still comes (the real API's words: "thinking content is redacted but a signature is
 * returned for multi-turn continuity"); the tokens are billed either way.
 */
function thinkingOf(content: GeneratedContent): { thinking: string; signature: string } | undefined {
  const r = content.reasoning;
  if (!r) return undefined;
  const words = r.tokens.join('');
  return { thinking: r.shown ? words : '', signature: opaqueBlob(`thinking\u0000${words}`, 344, 'Eq') };
}

function buildResponse(req: RequestInfo, body: unknown, content: GeneratedContent, usage: Usage, ids: ResponseIds): Json {
  const blocks: Json[] = [];
  const thinking = thinkingOf(content);
  if (thinking) blocks.push({ type: 'thinking', thinking: thinking.thinking, signature: thinking.signature });
  const text = content.tokens.join('');
  if (text.length > 0 || !content.toolCall) blocks.push({ type: 'text', text });
  if (content.toolCall) {
    const c = content.toolCall;
    blocks.push({ type: 'tool_use', id: toolUseId(c.id), name: c.name, input: c.input });
  }
  return {
    id: prefixed('msg_', ids.id),
    type: 'message',
    role: 'assistant',
    model: modelOf(req, body),
    content: blocks,
    stop_reason: content.stopReason,
    stop_sequence: null,
    stop_details: null,
    container: null,
    usage: anthropicUsage(usage),
  };
}

function ev(event: string, data: Json, phase: StreamPhase, chars?: number, reasoning?: true): LabeledEvent {
  const out: LabeledEvent = { event, data: JSON.stringify(data), phase };
  if (chars !== undefined) out.chars = chars;
  if (reasoning) out.reasoning = true;
  return out;
}

function buildStream(req: RequestInfo, body: unknown, content: GeneratedContent, usage: Usage, ids: ResponseIds): LabeledEvent[] {
  const events: LabeledEvent[] = [];
  events.push(
    ev(
      'message_start',
      {
        type: 'message_start',
        message: {
          id: prefixed('msg_', ids.id),
          type: 'message',
          role: 'assistant',
          model: modelOf(req, body),
          content: [],
          stop_reason: null,
          stop_sequence: null,
          stop_details: null,
          container: null,
          usage: { ...anthropicUsage(usage), output_tokens: Math.min(1, usage.outputTokens) },
        },
      },
      'start',
    ),
  );
  let index = 0;
  let pinged = false;
  const ping = () => {
    if (!pinged) events.push(ev('ping', { type: 'ping' }, 'ping'));
    pinged = true;
  };
  const thinking = thinkingOf(content);
  if (thinking) {
    events.push(ev('content_block_start', { type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '', signature: '' } }, 'start', undefined, true));
    ping();
    if (content.reasoning!.shown) {
      for (const t of content.reasoning!.tokens) {
        events.push(ev('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: t } }, 'content', t.length, true));
      }
    }
    // The signature comes whole, just before the block's stop; it is no output token of its own.
    events.push(ev('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: thinking.signature } }, 'content', 0, true));
    events.push(ev('content_block_stop', { type: 'content_block_stop', index }, 'content_end'));
    index++;
  }
  if (content.tokens.length > 0 || !content.toolCall) {
    events.push(ev('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } }, 'start'));
    ping();
    for (const t of content.tokens) {
      events.push(ev('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: t } }, 'content', t.length));
    }
    events.push(ev('content_block_stop', { type: 'content_block_stop', index }, 'content_end'));
    index++;
  }
  if (content.toolCall) {
    const c = content.toolCall;
    events.push(
      ev(
        'content_block_start',
        { type: 'content_block_start', index, content_block: { type: 'tool_use', id: toolUseId(c.id), name: c.name, input: {} } },
        'start',
      ),
    );
    ping();
    for (const piece of c.argumentChunks) {
      events.push(
        ev('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: piece } }, 'content', piece.length),
      );
    }
    events.push(ev('content_block_stop', { type: 'content_block_stop', index }, 'content_end'));
  }
  events.push(
    ev(
      'message_delta',
      {
        type: 'message_delta',
        delta: { stop_reason: content.stopReason, stop_sequence: null },
        usage: { output_tokens: usage.outputTokens },
      },
      'usage',
    ),
  );
  events.push(ev('message_stop', { type: 'message_stop' }, 'terminal'));
  return events;
}

function buildStreamError(kind: 'overloaded' | 'failed' | 'incomplete'): LabeledEvent[] {
  // Anthropic has no "incomplete" stream end: every non-overload failure is an api_error.
  const e = kind === 'overloaded' ? errorEvent('overloaded_error', 'Overloaded') : errorEvent('api_error', 'Internal server error');
  return [{ ...e, phase: 'error' }];
}

/** Output characters a content_block_delta carries: text, thinking, or a piece of tool input JSON. */
function deltaChars(d: Json): number {
  for (const field of ['text', 'thinking', 'partial_json']) {
    const v = d[field];
    if (typeof v === 'string') return v.length;
  }
  return 0;
}

class AnthropicObserver implements StreamObserver {
  /** Whether `text` joins the text deltas (off: a consumer that only counts, the relay). */
  constructor(private readonly keepText = true) {}

  usage: Usage | undefined = undefined;
  text = '';
  complete = false;
  finished = false;
  stopReason: string | undefined = undefined;
  error: { type: string; message: string } | undefined = undefined;
  contentEvents = 0;
  /** Characters of text, thinking and tool input the content deltas carried. */
  private outputChars = 0;
  malformed = 0;
  readonly splice: StreamErrorOptions = {};

  get contentTokens(): number {
    return tokensForChars(this.outputChars);
  }

  push(event: SseEvent): StreamPhase {
    // Ping carries nothing: classify it without parsing.
    if (event.event === 'ping') return 'ping';
    const data = tryParse(event.data);
    if (!isObject(data)) {
      this.malformed++;
      return 'content';
    }
    const type = typeof data.type === 'string' ? data.type : event.event;
    switch (type) {
      case 'content_block_delta': {
        const d = data.delta;
        if (this.keepText && isObject(d) && d.type === 'text_delta' && typeof d.text === 'string') this.text += d.text;
        if (isObject(d)) this.outputChars += deltaChars(d);
        this.contentEvents++;
        return 'content';
      }
      case 'message_start':
        if (isObject(data.message)) this.usage = readUsage(data.message.usage);
        return 'start';
      case 'content_block_start':
        return 'start';
      case 'content_block_stop':
        return 'content_end';
      case 'message_delta':
        this.mergeDelta(data.usage);
        // The model's own end: the stop_reason (end_turn, max_tokens, tool_use ...) is only ever set here.
        if (isObject(data.delta) && data.delta.stop_reason !== null && data.delta.stop_reason !== undefined) {
          this.finished = true;
          this.stopReason = str(data.delta.stop_reason);
        }
        return 'usage';
      case 'message_stop':
        this.complete = true;
        this.finished = true;
        return 'terminal';
      case 'ping':
        return 'ping';
      case 'error': {
        const e = isObject(data.error) ? data.error : {};
        this.error = { type: str(e.type) ?? 'api_error', message: str(e.message) ?? '' };
        return 'error';
      }
      default:
        // Unknown event types are ignored by the SDK; treat as content-neutral start noise.
        return 'start';
    }
  }

  /** message_delta usage is cumulative; fields it carries override message_start's. */
  private mergeDelta(raw: unknown): void {
    if (!isObject(raw)) return;
    const base: Usage = this.usage ?? { inputTokens: 0, outputTokens: 0, cacheWriteTokens: 0, cacheReadTokens: 0 };
    this.usage = {
      inputTokens: num(raw.input_tokens) ?? base.inputTokens,
      outputTokens: num(raw.output_tokens) ?? base.outputTokens,
      cacheWriteTokens: num(raw.cache_creation_input_tokens) ?? base.cacheWriteTokens,
      cacheReadTokens: num(raw.cache_read_input_tokens) ?? base.cacheReadTokens,
    };
  }
}

/** session_id inside metadata.user_id: JSON form (current Claude Code) or the legacy string form. */
export function sessionFromUserId(userId: string): string | undefined {
  if (userId.startsWith('{')) {
    const parsed = tryParse(userId);
    return isObject(parsed) ? str(parsed.session_id) || undefined : undefined;
  }
  // user_<hash>_account_<uuid or empty>_session_<uuid>
  const at = userId.lastIndexOf('_session_');
  if (at === -1) return undefined;
  const id = userId.slice(at + '_session_'.length);
  return id.length > 0 ? id : undefined;
}

function firstMessageText(body: Json): string | undefined {
  if (!Array.isArray(body.messages) || body.messages.length === 0) return undefined;
  const m = body.messages[0];
  if (!isObject(m)) return undefined;
  const text = contentText(m.content);
  return text.length > 0 ? text : JSON.stringify(m.content ?? null);
}

function sessionKey(headers: Headers, body: unknown): SessionKey | undefined {
  const h = header(headers, 'x-claude-code-session-id');
  if (h) return { source: 'header:x-claude-code-session-id', value: h };
  if (!isObject(body)) return undefined;
  if (isObject(body.metadata) && typeof body.metadata.user_id === 'string' && body.metadata.user_id !== '') {
    // Claude Code's user_id names its session; any other user_id still names who is asking.
    return { source: 'metadata.user_id', value: sessionFromUserId(body.metadata.user_id) ?? body.metadata.user_id };
  }
  return hashedKey('first-message', firstMessageText(body));
}

/**
 * Assistant prefill: a trailing assistant message is the start of the answer, and the model goes
 * on from its last character (the answer's content does not repeat it). The API refuses a prefill
 * that ends in whitespace ("final assistant content cannot end with trailing whitespace"), so the
 * prefill leaves it out and the continuation's own leading whitespace is dropped in its place.
 */
function prefillOf(body: unknown): string | undefined {
  if (!isObject(body) || !Array.isArray(body.messages) || body.messages.length === 0) return undefined;
  const last = body.messages[body.messages.length - 1];
  if (!isObject(last) || last.role !== 'assistant') return undefined;
  return contentText(last.content);
}

function withPrefill(body: unknown, text: string): unknown {
  if (!isObject(body) || !Array.isArray(body.messages)) return body;
  const messages = [...body.messages];
  const last = messages[messages.length - 1];
  if (isObject(last) && last.role === 'assistant') {
    // The client's own prefill: the answer so far goes on after it, in the same turn.
    const content = typeof last.content === 'string' ? last.content + text : [...(Array.isArray(last.content) ? last.content : []), { type: 'text', text }];
    messages[messages.length - 1] = { ...last, content: trimEndContent(content) };
  } else {
    messages.push({ role: 'assistant', content: text.trimEnd() });
  }
  return { ...body, messages };
}

function trimEndContent(content: string | unknown[]): string | unknown[] {
  if (typeof content === 'string') return content.trimEnd();
  const out = [...content];
  const last = out[out.length - 1];
  if (isObject(last) && typeof last.text === 'string') out[out.length - 1] = { ...last, text: last.text.trimEnd() };
  return out;
}

/**
 * Follows the client's stream: the message id, the blocks and whether one is open, the text.
 * Any block other than text (tool_use, thinking, server tools) makes the answer one that is
 * never continued as prose.
 */
class AnthropicTrack implements ContinuationTrack {
  text = '';
  private reason: string | undefined;
  /** Index of the open block (undefined between blocks), and the highest index seen (-1: none). */
  private open: number | undefined;
  private last = -1;

  get blocked(): string | undefined {
    return this.reason ?? (this.text.trim() === '' ? 'no text was delivered yet' : undefined);
  }

  push(event: SseEvent): void {
    if (event.event === 'ping') return;
    const data = tryParse(event.data);
    if (!isObject(data)) return;
    switch (data.type) {
      case 'content_block_start': {
        const index = num(data.index) ?? this.last + 1;
        const type = isObject(data.content_block) ? str(data.content_block.type) : undefined;
        if (type !== 'text') this.reason ??= `the answer has a ${type ?? 'non-text'} block`;
        this.open = index;
        this.last = Math.max(this.last, index);
        return;
      }
      case 'content_block_delta':
        if (isObject(data.delta) && data.delta.type === 'text_delta' && typeof data.delta.text === 'string') this.text += data.delta.text;
        return;
      case 'content_block_stop':
        this.open = undefined;
        return;
    }
  }

  splicer(before: Usage): (event: SseEvent) => SseEvent[] {
    // The continuation's block 0 is the client's open text block, or the next one when none is open.
    const base = this.open ?? this.last + 1;
    const continuesOpen = this.open !== undefined;
    let trimLead = this.text.trimEnd() !== this.text;
    /** The continuation's own input usage, from its message_start (a message_delta may repeat it). */
    let start: Usage | undefined;
    return (event) => {
      if (event.event === 'ping') return [event];
      const data = tryParse(event.data);
      if (!isObject(data)) return [event];
      switch (data.type) {
        case 'message_start':
          // The client has its message_start (its id, its input usage).
          if (isObject(data.message)) start = readUsage(data.message.usage);
          return [];
        case 'content_block_start': {
          const index = num(data.index) ?? 0;
          if (index === 0 && continuesOpen) return [];
          return [reindexed(event, data, base + index)];
        }
        case 'content_block_delta': {
          const index = num(data.index) ?? 0;
          const d = data.delta;
          if (trimLead && isObject(d) && d.type === 'text_delta' && typeof d.text === 'string') {
            trimLead = false;
            const text = d.text.trimStart();
            if (text === '') return [];
            return [reindexed(event, { ...data, delta: { ...d, text } }, base + index)];
          }
          trimLead = false;
          return [reindexed(event, data, base + index)];
        }
        case 'content_block_stop':
          return [reindexed(event, data, base + (num(data.index) ?? 0))];
        case 'message_delta': {
          const u = isObject(data.usage) ? data.usage : {};
          const sum: Json = {
            ...u,
            input_tokens: before.inputTokens + (num(u.input_tokens) ?? start?.inputTokens ?? 0),
            cache_creation_input_tokens: before.cacheWriteTokens + (num(u.cache_creation_input_tokens) ?? start?.cacheWriteTokens ?? 0),
            cache_read_input_tokens: before.cacheReadTokens + (num(u.cache_read_input_tokens) ?? start?.cacheReadTokens ?? 0),
            output_tokens: before.outputTokens + (num(u.output_tokens) ?? 0),
          };
          return [{ event: 'message_delta', data: JSON.stringify({ ...data, usage: sum }) }];
        }
        default:
          return [event];
      }
    };
  }
}

function reindexed(event: SseEvent, data: Json, index: number): SseEvent {
  return { event: event.event, data: JSON.stringify({ ...data, index }) };
}

export const anthropicContinuation: ContinuationCodec = {
  prefillOf,
  withPrefill,
  track: () => new AnthropicTrack(),
};

export const anthropic: Protocol = {
  id: 'anthropic',
  requestInfo,
  validate,
  errorReply,
  streamErrorEvents,
  terminalEvents,
  errorFromBody,
  usageFromBody,
  textFromBody,
  stopReasonFromBody,
  createObserver: (options) => new AnthropicObserver(options?.text),
  sessionKey,
  withModel: replaceModel,
  buildResponse,
  buildStream,
  buildStreamError,
  continuation: anthropicContinuation,
};
