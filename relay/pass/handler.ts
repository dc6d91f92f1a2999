/**
 * The custom-pass routes, as a raw node:http handler the relay core calls for `/pass/*`:
 *   POST /pass/{model}[?query]          sync: reserve, forward, settle from the envelope's usage
 *   POST /pass/{model}/submit[?query]   async: reserve, submit, store the task, answer its relay id
 *   GET  /pass/tasks/{id}               the task as the relay knows it (billing never waits for this)
 * Query parameters and the body go upstream unchanged; the upstream gets the channel's token and,
 * when configured, the client's user token in its own header, never the relay key.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../../lib/clock.js';
import { readClientCredential } from '../../protocols/auth.js';
import { customPass, customPassRoute, customPassUsage, envelope, envelopeOk } from '../../protocols/custom-pass.js';
import type { Usage } from '../../protocols/types.js';
import { readBody } from '../http/body.js';
import { requestIdFor } from '../service/request-id.js';
import { HttpError, send } from '../http/reply.js';
import { TASK_RESERVATION_PREFIX, type LedgerBilling } from '../billing/service.js';
import type { PassSettings } from './config.js';
import { passPrice, passReservation } from './pricing.js';
import type { PassTask, PassTaskStore } from './tasks.js';
import { callUpstream, type PassEndpoint, type UpstreamAnswer } from './upstream.js';
import { mapTaskStatus } from './status.js';
import type { ModelPrice } from '../billing/prices.js';

export interface PassDeps {
  clock: Clock;
  settings: PassSettings;
  /** Undefined: the relay has no billing; nothing is reserved or charged. */
  billing?: LedgerBilling;
  tasks: PassTaskStore;
  /** The relay key's name for a client credential; undefined = not a key. */
  authenticate(credential: string): string | undefined;
  /** custom-pass endpoints that serve this model, in routing order. */
  endpoints(model: string): PassEndpoint[];
  /** Reservation estimate when a body has no max tokens (billing's default_max_output_tokens). */
  defaultMaxOutputTokens?: number;
  /** Called after a task is stored (the poller starts on the first one). */
  onTaskStored?(task: PassTask): void;
  onError?(err: Error, context: string): void;
  /** The relay's one request body limit. */
  maxBodyBytes: number;
}

export function createPassHandler(deps: PassDeps): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const requestId = requestIdFor(req.headers['x-request-id']);
    try {
      await handle(deps, req, res, requestId);
    } catch (err) {
      if (err instanceof HttpError) return send(res, customPass.errorReply(err.status, err.message, { requestId }), requestId);
      deps.onError?.(err as Error, 'pass handler');
      send(res, customPass.errorReply(500, 'internal relay error', { requestId }), requestId);
    }
  };
}

async function handle(deps: PassDeps, req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q + 1);
  const credential = readClientCredential(req.headers);
  if (!credential) throw new HttpError(401, 'missing API key: send Authorization: Bearer <key> or x-api-key');
  const keyName = deps.authenticate(credential);
  if (!keyName) throw new HttpError(401, 'invalid API key');

  const taskMatch = /^\/pass\/tasks\/([^/]+)$/.exec(path);
  if (taskMatch && req.method === 'GET') return answerTask(deps, res, requestId, keyName, decodeURIComponent(taskMatch[1]));
  if (req.method !== 'POST') throw new HttpError(404, `no route for ${req.method} ${path} (tasks: GET /pass/tasks/{id})`);
  const route = customPassRoute(path);
  if (!route || (route.action !== 'sync' && route.action !== 'submit')) {
    throw new HttpError(404, `no route for POST ${path}: use /pass/{model} or /pass/{model}/submit, and GET /pass/tasks/{id}`);
  }

  const raw = await readBody(req, deps.maxBodyBytes);
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new HttpError(400, 'request body must be JSON');
  }
  const invalid = customPass.validate(body);
  if (invalid) return send(res, invalid, requestId);

  const candidates = deps.endpoints(route.model);
  if (candidates.length === 0) throw new HttpError(503, `no custom-pass endpoint serves model "${route.model}"`);
  const userToken = forwardedUserToken(deps.settings, req, credential);
  const call = { route, query, raw, body, keyName, requestId, userToken, path };
  if (route.action === 'sync') return sync(deps, res, call, candidates);
  return submit(deps, res, call, candidates);
}

interface PassCall {
  route: { model: string };
  query: string;
  raw: Buffer;
  body: unknown;
  keyName: string;
  requestId: string;
  userToken: Record<string, string>;
  path: string;
}

function forwardedUserToken(settings: PassSettings, req: IncomingMessage, credential: string): Record<string, string> {
  if (!settings.userTokenHeader) return {};
  const v = req.headers[settings.clientUserTokenHeader];
  const token = Array.isArray(v) ? v[0] : v;
  // The relay key never goes upstream, even if a client puts it in the user-token header.
  if (!token || token === credential) return {};
  return { [settings.userTokenHeader]: token };
}

/** Reserves for a call on an endpoint; undefined when billing is off. Throws the refusal. */
async function reserve(deps: PassDeps, call: PassCall, ep: PassEndpoint, billingId: string, suffix: string): Promise<ModelPrice | undefined> {
  const billing = deps.billing;
  if (!billing) return undefined;
  const priced = passPrice(deps.settings, billing, ep.channel, call.route.model);
  if (!priced.ok) throw new HttpError(403, priced.message);
  let amount = 0;
  if (priced.price.kind !== 'free') {
    const estimate = (deps.settings.upstreamPrecharge && (await upstreamEstimate(deps, call, ep, suffix))) || localEstimate(deps, call);
    amount = passReservation(priced.price, estimate);
  }
  const r = await billing.reserve({ requestId: billingId, keyName: call.keyName, model: call.route.model, amount, estimatedInputTokens: customPass.requestInfo(call.body).estimatedInputTokens, path: call.path });
  if (!r.ok) throw new HttpError(r.status, r.message);
  return priced.price;
}

function localEstimate(deps: PassDeps, call: PassCall): Usage {
  const info = customPass.requestInfo(call.body);
  return { inputTokens: info.estimatedInputTokens, outputTokens: info.maxOutputTokens ?? deps.defaultMaxOutputTokens ?? 4096, cacheWriteTokens: 0, cacheReadTokens: 0 };
}

/** Asks the upstream (`precharge=true`) what the call will use; undefined if it cannot say. */
async function upstreamEstimate(deps: PassDeps, call: PassCall, ep: PassEndpoint, suffix: string): Promise<Usage | undefined> {
  try {
    const qs = call.query ? `${call.query}&precharge=true` : 'precharge=true';
    const a = await callUpstream(ep, {
      method: 'POST', path: `/${call.route.model}${suffix}?${qs}`, body: call.raw, requestId: call.requestId, extraHeaders: call.userToken, timeoutMs: deps.settings.timeoutMs,
    });
    if (a.status >= 300 || !envelopeOk(a.json)) return undefined;
    return customPass.usageFromBody(a.json);
  } catch {
    return undefined;
  }
}

/** Tries the candidates in order while the failure is the network or a 5xx/429 (nothing done upstream). */
async function forward(deps: PassDeps, call: PassCall, candidates: PassEndpoint[], suffix: string): Promise<{ ep: PassEndpoint; answer?: UpstreamAnswer; error?: Error }> {
  let last: { ep: PassEndpoint; answer?: UpstreamAnswer; error?: Error } = { ep: candidates[0] };
  for (const ep of candidates) {
    try {
      const answer = await callUpstream(ep, {
        method: 'POST', path: `/${call.route.model}${suffix}${call.query ? `?${call.query}` : ''}`, body: call.raw, requestId: call.requestId,
        extraHeaders: call.userToken, timeoutMs: deps.settings.timeoutMs,
      });
      last = { ep, answer };
      if (answer.status < 500 && answer.status !== 429) return last;
    } catch (err) {
      last = { ep, error: err as Error };
    }
  }
  return last;
}

async function sync(deps: PassDeps, res: ServerResponse, call: PassCall, candidates: PassEndpoint[]): Promise<void> {
  const billingId = call.requestId;
  const price = await reserve(deps, call, candidates[0], billingId, '');
  const { ep, answer, error } = await forward(deps, call, candidates, '');
  const ok = answer !== undefined && answer.status < 300 && envelopeOk(answer.json);
  if (deps.billing && price) {
    const usage = ok ? (customPass.usageFromBody(answer.json) ?? { ...localEstimate(deps, call), estimated: true }) : undefined;
    const closing = ok
      ? deps.billing.close(billingId, { mode: 'usage', rule: 'success', usage, endpoint: ep.name, price })
      : deps.billing.close(billingId, { mode: 'zero', rule: 'upstream_error', endpoint: ep.name, kind: 'refund' });
    await closing.catch((err: Error) => deps.onError?.(err, `pass settle ${billingId}`));
  }
  if (!answer) return send(res, customPass.errorReply(502, `custom-pass upstream unreachable: ${error?.message ?? 'no answer'}`, { requestId: call.requestId }), call.requestId);
  sendRaw(res, answer, call.requestId);
}

async function submit(deps: PassDeps, res: ServerResponse, call: PassCall, candidates: PassEndpoint[]): Promise<void> {
  const taskId = `pt_${randomUUID().replace(/-/g, '')}`;
  const billingId = `${TASK_RESERVATION_PREFIX}${taskId}`;
  // The upstream sees the reservation's id, so its journal ties the task's usage to the ledger.
  call = { ...call, requestId: billingId };
  const price = await reserve(deps, call, candidates[0], billingId, '/submit');
  const { ep, answer, error } = await forward(deps, call, candidates, '/submit');
  const data = answer && answer.status < 300 && envelopeOk(answer.json) ? (answer.json as { data?: { task_id?: unknown; status?: unknown } }).data : undefined;
  const upstreamTaskId = typeof data?.task_id === 'string' ? data.task_id : undefined;
  if (!upstreamTaskId) {
    if (deps.billing && price) {
      await deps.billing.close(billingId, { mode: 'zero', rule: 'submit_failed', endpoint: ep.name, kind: 'refund' }).catch((err: Error) => deps.onError?.(err, `pass refund ${billingId}`));
    }
    if (!answer) return send(res, customPass.errorReply(502, `custom-pass upstream unreachable: ${error?.message ?? 'no answer'}`, { requestId: call.requestId }), call.requestId);
    if (answer.status < 300) return send(res, customPass.errorReply(502, 'custom-pass upstream accepted the task but returned no task_id', { requestId: call.requestId }), call.requestId);
    return sendRaw(res, answer, call.requestId);
  }
  const now = deps.clock.now();
  const task: PassTask = {
    id: taskId, upstreamTaskId, keyName: call.keyName, model: call.route.model, endpoint: ep.name, channel: ep.channel,
    status: mapTaskStatus(data?.status, deps.settings.statusMap) ?? 'queued', upstreamStatus: typeof data?.status === 'string' ? data.status : undefined,
    submittedAt: now, updatedAt: now, reservation: price ? billingId : undefined, price, billed: !price,
  };
  await deps.tasks.put(task);
  deps.onTaskStored?.(task);
  send(res, { status: 200, headers: { 'content-type': 'application/json' }, body: envelope({ task_id: taskId, status: task.status }) }, call.requestId);
}

async function answerTask(deps: PassDeps, res: ServerResponse, requestId: string, keyName: string, id: string): Promise<void> {
  const task = await deps.tasks.get(id);
  // Another key's task is as good as missing.
  if (!task || task.keyName !== keyName) throw new HttpError(404, `task ${id} not found`);
  send(res, { status: 200, headers: { 'content-type': 'application/json' }, body: envelope(taskView(task)) }, requestId);
}

export function taskView(t: PassTask): Record<string, unknown> {
  return {
    task_id: t.id,
    status: t.status,
    upstream_status: t.upstreamStatus ?? null,
    progress: t.progress ?? (t.status === 'succeeded' || t.status === 'failed' ? '100%' : '0%'),
    model: t.model,
    submitted_at: t.submittedAt,
    finished_at: t.finishedAt ?? null,
    error: t.error ?? null,
    result: t.result ?? null,
    usage: t.usage ? customPassUsage(t.usage) : null,
  };
}

function sendRaw(res: ServerResponse, a: UpstreamAnswer, requestId: string): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string> = { 'content-type': a.headers['content-type'] ?? 'application/json', 'x-request-id': requestId };
  if (a.headers['retry-after']) headers['retry-after'] = a.headers['retry-after'];
  res.writeHead(a.status, headers);
  res.end(a.text);
}
