/**
 * The custom-pass routes, served by the relay's pipeline after its shared first stages
 * (authenticate, the key's rate limit; relay/pipeline/handler):
 *   POST /pass/{model}[?query]          sync: admit → plan → reserve → attempts → settle → record
 *   POST /pass/{model}/submit[?query]   async: the same, then the task is stored and its relay id answered
 *   GET  /pass/tasks/{id}               the task as the relay knows it (billing never waits for this)
 * The stages are the pipeline's own (one body reader and limit, the key's model allow-list, the
 * planner over live state, the attempt loop with its cooldowns, breakers and attempt trail, the
 * request log); only money is custom-pass's: a channel's billing strategy and task reservations.
 * Query parameters and the body go upstream unchanged; the upstream gets the channel's token
 * and, when configured, the client's user token in its own header, never the relay key.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../lib/clock.js';
import { customPass, customPassRoute, customPassUsage, envelope, envelopeOk } from '../../protocols/custom-pass.js';
import type { Usage } from '../../protocols/types.js';
import type { ModelPrice } from '../billing/prices.js';
import { TASK_RESERVATION_PREFIX, type LedgerBilling } from '../billing/service.js';
import type { Outcome as BillingOutcome } from '../billing/types.js';
import type { EndpointModel, RelayModel } from '../config/model.js';
import { classify } from '../http/classify.js';
import { HttpError, send } from '../http/reply.js';
import { admit } from '../pipeline/admit.js';
import { answerFailure } from '../pipeline/answer.js';
import { planRequest, type Planned } from '../pipeline/plan.js';
import { recordWithoutAttempts, recordRequest } from '../pipeline/record.js';
import type { AuthenticatedCall, RelayRuntime } from '../pipeline/runtime.js';
import { countAttempts } from '../pipeline/settle.js';
import { runAttemptLoop, type AttemptResult, type LoopDeps, type LoopResult } from '../proxy/attempt-loop.js';
import type { Exchange } from '../proxy/exchange.js';
import { downstreamHeaders } from '../proxy/headers.js';
import { upstreamErrorResult } from '../proxy/upstream-attempt.js';
import type { EndpointLiveState } from '../state/types.js';
import type { PassSettings } from './config.js';
import { passPrice, passReservation } from './pricing.js';
import { mapTaskStatus } from './status.js';
import type { PassTask, PassTaskStore } from './tasks.js';
import { callUpstream, isTimeout, type PassEndpoint, type UpstreamAnswer } from './upstream.js';

export interface PassDeps {
  clock: Clock;
  settings: PassSettings;
  /** Undefined: the relay has no billing; nothing is reserved or charged. */
  billing?: LedgerBilling;
  tasks: PassTaskStore;
  /** Reservation estimate when a body has no max tokens (billing's default_max_output_tokens). */
  defaultMaxOutputTokens?: number;
  /** Called after a task is stored (the poller starts on the first one). */
  onTaskStored?(task: PassTask): void;
  onError?(err: Error, context: string): void;
}

export interface PassRoutes {
  serve(rt: RelayRuntime, call: AuthenticatedCall): Promise<void>;
}

const PASS_ROUTE = classify('POST', '/pass/')!;

export function passEndpoint(e: EndpointModel): PassEndpoint {
  return { name: e.name, channel: e.channel, origin: e.origin, pathPrefix: e.pathPrefix, token: e.token };
}

export function createPassRoutes(deps: PassDeps): PassRoutes {
  return { serve: (rt, call) => serve(deps, rt, call) };
}

/** One sync or submit call once admitted: what every later step needs. */
interface PassCall {
  rt: RelayRuntime;
  config: RelayModel;
  ex: Exchange;
  keyName: string;
  model: string;
  /** '' (sync) or '/submit'. */
  suffix: string;
  userToken: Record<string, string>;
  path: string;
}

/** Throws an HttpError only before anything was reserved or sent upstream (the pipeline answers and records it). */
async function serve(deps: PassDeps, rt: RelayRuntime, c: AuthenticatedCall): Promise<void> {
  const method = c.req.method ?? 'GET';
  const taskMatch = /^\/pass\/tasks\/([^/]+)$/.exec(c.path);
  if (taskMatch && method === 'GET') return answerTask(deps, rt, c, decodeURIComponent(taskMatch[1]));
  if (method !== 'POST') throw new HttpError(404, `no route for ${method} ${c.path} (tasks: GET /pass/tasks/{id})`);
  const route = customPassRoute(c.path);
  if (!route || (route.action !== 'sync' && route.action !== 'submit')) {
    throw new HttpError(404, `no route for POST ${c.path}: use /pass/{model} or /pass/{model}/submit, and GET /pass/tasks/{id}`);
  }
  // A task's request is known by its reservation's id from the start: the client's answer, the
  // request log and the upstream's journal all name the id the ledger settles by.
  const taskId = route.action === 'submit' ? `pt_${randomUUID().replace(/-/g, '')}` : undefined;
  const requestId = taskId ? `${TASK_RESERVATION_PREFIX}${taskId}` : c.requestId;
  const ex = await admit({
    req: c.req, res: c.res, route: PASS_ROUTE, protocol: customPass, requestId, now: c.startedAt,
    query: c.query, key: c.key, maxBodyBytes: rt.maxBodyBytes, model: route.model,
  });
  const invalid = customPass.validate(ex.body);
  if (invalid) throw new HttpError(invalid.status, 'invalid custom-pass body', {}, invalid);

  const planned = await planRequest(rt, c.config, PASS_ROUTE.types, route.model, c.startedAt, undefined);
  const call: PassCall = {
    rt, config: c.config, ex, keyName: c.key.name, model: route.model, suffix: route.action === 'submit' ? '/submit' : '',
    userToken: forwardedUserToken(deps.settings, c), path: c.path,
  };
  if (planned.plan.candidates.length === 0) {
    answerFailure(ex, noAttempts(), planned.plan, rt.clock.now());
    return finish(call, noAttempts(), { outcome: 'upstream_error', usage: undefined });
  }
  if (taskId) return submit(deps, call, planned, taskId);
  return sync(deps, call, planned);
}

function noAttempts(): LoopResult {
  return { last: undefined, endpoint: undefined, attempts: [], stopped: 'no_candidates' };
}

function forwardedUserToken(settings: PassSettings, c: AuthenticatedCall): Record<string, string> {
  if (!settings.userTokenHeader) return {};
  const v = c.req.headers[settings.clientUserTokenHeader];
  const token = Array.isArray(v) ? v[0] : v;
  // The relay key never goes upstream, even if a client puts it in the user-token header.
  if (!token || token === c.key.key) return {};
  return { [settings.userTokenHeader]: token };
}

/** Reserves for a call priced by the first candidate's channel; undefined when billing is off. Throws the refusal. */
async function reserve(deps: PassDeps, call: PassCall, ep: EndpointModel, billingId: string): Promise<ModelPrice | undefined> {
  const billing = deps.billing;
  if (!billing) return undefined;
  const priced = passPrice(deps.settings, billing, ep.channel, call.model);
  if (!priced.ok) throw new HttpError(403, priced.message);
  let amount = 0;
  if (priced.price.kind !== 'free') {
    const estimate = (deps.settings.upstreamPrecharge && (await upstreamEstimate(deps, call, ep))) || localEstimate(deps, call);
    amount = passReservation(priced.price, estimate);
  }
  const r = await billing.reserve({ requestId: billingId, keyName: call.keyName, model: call.model, amount, estimatedInputTokens: call.ex.info.estimatedInputTokens, path: call.path });
  if (!r.ok) throw new HttpError(r.status, r.message);
  return priced.price;
}

function localEstimate(deps: PassDeps, call: PassCall): Usage {
  const info = call.ex.info;
  return { inputTokens: info.estimatedInputTokens, outputTokens: info.maxOutputTokens ?? deps.defaultMaxOutputTokens ?? 4096, cacheWriteTokens: 0, cacheReadTokens: 0 };
}

function upstreamCall(deps: PassDeps, call: PassCall, ep: EndpointModel, query: string) {
  return callUpstream(call.rt.pools, passEndpoint(ep), {
    method: 'POST', path: `/${call.model}${call.suffix}${query}`, body: call.ex.rawBody, requestId: call.ex.requestId,
    extraHeaders: call.userToken, timeoutMs: deps.settings.timeoutMs, maxBytes: call.rt.maxBodyBytes,
  });
}

/** Asks the upstream (`precharge=true`) what the call will use; undefined if it cannot say. */
async function upstreamEstimate(deps: PassDeps, call: PassCall, ep: EndpointModel): Promise<Usage | undefined> {
  try {
    const q = call.ex.query;
    const a = await upstreamCall(deps, call, ep, q ? `${q}&precharge=true` : '?precharge=true');
    if (a.status >= 300 || !envelopeOk(a.json)) return undefined;
    return customPass.usageFromBody(a.json);
  } catch {
    return undefined;
  }
}

/**
 * The attempt loop's view of a custom-pass call: one upstream call per candidate, classified by
 * the error table like any other attempt (network, timeout, 429, 5xx fail over and cool the
 * endpoint; 401/403 count against its credential; other 4xx are handed back). The answer of a
 * successful attempt is kept for the caller: billing closes before the client hears it.
 */
class PassLoop implements LoopDeps {
  readonly live: RelayRuntime['live'];
  readonly clock: Clock;
  answer: UpstreamAnswer | undefined;

  constructor(
    private readonly deps: PassDeps,
    private readonly call: PassCall,
    readonly config: RelayModel,
    readonly states: ReadonlyMap<string, EndpointLiveState>,
  ) {
    this.live = call.rt.live;
    this.clock = call.rt.clock;
  }

  async attempt(ep: EndpointModel): Promise<AttemptResult> {
    let a: UpstreamAnswer;
    try {
      a = await upstreamCall(this.deps, this.call, ep, this.call.ex.query);
    } catch (err) {
      return { kind: 'failed', committed: false, outcome: isTimeout(err) ? 'timeout' : 'connect_error', message: (err as Error).message };
    }
    if (a.status >= 200 && a.status < 300) {
      this.answer = a;
      return { kind: 'ok', committed: false, status: a.status };
    }
    return upstreamErrorResult(customPass, a.status, a.headers, a.raw, this.clock.now());
  }

  onBackgroundError(err: unknown): void {
    this.call.rt.logger.warn({ err: (err as Error).message }, 'live state write failed');
  }

  onStateChange(e: { endpoint: string; change: string; detail?: unknown }): void {
    this.call.rt.logger.warn({ endpoint: e.endpoint, detail: e.detail }, e.change);
  }
}

async function attempts(deps: PassDeps, call: PassCall, planned: Planned): Promise<{ loop: LoopResult; answer: UpstreamAnswer | undefined }> {
  const passLoop = new PassLoop(deps, call, call.config, planned.states);
  const loop = await runAttemptLoop(planned.plan.candidates, passLoop, call.ex.startedAt);
  return { loop, answer: loop.last?.kind === 'ok' ? passLoop.answer : undefined };
}

async function sync(deps: PassDeps, call: PassCall, planned: Planned): Promise<void> {
  const billingId = call.ex.requestId;
  const first = planned.plan.candidates[0].endpoint;
  const price = await reserve(deps, call, first, billingId);
  const { loop, answer } = await attempts(deps, call, planned);
  const endpoint = (loop.endpoint ?? first).name;
  const ok = answer !== undefined && envelopeOk(answer.json);
  const usage = ok ? (customPass.usageFromBody(answer.json) ?? { ...localEstimate(deps, call), estimated: true }) : undefined;
  if (deps.billing && price) {
    const closing = ok
      ? deps.billing.close(billingId, { mode: 'usage', rule: 'success', usage, endpoint, price })
      : deps.billing.close(billingId, { mode: 'zero', rule: 'upstream_error', endpoint, kind: 'refund' });
    await closing.catch((err: Error) => deps.onError?.(err, `pass settle ${billingId}`));
  }
  if (answer) sendAnswer(call.ex, answer, call.rt.clock.now());
  else answerFailure(call.ex, loop, planned.plan, call.rt.clock.now());
  finish(call, loop, { outcome: ok ? 'success' : 'upstream_error', usage });
}

async function submit(deps: PassDeps, call: PassCall, planned: Planned, taskId: string): Promise<void> {
  const billingId = call.ex.requestId;
  const first = planned.plan.candidates[0].endpoint;
  const price = await reserve(deps, call, first, billingId);
  const { loop, answer } = await attempts(deps, call, planned);
  const ep = loop.endpoint ?? first;
  const data = answer && envelopeOk(answer.json) ? (answer.json as { data?: { task_id?: unknown; status?: unknown } }).data : undefined;
  const upstreamTaskId = typeof data?.task_id === 'string' ? data.task_id : undefined;
  if (!upstreamTaskId) {
    if (deps.billing && price) {
      await deps.billing.close(billingId, { mode: 'zero', rule: 'submit_failed', endpoint: ep.name, kind: 'refund' }).catch((err: Error) => deps.onError?.(err, `pass refund ${billingId}`));
    }
    if (!answer) answerFailure(call.ex, loop, planned.plan, call.rt.clock.now());
    else if (envelopeOk(answer.json)) send(call.ex.res, customPass.errorReply(502, 'custom-pass upstream accepted the task but returned no task_id', { requestId: call.ex.requestId }), call.ex.requestId);
    else sendAnswer(call.ex, answer, call.rt.clock.now());
    return finish(call, loop, { outcome: 'upstream_error', usage: undefined });
  }
  const now = deps.clock.now();
  const task: PassTask = {
    id: taskId, upstreamTaskId, keyName: call.keyName, model: call.model, endpoint: ep.name, channel: ep.channel,
    status: mapTaskStatus(data?.status, deps.settings.statusMap) ?? 'queued', upstreamStatus: typeof data?.status === 'string' ? data.status : undefined,
    submittedAt: now, updatedAt: now, reservation: price ? billingId : undefined, price, billed: !price,
  };
  await deps.tasks.put(task);
  deps.onTaskStored?.(task);
  send(call.ex.res, { status: 200, headers: { 'content-type': 'application/json' }, body: envelope({ task_id: taskId, status: task.status }) }, call.ex.requestId);
  // The task is billed later, by the poller; the request itself is recorded as served.
  finish(call, loop, { outcome: 'success', usage: undefined });
}

/** Stats and the request log line with the attempt trail (the same as every other request's). */
function finish(call: PassCall, loop: LoopResult, settled: { outcome: BillingOutcome; usage: Usage | undefined }): void {
  countAttempts(call.rt, loop, settled.outcome);
  recordRequest(call.rt, call.ex, call.keyName, call.path, loop, settled, undefined, false);
}

/** The upstream's answer, as its bytes, with its headers minus hop-by-hop and framing. */
function sendAnswer(ex: Exchange, a: UpstreamAnswer, now: number): void {
  if (ex.res.headersSent || ex.res.destroyed) return;
  const headers = downstreamHeaders(a.headers, ex.requestId);
  headers['content-length'] = String(a.raw.length);
  ex.committed = true;
  ex.ttfbAt = now;
  ex.res.writeHead(a.status, headers);
  ex.res.end(a.raw);
}

async function answerTask(deps: PassDeps, rt: RelayRuntime, c: AuthenticatedCall, id: string): Promise<void> {
  const task = await deps.tasks.get(id);
  // Another key's task is as good as missing.
  if (!task || task.keyName !== c.key.name) throw new HttpError(404, `task ${id} not found`);
  send(c.res, { status: 200, headers: { 'content-type': 'application/json' }, body: envelope(taskView(task)) }, c.requestId);
  recordWithoutAttempts(rt, c.requestId, c.startedAt, c.key.name, 'custom-pass', c.path, 200, 'ok');
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
