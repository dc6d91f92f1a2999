/**
 * OpenAI Responses API (POST /v1/responses), also spoken by the ChatGPT-OAuth Codex backend
 * (POST /backend-api/codex/responses). Field names follow the openai SDK resources/responses.
 *
 * Stream (every frame `event: <type>` + data JSON with the same `type` and a `sequence_number`
 * counting from 0):
 *   response.created · response.in_progress ·
 *   [response.output_item.added(reasoning) · (response.reasoning_summary_part.added ·
 *    response.reasoning_summary_text.delta* · response.reasoning_summary_text.done ·
 *    response.reasoning_summary_part.done, when a summary was asked for) · response.output_item.done] ·
 *   response.output_item.added(message) · response.content_part.added(output_text) ·
 *   response.output_text.delta* · response.output_text.done · response.content_part.done ·
 *   response.output_item.done ·
 *   [response.output_item.added(function_call) · response.function_call_arguments.delta* ·
 *    response.function_call_arguments.done · response.output_item.done] ·
 *   response.completed (usage)  — or response.incomplete (max_output_tokens, with usage)
 * Errors mid-stream: response.failed {response:{status:'failed', error:{code,message}}}, or the
 * bare `error` event {type:'error', code, message, param}.
 */
import { openAiErrorFromBody, openAiErrorReply } from './openai-shared.js';
import { opaqueBlob } from './reasoning.js';
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
} from './types.js';
import { contentText, hashedKey, header, isObject, num, prefixed, replaceModel, str, tryParse, type Headers, type Json } from './util.js';

function requestInfo(body: unknown): RequestInfo {
  const b: Json = isObject(body) ? body : {};
  return {
    model: str(b.model),
    stream: b.stream === true,
    maxOutputTokens: num(b.max_output_tokens),
    estimatedInputTokens: estimateInputTokens('openai-responses', body),
    // response.completed always carries usage.
    includeUsage: true,
    hasTools: Array.isArray(b.tools) && b.tools.length > 0,
  };
}

function invalid(message: string, param: string | null, code: string | null): ErrorReply {
  return openAiErrorReply(400, message, { param, code });
}

function validate(body: unknown): ErrorReply | undefined {
  if (!isObject(body)) {
    return invalid('We could not parse the JSON body of your request. The OpenAI API expects a JSON payload.', null, null);
  }
  if (body.model === undefined || body.model === null || body.model === '') {
    return invalid("Missing required parameter: 'model'.", 'model', 'missing_required_parameter');
  }
  if (typeof body.model !== 'string') {
    return invalid(`Invalid type for 'model': expected a string, but got ${typeof body.model} instead.`, 'model', 'invalid_type');
  }
  if (body.input !== undefined && typeof body.input !== 'string' && !Array.isArray(body.input)) {
    return invalid("Invalid type for 'input': expected one of a string or an array of input items.", 'input', 'invalid_type');
  }
  if (body.max_output_tokens !== undefined && body.max_output_tokens !== null) {
    if (typeof body.max_output_tokens !== 'number' || body.max_output_tokens < 16) {
      return invalid(
        `Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got ${String(body.max_output_tokens)} instead.`,
        'max_output_tokens',
        'integer_below_min_value',
      );
    }
  }
  return undefined;
}

export function responsesUsage(u: Usage): Json {
  const input = u.inputTokens + u.cacheWriteTokens + u.cacheReadTokens;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: u.cacheReadTokens },
    output_tokens: u.outputTokens,
    output_tokens_details: { reasoning_tokens: u.reasoningTokens ?? 0 },
    total_tokens: input + u.outputTokens,
  };
}

export function readResponsesUsage(raw: unknown): Usage | undefined {
  if (!isObject(raw)) return undefined;
  const input = num(raw.input_tokens);
  const output = num(raw.output_tokens);
  if (input === undefined && output === undefined) return undefined;
  const cached = isObject(raw.input_tokens_details) ? (num(raw.input_tokens_details.cached_tokens) ?? 0) : 0;
  return { inputTokens: Math.max(0, (input ?? 0) - cached), outputTokens: output ?? 0, cacheWriteTokens: 0, cacheReadTokens: cached };
}

function usageFromBody(body: unknown): Usage | undefined {
  return isObject(body) ? readResponsesUsage(body.usage) : undefined;
}

function textFromBody(body: unknown): string {
  if (!isObject(body) || !Array.isArray(body.output)) return '';
  let out = '';
  for (const item of body.output) {
    if (!isObject(item) || item.type !== 'message' || !Array.isArray(item.content)) continue;
    for (const part of item.content) {
      if (isObject(part) && part.type === 'output_text' && typeof part.text === 'string') out += part.text;
    }
  }
  return out;
}

interface Ids {
  response: string;
  reasoning: string;
  message: string;
  functionCall: string;
  callId: string;
}

function idsFor(ids: ResponseIds, content?: GeneratedContent): Ids {
  const base = ids.id.replace(/^(resp_|msg_|chatcmpl-)/, '');
  return {
    response: prefixed('resp_', ids.id),
    reasoning: `rs_${base}`,
    message: `msg_${base}`,
    functionCall: `fc_${base}`,
    callId: prefixed('call_', content?.toolCall?.id ?? base),
  };
}

/** The Response object with every top-level field the SDK types declare, echoing the request. */
function responseObject(
  body: unknown,
  model: string,
  id: string,
  created: number,
  status: 'in_progress' | 'completed' | 'incomplete' | 'failed',
  output: Json[],
  usage: Json | null,
  extra: Json = {},
): Json {
  const b: Json = isObject(body) ? body : {};
  return {
    id,
    object: 'response',
    created_at: created,
    status,
    background: b.background === true,
    error: null,
    incomplete_details: null,
    instructions: b.instructions ?? null,
    max_output_tokens: b.max_output_tokens ?? null,
    max_tool_calls: b.max_tool_calls ?? null,
    model,
    output,
    parallel_tool_calls: b.parallel_tool_calls ?? true,
    previous_response_id: b.previous_response_id ?? null,
    prompt_cache_key: b.prompt_cache_key ?? null,
    reasoning: b.reasoning ?? { effort: null, summary: null },
    safety_identifier: b.safety_identifier ?? null,
    service_tier: 'default',
    store: b.store ?? true,
    temperature: b.temperature ?? 1,
    text: b.text ?? { format: { type: 'text' }, verbosity: 'medium' },
    tool_choice: b.tool_choice ?? 'auto',
    tools: Array.isArray(b.tools) ? b.tools : [],
    top_logprobs: b.top_logprobs ?? 0,
    top_p: b.top_p ?? 1,
    truncation: b.truncation ?? 'disabled',
    usage,
    user: b.user ?? null,
    metadata: b.metadata ?? {},
    ...extra,
  };
}

function modelOf(req: RequestInfo, body: unknown): string {
  return req.model ?? (isObject(body) ? str(body.model) : undefined) ?? 'gpt-5';
}

function outputText(text: string): Json {
  return { type: 'output_text', annotations: [], logprobs: [], text };
}

function messageItem(id: string, status: string, content: Json[]): Json {
  return { id, type: 'message', status, content, role: 'assistant' };
}

function functionCallItem(id: string, status: string, args: string, callId: string, name: string): Json {
  return { id, type: 'function_call', status, arguments: args, call_id: callId, name };
}

function summaryText(text: string): Json {
  return { type: 'summary_text', text };
}

/** The reasoning item: its summary when one was asked for, its encrypted content when `include` asked. */
function reasoningItem(id: string, content: GeneratedContent, done: boolean): Json {
  const r = content.reasoning!;
  const words = r.tokens.join('');
  const item: Json = { id, type: 'reasoning', summary: done && r.shown ? [summaryText(words)] : [] };
  if (done && r.encrypted) item.encrypted_content = opaqueBlob(`reasoning\u0000${words}`, 512, 'gAAAAA');
  return item;
}

function hasMessage(content: GeneratedContent): boolean {
  return content.tokens.length > 0 || !content.toolCall;
}

function finalOutput(content: GeneratedContent, i: Ids): Json[] {
  const out: Json[] = [];
  if (content.reasoning) out.push(reasoningItem(i.reasoning, content, true));
  const messageStatus = content.stopReason === 'max_tokens' ? 'incomplete' : 'completed';
  if (hasMessage(content)) out.push(messageItem(i.message, messageStatus, [outputText(content.tokens.join(''))]));
  if (content.toolCall) {
    const c = content.toolCall;
    out.push(functionCallItem(i.functionCall, 'completed', c.argumentChunks.join(''), i.callId, c.name));
  }
  return out;
}

function endExtra(content: GeneratedContent, created: number): Json {
  return content.stopReason === 'max_tokens'
    ? { incomplete_details: { reason: 'max_output_tokens' } }
    : { completed_at: created };
}

function buildResponse(req: RequestInfo, body: unknown, content: GeneratedContent, usage: Usage, ids: ResponseIds): Json {
  const i = idsFor(ids, content);
  const status = content.stopReason === 'max_tokens' ? 'incomplete' : 'completed';
  return responseObject(body, modelOf(req, body), i.response, ids.created, status, finalOutput(content, i), responsesUsage(usage), endExtra(content, ids.created));
}

/** Numbers events as the API does: one counter over the whole stream. */
class Sequencer {
  constructor(private next = 0) {}
  ev(type: string, fields: Json, phase: StreamPhase, chars?: number, reasoning?: true): LabeledEvent {
    const out: LabeledEvent = { event: type, data: JSON.stringify({ type, sequence_number: this.next++, ...fields }), phase };
    if (chars !== undefined) out.chars = chars;
    if (reasoning) out.reasoning = true;
    return out;
  }
}

function buildStream(req: RequestInfo, body: unknown, content: GeneratedContent, usage: Usage, ids: ResponseIds): LabeledEvent[] {
  const i = idsFor(ids, content);
  const model = modelOf(req, body);
  const s = new Sequencer();
  const events: LabeledEvent[] = [];
  const pending = responseObject(body, model, i.response, ids.created, 'in_progress', [], null);
  events.push(s.ev('response.created', { response: pending }, 'start'));
  events.push(s.ev('response.in_progress', { response: pending }, 'start'));
  let outputIndex = 0;
  const incomplete = content.stopReason === 'max_tokens';
  if (content.reasoning) {
    const r = content.reasoning;
    events.push(s.ev('response.output_item.added', { output_index: outputIndex, item: reasoningItem(i.reasoning, content, false) }, 'start', undefined, true));
    if (r.shown) {
      const text = r.tokens.join('');
      const at = { item_id: i.reasoning, output_index: outputIndex, summary_index: 0 };
      events.push(s.ev('response.reasoning_summary_part.added', { ...at, part: summaryText('') }, 'start', undefined, true));
      for (const t of r.tokens) events.push(s.ev('response.reasoning_summary_text.delta', { ...at, delta: t }, 'content', t.length, true));
      events.push(s.ev('response.reasoning_summary_text.done', { ...at, text }, 'content_end', undefined, true));
      events.push(s.ev('response.reasoning_summary_part.done', { ...at, part: summaryText(text) }, 'content_end', undefined, true));
    }
    events.push(s.ev('response.output_item.done', { output_index: outputIndex, item: reasoningItem(i.reasoning, content, true) }, 'content_end'));
    outputIndex++;
  }
  if (hasMessage(content)) {
    const text = content.tokens.join('');
    const at = { item_id: i.message, output_index: outputIndex, content_index: 0 };
    events.push(s.ev('response.output_item.added', { output_index: outputIndex, item: messageItem(i.message, 'in_progress', []) }, 'start'));
    events.push(s.ev('response.content_part.added', { ...at, part: outputText('') }, 'start'));
    for (const t of content.tokens) events.push(s.ev('response.output_text.delta', { ...at, delta: t, logprobs: [] }, 'content', t.length));
    events.push(s.ev('response.output_text.done', { ...at, text, logprobs: [] }, 'content_end'));
    events.push(s.ev('response.content_part.done', { ...at, part: outputText(text) }, 'content_end'));
    events.push(
      s.ev(
        'response.output_item.done',
        { output_index: outputIndex, item: messageItem(i.message, incomplete ? 'incomplete' : 'completed', [outputText(text)]) },
        'content_end',
      ),
    );
    outputIndex++;
  }
  if (content.toolCall) {
    const c = content.toolCall;
    const args = c.argumentChunks.join('');
    const at = { item_id: i.functionCall, output_index: outputIndex };
    events.push(
      s.ev('response.output_item.added', { output_index: outputIndex, item: functionCallItem(i.functionCall, 'in_progress', '', i.callId, c.name) }, 'start'),
    );
    for (const piece of c.argumentChunks) events.push(s.ev('response.function_call_arguments.delta', { ...at, delta: piece }, 'content', piece.length));
    events.push(s.ev('response.function_call_arguments.done', { ...at, name: c.name, arguments: args }, 'content_end'));
    events.push(
      s.ev('response.output_item.done', { output_index: outputIndex, item: functionCallItem(i.functionCall, 'completed', args, i.callId, c.name) }, 'content_end'),
    );
  }
  const final = responseObject(body, model, i.response, ids.created, incomplete ? 'incomplete' : 'completed', finalOutput(content, i), responsesUsage(usage), endExtra(content, ids.created));
  events.push(incomplete ? s.ev('response.incomplete', { response: final }, 'error') : s.ev('response.completed', { response: final }, 'terminal'));
  return events;
}

function failedEvents(message: string, code: string, usage: Usage | undefined, ids: ResponseIds | undefined, opts: StreamErrorOptions): LabeledEvent[] {
  const s = new Sequencer(opts.sequenceNumber ?? 0);
  const id = opts.responseId ?? (ids ? prefixed('resp_', ids.id) : 'resp_unknown');
  const response = responseObject(undefined, opts.model ?? 'unknown', id, ids?.created ?? 0, 'failed', [], usage ? responsesUsage(usage) : null, {
    error: { code, message },
  });
  return [s.ev('response.failed', { response }, 'error')];
}

/** The relay's end for a broken stream: response.failed, which Codex and the SDK both surface. */
function streamErrorEvents(message: string, type = 'server_error', opts: StreamErrorOptions = {}): SseEvent[] {
  return failedEvents(message, opts.code ?? type, undefined, undefined, opts).map(({ event, data }) => ({ event, data }));
}

function buildStreamError(kind: 'overloaded' | 'failed' | 'incomplete', usageSoFar: Usage, ids: ResponseIds, opts: StreamErrorOptions = {}): LabeledEvent[] {
  if (kind === 'failed') {
    return failedEvents('The server had an error while processing your request.', opts.code ?? 'server_error', usageSoFar, ids, opts);
  }
  const s = new Sequencer(opts.sequenceNumber ?? 0);
  if (kind === 'overloaded') {
    return [
      s.ev(
        'error',
        { code: opts.code ?? 'server_is_overloaded', message: 'Our servers are currently overloaded. Please try again later.', param: null },
        'error',
      ),
    ];
  }
  const response = responseObject(undefined, opts.model ?? 'unknown', opts.responseId ?? prefixed('resp_', ids.id), ids.created, 'incomplete', [], responsesUsage(usageSoFar), {
    incomplete_details: { reason: 'max_output_tokens' },
  });
  return [s.ev('response.incomplete', { response }, 'error')];
}

/** Events the observer classifies by name alone: nothing in their data is needed. */
const NAME_ONLY: Record<string, StreamPhase> = {
  'response.in_progress': 'start',
  'response.queued': 'start',
  'response.output_item.added': 'start',
  'response.content_part.added': 'start',
  'response.output_text.done': 'content_end',
  'response.content_part.done': 'content_end',
  'response.output_item.done': 'content_end',
  'response.function_call_arguments.done': 'content_end',
  'response.refusal.done': 'content_end',
  'response.reasoning_summary_text.done': 'content_end',
  'response.reasoning_summary_part.added': 'start',
  'response.reasoning_summary_part.done': 'content_end',
};

const CONTENT_DELTAS = new Set([
  'response.output_text.delta',
  'response.function_call_arguments.delta',
  'response.refusal.delta',
  'response.reasoning_summary_text.delta',
  'response.reasoning_text.delta',
  'response.custom_tool_call_input.delta',
]);

const SEQ_FIELD = '"sequence_number":';

/** sequence_number by a scan, not a parse: name-only events are never parsed. -1 when absent. */
export function sequenceOf(data: string): number {
  const at = data.indexOf(SEQ_FIELD);
  if (at === -1) return -1;
  let i = at + SEQ_FIELD.length;
  while (data.charCodeAt(i) === 32) i++;
  let n = 0;
  let digits = 0;
  for (let c = data.charCodeAt(i); c >= 48 && c <= 57; c = data.charCodeAt(++i)) {
    n = n * 10 + (c - 48);
    digits++;
  }
  return digits > 0 ? n : -1;
}

class ResponsesObserver implements StreamObserver {
  /** Whether `text` joins the text deltas (off: a consumer that only counts, the relay). */
  constructor(private readonly keepText = true) {}

  usage: Usage | undefined = undefined;
  text = '';
  complete = false;
  /** The model's finish is the terminal event itself (response.completed / response.incomplete carry the usage). */
  get finished(): boolean {
    return this.complete;
  }
  error: { type: string; message: string; incomplete?: boolean } | undefined = undefined;
  contentEvents = 0;
  /** Characters of the deltas (text, refusal, reasoning, tool arguments) the content events carried. */
  private outputChars = 0;
  malformed = 0;

  get contentTokens(): number {
    return tokensForChars(this.outputChars);
  }

  /** Highest sequence_number seen, so a relay can splice response.failed after it. */
  lastSequence = -1;
  private responseId: string | undefined;
  private model: string | undefined;

  get splice(): StreamErrorOptions {
    const out: StreamErrorOptions = { sequenceNumber: this.lastSequence + 1 };
    if (this.responseId !== undefined) out.responseId = this.responseId;
    if (this.model !== undefined) out.model = this.model;
    return out;
  }

  push(event: SseEvent): StreamPhase {
    const seq = sequenceOf(event.data);
    if (seq > this.lastSequence) this.lastSequence = seq;
    const known = event.event !== undefined ? NAME_ONLY[event.event] : undefined;
    if (known !== undefined) return known;
    const data = tryParse(event.data);
    if (!isObject(data)) {
      this.malformed++;
      return 'content';
    }
    const type = str(data.type) ?? event.event ?? '';
    if (CONTENT_DELTAS.has(type)) {
      if (this.keepText && type === 'response.output_text.delta' && typeof data.delta === 'string') this.text += data.delta;
      if (typeof data.delta === 'string') this.outputChars += data.delta.length;
      this.contentEvents++;
      return 'content';
    }
    const response = isObject(data.response) ? data.response : undefined;
    switch (type) {
      case 'response.created':
        this.responseId = str(response?.id) ?? this.responseId;
        this.model = str(response?.model) ?? this.model;
        return 'start';
      case 'response.completed':
        this.usage = readResponsesUsage(response?.usage) ?? this.usage;
        this.complete = true;
        return 'terminal';
      case 'response.incomplete': {
        this.usage = readResponsesUsage(response?.usage) ?? this.usage;
        const details = isObject(response?.incomplete_details) ? response.incomplete_details : {};
        this.error = { type: 'incomplete', message: str(details.reason) ?? 'incomplete', incomplete: true };
        this.complete = true;
        return 'error';
      }
      case 'response.failed': {
        this.usage = readResponsesUsage(response?.usage) ?? this.usage;
        const e = isObject(response?.error) ? response.error : {};
        this.error = { type: str(e.code) ?? 'failed', message: str(e.message) ?? '' };
        return 'error';
      }
      case 'error': {
        // SDK-typed shape {code, message} or the nested {error:{type, code, message}} form.
        const e = isObject(data.error) ? data.error : data;
        this.error = { type: str(e.code) ?? str(e.type) ?? 'error', message: str(e.message) ?? '' };
        return 'error';
      }
      default:
        return NAME_ONLY[type] ?? (type.endsWith('.done') ? 'content_end' : 'start');
    }
  }
}

function firstInputText(input: unknown): string | undefined {
  if (typeof input === 'string') return input.length > 0 ? input : undefined;
  if (!Array.isArray(input) || input.length === 0) return undefined;
  const first = input.find((item) => isObject(item) && (item.type === 'message' || item.role !== undefined)) ?? input[0];
  if (typeof first === 'string') return first;
  if (!isObject(first)) return undefined;
  const text = contentText(first.content);
  return text.length > 0 ? text : JSON.stringify(first);
}

function sessionKey(headers: Headers, body: unknown): SessionKey | undefined {
  for (const name of ['session-id', 'session_id']) {
    const h = header(headers, name);
    if (h) return { source: `header:${name}`, value: h };
  }
  if (!isObject(body)) return undefined;
  if (typeof body.prompt_cache_key === 'string' && body.prompt_cache_key !== '') {
    return { source: 'prompt_cache_key', value: body.prompt_cache_key };
  }
  if (typeof body.instructions === 'string' && body.instructions !== '') return hashedKey('instructions', body.instructions);
  return hashedKey('first-input', firstInputText(body.input));
}

export const openaiResponses: Protocol = {
  id: 'openai-responses',
  requestInfo,
  validate,
  errorReply: openAiErrorReply,
  streamErrorEvents,
  terminalEvents: () => [],
  errorFromBody: openAiErrorFromBody,
  usageFromBody,
  textFromBody,
  createObserver: (options) => new ResponsesObserver(options?.text),
  sessionKey,
  withModel: replaceModel,
  buildResponse,
  buildStream,
  buildStreamError,
};

export { ResponsesObserver };
