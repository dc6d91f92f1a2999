/**
 * The scenario engine's client: one request of any protocol to the relay, read with the same
 * protocol code the relay and the mocks use (protocols/ SseDecoder + stream observers), so a
 * stream's text, terminal event, in-stream error and usage are judged by one definition.
 */
import { Agent, request, type Dispatcher } from 'undici';
import { protocolFor } from '../../protocols/index.js';
import { SseDecoder } from '../../protocols/sse.js';
import { StrictSseCheck } from './strict-sse.js';
import { eventOrderCheck } from './event-order.js';
import { blockTypesFromBody, StreamParts, toolCallsFromBody, type ReadToolCall } from './answer-parts.js';
import type { Protocol, ProtocolId, Usage } from '../../protocols/types.js';
import type { ClientProtocol, RequestSpec } from './schema.js';
import { DEFAULT_CLIENT_TIMEOUT_MS } from './patience.js';

export type StreamEnd = 'terminal' | 'error' | 'none' | 'n/a';

export interface ClientResult {
  index: number;
  protocol: ClientProtocol;
  method: string;
  path: string;
  stream: boolean;
  /** 0 when no HTTP answer arrived (connection error, client timeout). */
  status: number;
  headers: Record<string, string>;
  requestId?: string;
  /** Parsed JSON body of a non-stream answer (or an error answer). */
  body?: unknown;
  /** First 2 kB of a body that was not JSON. */
  rawBody?: string;
  text: string;
  events: number;
  streamEnd: StreamEnd;
  streamError?: { type: string; message: string };
  /** The protocol-shaped error of a >= 400 answer, if the body had that shape. */
  error?: { type?: string; message?: string };
  usage?: Usage;
  /** Why the model stopped, in the protocol's own words (Anthropic stop_reason, Chat finish_reason). */
  stopReason?: string;
  /** The tool calls of the answer (Anthropic tool_use blocks, Chat tool_calls), read in the client's protocol. */
  toolCalls?: ReadToolCall[];
  /** Anthropic: the answer's content block types in order (text, tool_use, thinking ...). */
  blockTypes?: string[];
  /** A stream's events out of their protocol's order (event-order.ts); undefined where no rules apply or the client left. */
  orderProblems?: string[];
  /** The client left on purpose (abort_after). */
  aborted: boolean;
  transportError?: string;
  durationMs: number;
  ttfbMs?: number;
  /** SSE lines that did not parse. */
  malformedLines: number;
  /** Events of a stream that a strict reading rejects (strict-sse.ts), and the first few of them. */
  illFormedEvents?: number;
  illFormed?: string[];
}

export const WIRE_PROTOCOL: Record<ClientProtocol, ProtocolId> = {
  anthropic: 'anthropic',
  'openai-chat': 'openai-chat',
  'openai-responses': 'openai-responses',
  codex: 'openai-responses',
  'custom-pass': 'custom-pass',
};

const DEFAULT_PATH: Record<ClientProtocol, string> = {
  anthropic: '/v1/messages',
  'openai-chat': '/v1/chat/completions',
  'openai-responses': '/v1/responses',
  codex: '/responses',
  // The relay's custom-pass channel: POST /pass/{model} (sync); give `path` for /submit and tasks.
  'custom-pass': '/pass/custom-model',
};

const DEFAULT_MODEL: Record<ClientProtocol, string> = {
  anthropic: 'claude-sonnet-4-5',
  'openai-chat': 'gpt-4o-mini',
  'openai-responses': 'gpt-4o-mini',
  codex: 'gpt-5-codex',
  'custom-pass': 'custom-model',
};

export interface BuiltRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** Deep merge where `null` deletes a field; arrays are replaced. */
export function mergeBody(base: Record<string, unknown>, over: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!over) return base;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else if (isPlain(v) && isPlain(out[k])) out[k] = mergeBody(out[k] as Record<string, unknown>, v);
    else out[k] = v;
  }
  return out;
}

function isPlain(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The HTTP request a spec stands for: the protocol's path, auth header form and body. */
export function buildRequest(spec: RequestSpec, key: string | undefined, tag = ''): BuiltRequest {
  const p = spec.protocol;
  const method = spec.method ?? (spec.path && /^\/v1\/models/.test(spec.path) ? 'GET' : 'POST');
  const headers: Record<string, string> = {};
  if (key) {
    if (p === 'anthropic') headers['x-api-key'] = key;
    else headers.authorization = `Bearer ${key}`;
  }
  if (p === 'anthropic') headers['anthropic-version'] = '2023-06-01';
  if (p === 'codex') headers.originator = 'codex_cli_rs';
  const s = spec.session;
  if (s?.header) {
    if (p === 'anthropic') headers['x-claude-code-session-id'] = s.header;
    else if (p === 'openai-chat') headers['x-session-id'] = s.header;
    else headers['session-id'] = s.header;
  }
  const message = s?.first_message ?? spec.message ?? `Hello from relaylab${tag ? ` (request ${tag})` : ''}`;
  const model = spec.model ?? DEFAULT_MODEL[p];
  let body: Record<string, unknown> | undefined;
  if (method === 'POST') {
    switch (p) {
      case 'anthropic':
        body = { model, max_tokens: spec.max_tokens ?? 256, messages: [{ role: 'user', content: message }], stream: spec.stream };
        if (s?.metadata) body.metadata = { user_id: JSON.stringify({ session_id: s.metadata }) };
        break;
      case 'openai-chat':
        body = { model, messages: [{ role: 'user', content: message }], stream: spec.stream };
        if (spec.stream) body.stream_options = { include_usage: true };
        if (spec.max_tokens) body.max_tokens = spec.max_tokens;
        break;
      case 'openai-responses':
        body = { model, input: message, stream: spec.stream };
        if (spec.max_tokens) body.max_output_tokens = spec.max_tokens;
        break;
      case 'codex':
        body = {
          model,
          instructions: 'You are Codex, a coding agent.',
          input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: message }] }],
          stream: spec.stream,
          store: false,
        };
        break;
      case 'custom-pass':
        body = { model, prompt: message };
        break;
    }
    if (s?.instructions) body!.instructions = s.instructions;
    if (s?.prompt_cache_key) body!.prompt_cache_key = s.prompt_cache_key;
    body = mergeBody(body!, spec.body);
  }
  Object.assign(headers, spec.headers);
  let text: string | undefined;
  if (spec.raw_body !== undefined) text = spec.raw_body;
  else if (body) text = JSON.stringify(body);
  if (text !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  const path = spec.path ?? (p === 'custom-pass' ? `/pass/${encodeURIComponent(model)}` : DEFAULT_PATH[p]);
  return { method, path, headers, body: text };
}

/** Reads `{type, message}` from an error body of either family's shape. */
export function errorShapeOf(body: unknown): { type?: string; message?: string } | undefined {
  if (!isPlain(body)) return undefined;
  const e = body.error;
  if (isPlain(e)) {
    const type = typeof e.type === 'string' ? e.type : typeof e.code === 'string' ? e.code : undefined;
    return { type, message: typeof e.message === 'string' ? e.message : undefined };
  }
  if (typeof e === 'string') return { message: e };
  return undefined;
}

function headerRecord(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

export interface SendOptions {
  baseUrl: string;
  spec: RequestSpec;
  key: string | undefined;
  index: number;
  /** Names the request in its default message ("3.2" = step 3, request 2). */
  tag?: string;
  /** Headers the relay wants on each request (RelayAdapter.requestHeaders), asked per request so a change under load applies; the step's own headers win. */
  relayHeaders?: () => Record<string, string>;
  dispatcher?: Dispatcher;
  now?: () => number;
}

let sharedAgent: Agent | undefined;
export function clientAgent(): Agent {
  sharedAgent ??= new Agent({ keepAliveTimeout: 10_000, connections: 256 });
  return sharedAgent;
}

/** Sends one request and reads the whole answer (stream or not); never throws. */
export async function send(opts: SendOptions): Promise<ClientResult> {
  const { spec } = opts;
  const now = opts.now ?? (() => performance.now());
  const built = buildRequest(spec, opts.key, `${opts.tag ?? ''}${opts.tag ? '.' : ''}${opts.index + 1}`);
  const given = new Set(Object.keys(built.headers).map((h) => h.toLowerCase()));
  for (const [k, v] of Object.entries(opts.relayHeaders?.() ?? {})) if (!given.has(k.toLowerCase())) built.headers[k] = v;
  const protocol: Protocol | undefined = safeProtocol(WIRE_PROTOCOL[spec.protocol]);
  const started = now();
  const result: ClientResult = {
    index: opts.index,
    protocol: spec.protocol,
    method: built.method,
    path: built.path,
    stream: spec.stream,
    status: 0,
    headers: {},
    text: '',
    events: 0,
    streamEnd: 'n/a',
    aborted: false,
    durationMs: 0,
    malformedLines: 0,
    illFormedEvents: 0,
  };
  const controller = new AbortController();
  let abortedOnPurpose = false;
  const leave = () => {
    abortedOnPurpose = true;
    controller.abort(new Error('client left (abort_after)'));
  };
  const timers: NodeJS.Timeout[] = [];
  if (spec.abort_after?.ms !== undefined && spec.abort_after.events === undefined) timers.push(setTimeout(leave, spec.abort_after.ms));
  const patience = spec.timeout ?? DEFAULT_CLIENT_TIMEOUT_MS;
  timers.push(setTimeout(() => controller.abort(new Error(`client timeout after ${patience}ms`)), patience));
  try {
    const res = await request(new URL(built.path, opts.baseUrl), {
      method: built.method as Dispatcher.HttpMethod,
      headers: built.headers,
      body: built.body,
      signal: controller.signal,
      dispatcher: opts.dispatcher ?? clientAgent(),
    });
    result.ttfbMs = now() - started;
    result.status = res.statusCode;
    result.headers = headerRecord(res.headers);
    result.requestId = result.headers['x-request-id'];
    const contentType = result.headers['content-type'] ?? '';
    if (contentType.includes('text/event-stream')) {
      result.streamEnd = 'none';
      const decoder = new SseDecoder();
      const strict = new StrictSseCheck();
      const observer = protocol?.createObserver();
      const order = eventOrderCheck(WIRE_PROTOCOL[spec.protocol]);
      const tools = new StreamParts(WIRE_PROTOCOL[spec.protocol]);
      const onEvents = (events: ReturnType<SseDecoder['push']>) => {
        for (const ev of events) {
          result.events++;
          observer?.push(ev);
          order?.push(ev);
          tools.push(ev);
          if (spec.abort_after?.events !== undefined && result.events >= spec.abort_after.events && !abortedOnPurpose) {
            if (spec.abort_after.ms) timers.push(setTimeout(leave, spec.abort_after.ms));
            else leave();
          }
        }
      };
      try {
        for await (const chunk of res.body) {
          strict.feed(chunk as Buffer);
          onEvents(decoder.push(chunk as Buffer));
        }
        onEvents(decoder.flush());
      } catch (err) {
        if (!abortedOnPurpose) result.transportError = (err as Error).message;
      }
      if (!abortedOnPurpose) strict.end();
      if (order && !abortedOnPurpose) result.orderProblems = order.end();
      result.toolCalls = tools.calls;
      result.blockTypes = tools.blockTypes;
      result.illFormedEvents = strict.illFormed;
      if (strict.problems.length > 0) result.illFormed = strict.problems;
      result.malformedLines = decoder.problems.length;
      if (observer) {
        result.text = observer.text;
        result.usage = observer.usage;
        result.stopReason = observer.stopReason;
        if (observer.error) {
          result.streamEnd = 'error';
          result.streamError = { type: observer.error.type, message: observer.error.message };
        } else if (observer.complete) result.streamEnd = 'terminal';
      }
    } else {
      const text = await res.body.text();
      try {
        result.body = text.length ? JSON.parse(text) : undefined;
      } catch {
        result.rawBody = text.slice(0, 2048);
      }
      if (result.status >= 400) result.error = errorShapeOf(result.body);
      else if (protocol && result.body !== undefined && built.method === 'POST') {
        result.text = safe(() => protocol.textFromBody(result.body)) ?? '';
        result.usage = safe(() => protocol.usageFromBody(result.body));
        result.stopReason = safe(() => protocol.stopReasonFromBody?.(result.body));
        result.toolCalls = toolCallsFromBody(WIRE_PROTOCOL[spec.protocol], result.body);
        result.blockTypes = blockTypesFromBody(WIRE_PROTOCOL[spec.protocol], result.body);
      }
    }
  } catch (err) {
    if (!abortedOnPurpose) result.transportError = (err as Error).message;
  } finally {
    for (const t of timers) clearTimeout(t);
  }
  result.aborted = abortedOnPurpose;
  result.durationMs = now() - started;
  return result;
}

function safe<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

function safeProtocol(id: ProtocolId): Protocol | undefined {
  try {
    return protocolFor(id);
  } catch {
    return undefined;
  }
}

/** Sends `spec.count` requests with at most `spec.concurrency` in flight; results in index order. */
export async function sendAll(opts: Omit<SendOptions, 'index'> & { onDone?: (r: ClientResult) => void }): Promise<ClientResult[]> {
  const results: ClientResult[] = new Array(opts.spec.count);
  let next = 0;
  const worker = async () => {
    while (next < opts.spec.count) {
      const index = next++;
      results[index] = await send({ ...opts, index });
      opts.onDone?.(results[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.spec.concurrency, opts.spec.count) }, worker));
  return results;
}
