/**
 * OpenAI Chat Completions (POST /v1/chat/completions). Field names follow the openai SDK
 * resources/chat/completions: ChatCompletion, ChatCompletionChunk, CompletionUsage.
 *
 * Stream: chunk{delta:{role:'assistant',content:'',refusal:null}} · chunk{delta:{content}}* ·
 *   [chunk{delta:{tool_calls:[{index,id,type,function:{name,arguments:''}}]}} ·
 *    chunk{delta:{tool_calls:[{index,function:{arguments}}]}}*] ·
 *   chunk{delta:{}, finish_reason} · [chunk{choices:[], usage} when stream_options.include_usage,
 *   every earlier chunk then carrying usage:null] · data: [DONE]
 * Errors mid-stream: `data: {"error":{message,type,param,code}}` (the SDK throws on it).
 */
import { openAiErrorFromBody, openAiErrorObject, openAiErrorReply } from './openai-shared.js';
import { DONE_DATA } from './sse.js';
import { estimateInputTokens, tokensForChars } from './tokens.js';
import type {
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
  Usage,
  ContinuationCodec,
  ContinuationTrack,
} from './types.js';
import { contentText, hashedKey, header, isObject, num, prefixed, replaceModel, str, tryParse, type Headers, type Json } from './util.js';

export const SYSTEM_FINGERPRINT = 'fp_6f2a1b9c0d';

function requestInfo(body: unknown): RequestInfo {
  const b: Json = isObject(body) ? body : {};
  return {
    model: str(b.model),
    stream: b.stream === true,
    maxOutputTokens: num(b.max_completion_tokens) ?? num(b.max_tokens),
    estimatedInputTokens: estimateInputTokens('openai-chat', body),
    includeUsage: isObject(b.stream_options) && b.stream_options.include_usage === true,
    hasTools: Array.isArray(b.tools) && b.tools.length > 0,
  };
}

function invalid(message: string, param: string | null, code: string | null): ErrorReply {
  return openAiErrorReply(400, message, { param, code });
}

function validate(body: unknown): ErrorReply | undefined {
  if (!isObject(body)) {
    return invalid("We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)", null, null);
  }
  if (body.model === undefined || body.model === null || body.model === '') {
    return invalid('you must provide a model parameter', null, null);
  }
  if (typeof body.model !== 'string') {
    return invalid(`Invalid type for 'model': expected a string, but got ${typeof body.model} instead.`, 'model', 'invalid_type');
  }
  if (body.messages === undefined) return invalid("Missing required parameter: 'messages'.", 'messages', 'missing_required_parameter');
  if (!Array.isArray(body.messages)) {
    return invalid(`Invalid type for 'messages': expected an array of objects, but got ${typeof body.messages} instead.`, 'messages', 'invalid_type');
  }
  if (body.messages.length === 0) {
    return invalid(
      "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
      'messages',
      'empty_array',
    );
  }
  if (body.stream_options !== undefined && body.stream_options !== null && body.stream !== true) {
    return invalid('The \'stream_options\' parameter is only allowed when \'stream\' is enabled.', 'stream_options', null);
  }
  return undefined;
}

/**
 * A copy of a streaming request that asks for the usage chunk, so a relay can bill a client that
 * did not ask; non-stream bodies come back unchanged. (Every chunk then carries `usage: null`,
 * which the SDKs accept; the reference relay keeps the extra usage chunk from the client,
 * relay/proxy/stream-usage.ts.)
 */
export function withStreamUsage(body: unknown): unknown {
  if (!isObject(body) || body.stream !== true) return body;
  const opts = isObject(body.stream_options) ? body.stream_options : {};
  if (opts.include_usage === true) return body;
  return { ...body, stream_options: { ...opts, include_usage: true } };
}

function errorChunk(message: string, type: string, code: string | null = null): SseEvent {
  return { data: JSON.stringify({ error: openAiErrorObject(message, type, code) }) };
}

function streamErrorEvents(message: string, type = 'server_error', opts: StreamErrorOptions = {}): SseEvent[] {
  return [errorChunk(message, type, opts.code ?? null)];
}

function terminalEvents(): SseEvent[] {
  return [{ data: DONE_DATA }];
}

/** CompletionUsage. OpenAI has no cache-write price: cache writes are plain prompt tokens. */
export function chatUsage(u: Usage): Json {
  const prompt = u.inputTokens + u.cacheWriteTokens + u.cacheReadTokens;
  return {
    prompt_tokens: prompt,
    completion_tokens: u.outputTokens,
    total_tokens: prompt + u.outputTokens,
    prompt_tokens_details: { cached_tokens: u.cacheReadTokens, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: u.reasoningTokens ?? 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

export function readChatUsage(raw: unknown): Usage | undefined {
  if (!isObject(raw)) return undefined;
  const prompt = num(raw.prompt_tokens);
  const completion = num(raw.completion_tokens);
  if (prompt === undefined && completion === undefined) return undefined;
  const details = isObject(raw.prompt_tokens_details) ? raw.prompt_tokens_details : undefined;
  // prompt_cache_hit_tokens: DeepSeek-style compatible upstreams.
  const cached = num(details?.cached_tokens) ?? num(raw.prompt_cache_hit_tokens) ?? 0;
  return {
    inputTokens: Math.max(0, (prompt ?? 0) - cached),
    outputTokens: completion ?? 0,
    cacheWriteTokens: 0,
    cacheReadTokens: cached,
  };
}

function usageFromBody(body: unknown): Usage | undefined {
  return isObject(body) ? readChatUsage(body.usage) : undefined;
}

function textFromBody(body: unknown): string {
  if (!isObject(body) || !Array.isArray(body.choices)) return '';
  const c = body.choices[0];
  if (!isObject(c) || !isObject(c.message)) return '';
  return typeof c.message.content === 'string' ? c.message.content : '';
}

function stopReasonFromBody(body: unknown): string | undefined {
  if (!isObject(body) || !Array.isArray(body.choices)) return undefined;
  const c = body.choices[0];
  return isObject(c) ? str(c.finish_reason) : undefined;
}

/** Anthropic stop_reason (the mocks' generated content speaks it too) -> Chat finish_reason. */
export function finishReason(stop: string | null | undefined): string {
  switch (stop) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      // end_turn, stop_sequence, pause_turn
      return 'stop';
  }
}

function modelOf(req: RequestInfo, body: unknown): string {
  return req.model ?? (isObject(body) ? str(body.model) : undefined) ?? 'gpt-4o';
}

function callId(id: string): string {
  return prefixed('call_', id);
}

function buildResponse(req: RequestInfo, body: unknown, content: GeneratedContent, usage: Usage, ids: ResponseIds): Json {
  const text = content.tokens.join('');
  const message: Json = {
    role: 'assistant',
    content: content.toolCall && text.length === 0 ? null : text,
    refusal: null,
    annotations: [],
  };
  if (content.toolCall) {
    const c = content.toolCall;
    message.tool_calls = [{ id: callId(c.id), type: 'function', function: { name: c.name, arguments: JSON.stringify(c.input) } }];
  }
  return {
    id: prefixed('chatcmpl-', ids.id),
    object: 'chat.completion',
    created: ids.created,
    model: modelOf(req, body),
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason(content.stopReason) }],
    usage: chatUsage(usage),
    service_tier: 'default',
    system_fingerprint: SYSTEM_FINGERPRINT,
  };
}

function buildStream(req: RequestInfo, body: unknown, content: GeneratedContent, usage: Usage, ids: ResponseIds): LabeledEvent[] {
  const envelope = chunkEnvelope(prefixed('chatcmpl-', ids.id), ids.created, modelOf(req, body), req.includeUsage);
  const chunk = (choices: string, phase: StreamPhase, chars?: number, usageValue?: Json): LabeledEvent => {
    const out: LabeledEvent = { data: envelope(choices, usageValue), phase };
    if (chars !== undefined) out.chars = chars;
    return out;
  };
  const choice = (delta: Json, finish: string | null = null): string => JSON.stringify([{ index: 0, delta, logprobs: null, finish_reason: finish }]);

  const events: LabeledEvent[] = [chunk(choice({ role: 'assistant', content: '', refusal: null }), 'start')];
  for (const t of content.tokens) events.push(chunk(textChoice(t), 'content', t.length));
  if (content.toolCall) {
    const c = content.toolCall;
    events.push(
      chunk(choice({ tool_calls: [{ index: 0, id: callId(c.id), type: 'function', function: { name: c.name, arguments: '' } }] }), 'start'),
    );
    for (const piece of c.argumentChunks) {
      events.push(chunk(choice({ tool_calls: [{ index: 0, function: { arguments: piece } }] }), 'content', piece.length));
    }
  }
  events.push(chunk(choice({}, finishReason(content.stopReason)), 'content_end'));
  if (req.includeUsage) events.push(chunk('[]', 'usage', undefined, chatUsage(usage)));
  events.push({ data: DONE_DATA, phase: 'terminal' });
  return events;
}

/**
 * The JSON of one chat.completion.chunk, given its `choices` as JSON: every chunk of a stream
 * repeats the same id, object, created, model, service_tier and system_fingerprint, so they are
 * serialised once per stream and each chunk splices its own choices (and usage) in. The bytes are
 * those of JSON.stringify of the whole chunk, keys in the same order (a test holds it to that);
 * stringifying every chunk whole was a third of the mock's CPU per stream request.
 */
export function chunkEnvelope(id: string, created: number, model: string, withUsage: boolean): (choices: string, usage?: Json) => string {
  const head = JSON.stringify({ id, object: 'chat.completion.chunk', created, model, service_tier: 'default', system_fingerprint: SYSTEM_FINGERPRINT });
  const open = `${head.slice(0, -1)},"choices":`;
  return (choices, usage) => {
    if (!withUsage) return `${open}${choices}}`;
    return `${open}${choices},"usage":${usage === undefined ? 'null' : JSON.stringify(usage)}}`;
  };
}

/** `choices` of a text delta chunk, the one every streamed token makes. */
export function textChoice(text: string): string {
  return `[{"index":0,"delta":{"content":${JSON.stringify(text)}},"logprobs":null,"finish_reason":null}]`;
}

function buildStreamError(kind: 'overloaded' | 'failed' | 'incomplete'): LabeledEvent[] {
  const message =
    kind === 'overloaded'
      ? 'The server is overloaded or not ready yet.'
      : 'The server had an error while processing your request. Sorry about that!';
  return [{ ...errorChunk(message, 'server_error'), phase: 'error' }];
}

class ChatObserver implements StreamObserver {
  /** Whether `text` joins the text deltas (off: a consumer that only counts, the relay). */
  constructor(private readonly keepText = true) {}

  usage: Usage | undefined = undefined;
  text = '';
  complete = false;
  finished = false;
  stopReason: string | undefined = undefined;
  /** Choices seen (highest index + 1) and how many of them carried their finish_reason (n > 1 streams each choice apart). */
  private choices = 0;
  private finishedChoices = 0;
  error: { type: string; message: string } | undefined = undefined;
  contentEvents = 0;
  /** Characters of content, refusal and tool arguments the deltas carried. */
  private outputChars = 0;
  malformed = 0;
  readonly splice: StreamErrorOptions = {};

  get contentTokens(): number {
    return tokensForChars(this.outputChars);
  }

  push(event: SseEvent): StreamPhase {
    if (event.data === DONE_DATA) {
      this.complete = true;
      this.finished = true;
      return 'terminal';
    }
    const data = tryParse(event.data);
    if (!isObject(data)) {
      this.malformed++;
      return 'content';
    }
    if (isObject(data.error)) {
      this.error = { type: str(data.error.type) ?? 'server_error', message: str(data.error.message) ?? '' };
      return 'error';
    }
    if (isObject(data.usage)) this.usage = readChatUsage(data.usage) ?? this.usage;
    const choices = data.choices;
    if (!Array.isArray(choices) || choices.length === 0) return data.usage ? 'usage' : 'start';
    const c = choices[0];
    if (!isObject(c)) return 'start';
    const finish = c.finish_reason !== null && c.finish_reason !== undefined;
    if (finish && (c.index ?? 0) === 0) this.stopReason = str(c.finish_reason);
    const index = typeof c.index === 'number' ? c.index : 0;
    if (index >= this.choices) this.choices = index + 1;
    if (finish && ++this.finishedChoices >= this.choices) this.finished = true;
    const delta = isObject(c.delta) ? c.delta : undefined;
    let delivered = false;
    if (delta) {
      if (typeof delta.content === 'string' && delta.content.length > 0) {
        if (this.keepText) this.text += delta.content;
        this.outputChars += delta.content.length;
        delivered = true;
      }
      if (typeof delta.refusal === 'string' && delta.refusal.length > 0) {
        this.outputChars += delta.refusal.length;
        delivered = true;
      }
      if (Array.isArray(delta.tool_calls)) {
        for (const call of delta.tool_calls) {
          if (isObject(call) && isObject(call.function) && typeof call.function.arguments === 'string' && call.function.arguments.length > 0) {
            this.outputChars += call.function.arguments.length;
            delivered = true;
          }
        }
      }
    }
    if (delivered) {
      this.contentEvents++;
      return 'content';
    }
    return finish ? 'content_end' : 'start';
  }
}

function firstMessageText(body: Json): string | undefined {
  if (!Array.isArray(body.messages) || body.messages.length === 0) return undefined;
  const m = body.messages[0];
  if (!isObject(m)) return undefined;
  const text = contentText(m.content);
  return text.length > 0 ? text : JSON.stringify(m.content ?? null);
}

/** A session header, then the body's prompt_cache_key (what the client names its cache by), then the first message's hash. */
function sessionKey(headers: Headers, body: unknown): SessionKey | undefined {
  for (const name of ['session_id', 'session-id', 'x-session-id']) {
    const h = header(headers, name);
    if (h) return { source: `header:${name}`, value: h };
  }
  if (!isObject(body)) return undefined;
  if (typeof body.prompt_cache_key === 'string' && body.prompt_cache_key !== '') {
    return { source: 'prompt_cache_key', value: body.prompt_cache_key };
  }
  return hashedKey('first-message', firstMessageText(body));
}

/**
 * Assistant prefill in Chat Completions: the API itself has none (a trailing assistant message
 * starts a new answer), so the form is the one the compatible upstreams that have it share
 * (DeepSeek's chat prefix completion, Mistral): a trailing assistant message with `prefix: true`,
 * the answer going on from its last character. Endpoints must declare that they support it.
 */
function chatPrefillOf(body: unknown): string | undefined {
  if (!isObject(body) || !Array.isArray(body.messages) || body.messages.length === 0) return undefined;
  const last = body.messages[body.messages.length - 1];
  if (!isObject(last) || last.role !== 'assistant' || last.prefix !== true) return undefined;
  return contentText(last.content);
}

function chatWithPrefill(body: unknown, text: string): unknown {
  if (!isObject(body) || !Array.isArray(body.messages)) return body;
  const messages = [...body.messages];
  const last = messages[messages.length - 1];
  if (isObject(last) && last.role === 'assistant' && last.prefix === true) {
    messages[messages.length - 1] = { ...last, content: contentText(last.content) + text };
  } else {
    messages.push({ role: 'assistant', content: text, prefix: true });
  }
  return { ...body, messages };
}

/**
 * Follows the client's chunks: the completion's id, created and model, the text. Tool calls,
 * reasoning, refusals and more than one choice are never continued as text.
 */
class ChatTrack implements ContinuationTrack {
  text = '';
  private reason: string | undefined;
  private head: { id?: string; created?: number; model?: string } | undefined;

  get blocked(): string | undefined {
    return this.reason ?? (this.text.trim() === '' ? 'no text was delivered yet' : undefined);
  }

  push(event: SseEvent): void {
    if (event.data === DONE_DATA) return;
    const data = tryParse(event.data);
    if (!isObject(data) || !Array.isArray(data.choices)) return;
    this.head ??= { id: str(data.id), created: num(data.created), model: str(data.model) };
    for (const c of data.choices) {
      if (!isObject(c)) continue;
      if (typeof c.index === 'number' && c.index > 0) this.reason ??= 'the answer has several choices';
      const d = isObject(c.delta) ? c.delta : undefined;
      if (!d) continue;
      if (Array.isArray(d.tool_calls) && d.tool_calls.length > 0) this.reason ??= 'the answer has a function call';
      if ((typeof d.reasoning_content === 'string' && d.reasoning_content !== '') || (typeof d.reasoning === 'string' && d.reasoning !== '')) {
        this.reason ??= 'the answer has reasoning';
      }
      if (typeof d.refusal === 'string' && d.refusal !== '') this.reason ??= 'the answer is a refusal';
      if (typeof d.content === 'string') this.text += d.content;
    }
  }

  splicer(before: Usage): (event: SseEvent) => SseEvent[] {
    const head = this.head ?? {};
    return (event) => {
      if (event.data === DONE_DATA) return [event];
      const data = tryParse(event.data);
      if (!isObject(data)) return [event];
      if (isObject(data.error)) return [event];
      const out: Json = { ...data };
      // The same completion: its id, created and model, whoever writes the rest.
      if (head.id !== undefined) out.id = head.id;
      if (head.created !== undefined) out.created = head.created;
      if (head.model !== undefined) out.model = head.model;
      if (Array.isArray(data.choices) && data.choices.length === 1 && isOnlyRole(data.choices[0])) return [];
      if (isObject(data.usage)) {
        const u = readChatUsage(data.usage);
        if (u) {
          out.usage = {
            ...data.usage,
            ...chatUsage({
              inputTokens: before.inputTokens + u.inputTokens,
              outputTokens: before.outputTokens + u.outputTokens,
              cacheWriteTokens: before.cacheWriteTokens + u.cacheWriteTokens,
              cacheReadTokens: before.cacheReadTokens + u.cacheReadTokens,
            }),
          };
        }
      }
      return [{ ...event, data: JSON.stringify(out) }];
    };
  }
}

/** The role chunk that opens a completion: the client has it already. */
function isOnlyRole(choice: unknown): boolean {
  if (!isObject(choice) || !isObject(choice.delta) || (choice.finish_reason !== null && choice.finish_reason !== undefined)) return false;
  const d = choice.delta;
  return typeof d.role === 'string' && (d.content === undefined || d.content === '' || d.content === null) && d.tool_calls === undefined;
}

export const chatContinuation: ContinuationCodec = {
  prefillOf: chatPrefillOf,
  withPrefill: chatWithPrefill,
  track: () => new ChatTrack(),
};

export const openaiChat: Protocol = {
  id: 'openai-chat',
  requestInfo,
  validate,
  errorReply: openAiErrorReply,
  streamErrorEvents,
  terminalEvents,
  errorFromBody: openAiErrorFromBody,
  usageFromBody,
  textFromBody,
  stopReasonFromBody,
  createObserver: (options) => new ChatObserver(options?.text),
  sessionKey,
  withModel: replaceModel,
  buildResponse,
  buildStream,
  buildStreamError,
  continuation: chatContinuation,
};
