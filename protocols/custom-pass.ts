/**
 * custom-pass: a generic pass-through upstream (new-api's "CustomPass" channel). The relay does
 * not understand the body; it forwards it, reads usage from the envelope and bills.
 *
 * Routes (upstream side; the relay's client side is the same under `/pass`):
 *   POST {base}/{model}[?precharge=true]              sync call
 *   POST {base}/{model}/submit[?precharge=true]       async task submit
 *   POST {base}/{model}/task/list-by-condition        async task query  {"task_ids": [...]}
 *   GET  {base}/{model}/task/{task_id}/fetch          one task
 *   `precharge=true` is reserved: the upstream answers with the estimated usage only and does
 *   no work (sync) or submits nothing (async).
 *
 * Envelope (every answer; HTTP status and `code` agree: code 0 <=> 2xx):
 *   { code: 0, message: 'success', data: <object|array|string|null>, usage?: Usage, type?: 'precharge' }
 *   usage = { prompt_tokens, completion_tokens, total_tokens, prompt_tokens_details: { cached_tokens } }
 *     (input_tokens / output_tokens and `msg` instead of `message` are accepted when reading)
 *   errors: { code: <HTTP status, or the upstream's own non-zero code>, message, data: null }
 * Sync data: { id, model, output: <text>, finish_reason }.
 * Async: submit -> data { task_id, status: 'queued' } (+ usage = the estimate, used to precharge);
 *   query -> data [{ task_id, status, progress: '0%'..'100%', error, result, usage }] where status
 *   moves queued -> running -> succeeded | failed; usage is set only once succeeded (the final
 *   bill), failed tasks are refunded.
 * Not a streaming protocol: buildStream yields the envelope as one terminal event.
 */
import { estimateInputTokens } from './tokens.js';
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
} from './types.js';
import { header, isObject, jsonReply, num, replaceModel, str, tryParse, type Headers, type Json } from './util.js';

export type TaskStatus = 'queued' | 'running' | 'succeeded' | 'failed';

/** Upstream spellings seen in the wild (new-api's CUSTOM_PASS_STATUS_* defaults) -> our states. */
const STATUS_ALIASES: Record<string, TaskStatus> = {
  queued: 'queued',
  pending: 'queued',
  pendding: 'queued',
  submitted: 'queued',
  running: 'running',
  processing: 'running',
  in_progress: 'running',
  succeeded: 'succeeded',
  success: 'succeeded',
  completed: 'succeeded',
  finished: 'succeeded',
  failed: 'failed',
  error: 'failed',
  cancelled: 'failed',
};

export function normalizeTaskStatus(status: unknown): TaskStatus | undefined {
  return typeof status === 'string' ? STATUS_ALIASES[status.toLowerCase()] : undefined;
}

export function isFinalTaskStatus(status: TaskStatus): boolean {
  return status === 'succeeded' || status === 'failed';
}

export interface CustomPassRoute {
  /** Model as configured (without `/submit`). */
  model: string;
  action: 'sync' | 'submit' | 'query' | 'fetch';
  taskId?: string;
}

/** Parses a custom-pass path (with or without the `/pass` prefix and query string). */
export function customPassRoute(path: string): CustomPassRoute | undefined {
  const q = path.indexOf('?');
  let p = q === -1 ? path : path.slice(0, q);
  if (p.startsWith('/pass/')) p = p.slice('/pass'.length);
  const parts = p.split('/').filter((s) => s.length > 0);
  if (parts.length === 0) return undefined;
  const n = parts.length;
  if (n >= 3 && parts[n - 2] === 'task' && parts[n - 1] === 'list-by-condition') {
    return { model: parts.slice(0, n - 2).join('/'), action: 'query' };
  }
  if (n >= 4 && parts[n - 3] === 'task' && parts[n - 1] === 'fetch') {
    return { model: parts.slice(0, n - 3).join('/'), action: 'fetch', taskId: decodeURIComponent(parts[n - 2]) };
  }
  if (n >= 2 && parts[n - 1] === 'submit') return { model: parts.slice(0, n - 1).join('/'), action: 'submit' };
  return { model: parts.join('/'), action: 'sync' };
}

/** `precharge=true` in a query string (or parsed query object). */
export function isPrecharge(query: string | Record<string, unknown> | undefined): boolean {
  if (query === undefined) return false;
  if (typeof query === 'string') return new URLSearchParams(query.startsWith('?') ? query.slice(1) : query).get('precharge') === 'true';
  const v = query.precharge;
  return v === 'true' || v === true || (Array.isArray(v) && v.includes('true'));
}

function requestInfo(body: unknown): RequestInfo {
  const b: Json = isObject(body) ? body : {};
  return {
    model: str(b.model),
    stream: false,
    maxOutputTokens: num(b.max_tokens),
    estimatedInputTokens: estimateInputTokens('custom-pass', body),
    includeUsage: true,
    hasTools: false,
  };
}

function errorReply(status: number, message: string, opts: ErrorOptions = {}): ErrorReply {
  const headers: Record<string, string> = {};
  if (opts.requestId !== undefined) headers['x-request-id'] = opts.requestId;
  const retryAfter = opts.retryAfterSeconds ?? (status === 429 ? 1 : undefined);
  if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
  return jsonReply(status, { code: opts.code ?? status, message, data: null }, headers);
}

function validate(body: unknown): ErrorReply | undefined {
  return isObject(body) ? undefined : errorReply(400, 'request body must be a JSON object');
}

export function customPassUsage(u: Usage): Json {
  const prompt = u.inputTokens + u.cacheWriteTokens + u.cacheReadTokens;
  return {
    prompt_tokens: prompt,
    completion_tokens: u.outputTokens,
    total_tokens: prompt + u.outputTokens,
    prompt_tokens_details: { cached_tokens: u.cacheReadTokens },
  };
}

export function readCustomPassUsage(raw: unknown): Usage | undefined {
  if (!isObject(raw)) return undefined;
  const prompt = num(raw.prompt_tokens) ?? num(raw.input_tokens);
  const completion = num(raw.completion_tokens) ?? num(raw.output_tokens);
  if (prompt === undefined && completion === undefined) return undefined;
  const details = isObject(raw.prompt_tokens_details) ? raw.prompt_tokens_details : undefined;
  const cached = num(details?.cached_tokens) ?? num(raw.prompt_cache_hit_tokens) ?? 0;
  return { inputTokens: Math.max(0, (prompt ?? 0) - cached), outputTokens: completion ?? 0, cacheWriteTokens: 0, cacheReadTokens: cached };
}

/** Envelope success: code 0 (number or string). */
export function envelopeOk(body: unknown): boolean {
  return isObject(body) && (body.code === 0 || body.code === '0');
}

/** `message`, else `msg` (new-api's rule). */
export function envelopeMessage(body: unknown): string {
  return isObject(body) ? (str(body.message) ?? str(body.msg) ?? '') : '';
}

function errorFromBody(body: unknown): UpstreamError | undefined {
  if (!isObject(body) || body.code === undefined || envelopeOk(body)) return undefined;
  return { type: String(body.code), code: String(body.code), message: envelopeMessage(body) };
}

function usageFromBody(body: unknown): Usage | undefined {
  if (!isObject(body)) return undefined;
  return readCustomPassUsage(body.usage) ?? (isObject(body.data) ? readCustomPassUsage(body.data.usage) : undefined);
}

function textFromBody(body: unknown): string {
  if (!isObject(body)) return '';
  const d = body.data;
  if (typeof d === 'string') return d;
  if (isObject(d)) return str(d.output) ?? str(d.text) ?? '';
  return '';
}

export function envelope(data: unknown, usage?: Usage, extra: Json = {}): Json {
  const out: Json = { code: 0, message: 'success', data };
  if (usage) out.usage = customPassUsage(usage);
  return { ...out, ...extra };
}

export function buildPrecharge(estimate: Usage): Json {
  return envelope(null, estimate, { type: 'precharge' });
}

export function buildTaskSubmitted(taskId: string, estimate?: Usage): Json {
  return envelope({ task_id: taskId, status: 'queued' satisfies TaskStatus }, estimate);
}

export interface TaskView {
  taskId: string;
  status: TaskStatus;
  /** 0..100 */
  progress: number;
  result?: unknown;
  error?: string;
  usage?: Usage;
}

export function taskJson(t: TaskView): Json {
  return {
    task_id: t.taskId,
    status: t.status,
    progress: `${Math.round(t.progress)}%`,
    error: t.error ?? null,
    result: t.result ?? null,
    usage: t.status === 'succeeded' && t.usage ? customPassUsage(t.usage) : null,
  };
}

export function buildTaskQuery(tasks: TaskView[]): Json {
  return envelope(tasks.map(taskJson));
}

/** Reads one task from a query / fetch answer. */
export function readTask(raw: unknown): { taskId: string; status: TaskStatus | undefined; usage?: Usage; error?: string } | undefined {
  if (!isObject(raw) || typeof raw.task_id !== 'string') return undefined;
  return {
    taskId: raw.task_id,
    status: normalizeTaskStatus(raw.status),
    usage: readCustomPassUsage(raw.usage),
    error: str(raw.error),
  };
}

function buildResponse(req: RequestInfo, body: unknown, content: GeneratedContent, usage: Usage, ids: ResponseIds): Json {
  const model = req.model ?? (isObject(body) ? str(body.model) : undefined) ?? null;
  return envelope({ id: ids.id, model, output: content.tokens.join(''), finish_reason: content.stopReason, created: ids.created }, usage);
}

function buildStream(req: RequestInfo, body: unknown, content: GeneratedContent, usage: Usage, ids: ResponseIds): LabeledEvent[] {
  return [{ data: JSON.stringify(buildResponse(req, body, content, usage, ids)), phase: 'terminal' }];
}

function streamErrorEvents(message: string, type?: string): SseEvent[] {
  return [{ data: JSON.stringify({ code: type ?? 500, message, data: null }) }];
}

function buildStreamError(kind: 'overloaded' | 'failed' | 'incomplete'): LabeledEvent[] {
  const [e] = streamErrorEvents(kind === 'overloaded' ? 'upstream overloaded' : 'upstream failed', kind === 'overloaded' ? '503' : '500');
  return [{ ...e, phase: 'error' }];
}

/** One envelope per event; code 0 completes, anything else is an error. */
class CustomPassObserver implements StreamObserver {
  /** Whether `text` joins the text deltas (off: a consumer that only counts, the relay). */
  constructor(private readonly keepText = true) {}

  usage: Usage | undefined = undefined;
  text = '';
  complete = false;
  /** One envelope is the whole answer. */
  get finished(): boolean {
    return this.complete;
  }
  error: { type: string; message: string } | undefined = undefined;
  contentEvents = 0;
  contentTokens = 0;
  malformed = 0;
  readonly splice: StreamErrorOptions = {};

  push(event: SseEvent): StreamPhase {
    const data = tryParse(event.data);
    if (!isObject(data)) {
      this.malformed++;
      return 'content';
    }
    if (!envelopeOk(data)) {
      this.error = { type: String(data.code ?? 'error'), message: envelopeMessage(data) };
      return 'error';
    }
    this.usage = usageFromBody(data) ?? this.usage;
    const text = textFromBody(data);
    if (text.length > 0) {
      if (this.keepText) this.text += text;
      this.contentEvents++;
      this.contentTokens += this.usage?.outputTokens ?? 0;
    }
    this.complete = true;
    return 'terminal';
  }
}

function sessionKey(headers: Headers): SessionKey | undefined {
  for (const name of ['x-session-id', 'session_id']) {
    const h = header(headers, name);
    if (h) return { source: `header:${name}`, value: h };
  }
  // Pass-through bodies have no known conversation shape: no content-derived key.
  return undefined;
}

export const customPass: Protocol = {
  id: 'custom-pass',
  requestInfo,
  validate,
  errorReply,
  streamErrorEvents,
  terminalEvents: () => [],
  errorFromBody,
  usageFromBody,
  textFromBody,
  createObserver: (options) => new CustomPassObserver(options?.text),
  sessionKey,
  withModel: replaceModel,
  buildResponse,
  buildStream,
  buildStreamError,
};
