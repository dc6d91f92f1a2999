/**
 * The client-facing request path: auth -> classify -> plan -> attempt loop -> answer -> settle
 * and log. Runs on a raw node:http server; nothing after the answer is awaited by the client.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../../lib/clock.js';
import { readClientCredential } from '../../protocols/auth.js';
import { protocolFor } from '../../protocols/index.js';
import { countTextTokens } from '../../protocols/tokens.js';
import type { ErrorOptions, ErrorReply, Protocol, Usage } from '../../protocols/types.js';
import type { Billing, Outcome as BillingOutcome } from '../billing/types.js';
import type { ConfigHolder } from '../config/holder.js';
import type { EndpointModel, KeyModel, RelayModel } from '../config/model.js';
import { classify, parseModel, protocolForPath } from '../http/classify.js';
import { plan, relevantEndpoints, type Plan, type PlanRequest } from '../routing/planner.js';
import { requestIdFor } from '../service/request-id.js';
import { bindingAfterSuccess, stickyKeyHash } from '../state/sticky.js';
import type { EndpointLiveState, LiveState, RecordStore, RequestLogEntry, StickyBinding } from '../state/types.js';
import { runAttemptLoop, type AttemptResult, type LoopDeps, type LoopResult } from './attempt-loop.js';
import { markClientGone, type Exchange } from './exchange.js';
import { declaredModels, modelsReply, upstreamModels } from './models.js';
import { downstreamHeaders } from './headers.js';
import type { UpstreamPools } from './pools.js';
import type { StatsCollector } from './stats.js';
import { attemptUpstream, type AttemptEnv } from './upstream-attempt.js';

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface RelayRuntime {
  holder: ConfigHolder;
  live: LiveState;
  records: RecordStore;
  billing: Billing;
  clock: Clock;
  pools: UpstreamPools;
  stats: StatsCollector;
  logger: Logger;
  /** chatgpt-oauth: a fresh access token after a 401, or undefined. */
  refreshToken(endpoint: EndpointModel): Promise<EndpointModel | undefined>;
  /** Body size limit (relay/service limits; default 64 MiB). */
  maxBodyBytes?: number;
  /** The custom-pass channel's /pass/* handler (relay/pass). */
  pass?: { handle(req: IncomingMessage, res: ServerResponse): Promise<void> };
}

/** Large bodies are normal (long conversations, images); this only stops runaway uploads. */
const MAX_BODY = 64 * 1024 * 1024;
/** Past the limit the rest of an upload is read and dropped (so the 413 reaches the client), up to this much. */
const DISCARD_MAX = 16 * 1024 * 1024;

class HttpError extends Error {
  constructor(
    public readonly status: number,
    message: string,
    public readonly opts: ErrorOptions = {},
    /** The protocol's own answer (its validator's), sent as is. */
    public readonly reply?: ErrorReply,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, reply: ErrorReply, requestId: string): void {
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    ...reply.headers,
    'content-type': reply.headers['content-type'] ?? 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    'x-request-id': requestId,
  });
  res.end(body);
}

function sendError(res: ServerResponse, protocol: Protocol, requestId: string, err: HttpError): void {
  send(res, err.reply ?? protocol.errorReply(err.status, err.message, { requestId, ...err.opts }), requestId);
}

/**
 * Reads the body up to `limit` bytes. A body announced by content-length is refused before this
 * (relay/service); a chunked one is only known to be too big while it arrives: it is answered
 * 413 at once and the rest is read and dropped, because closing a socket with unread data resets
 * it and the client would see a reset instead of the 413.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (over) {
        if (size > limit + DISCARD_MAX) req.destroy();
        return;
      }
      if (size > limit) {
        over = true;
        chunks.length = 0;
        reject(new HttpError(413, `request body exceeds the relay's limit of ${limit} bytes`));
        return;
      }
      chunks.push(c);
    });
    let ended = false;
    req.on('end', () => {
      ended = true;
      resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    });
    req.on('error', reject);
    // A client that leaves mid-upload must not leave this request waiting forever.
    req.on('close', () => {
      if (!ended) reject(new HttpError(400, 'client closed the connection before the body was complete'));
    });
  });
}

let seq = 0;
const PROCESS_TAG = randomUUID().slice(0, 8);
function newRequestId(): string {
  return `req_${PROCESS_TAG}${(++seq).toString(36).padStart(6, '0')}`;
}

export function createClientHandler(rt: RelayRuntime): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(rt, req, res).catch((err) => {
      rt.logger.error({ err: (err as Error).message, stack: (err as Error).stack }, 'relay handler failed');
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ type: 'error', error: { type: 'api_error', message: 'internal relay error' } }));
      } else res.destroy();
    });
  };
}

async function handle(rt: RelayRuntime, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const method = req.method ?? 'GET';
  if (rt.pass && path.startsWith('/pass/')) return rt.pass.handle(req, res);
  const route = classify(method, path);
  const requestId = requestIdFor(req.headers['x-request-id'], newRequestId);
  if (!route) {
    sendError(res, protocolFor(protocolForPath(path)), requestId, new HttpError(404, `no route for ${method} ${path}`, { type: 'not_found_error' }));
    return;
  }
  if (route.kind === 'probe') {
    // Client warm-up (HEAD /): answered at once, without auth.
    res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': requestId });
    res.end(method === 'HEAD' ? undefined : '{"ok":true,"service":"relaylab-relay"}');
    return;
  }
  rt.holder.maybeRefresh(rt.clock.now());
  const config = rt.holder.current;
  const anthropicStyle = route.protocol === 'anthropic' || (route.kind === 'models' && req.headers['anthropic-version'] !== undefined);
  const protocol = protocolFor(anthropicStyle ? 'anthropic' : route.protocol);
  const now = rt.clock.now();

  let key: KeyModel;
  try {
    key = await authenticate(rt, config, req, now);
  } catch (err) {
    if (!(err instanceof HttpError)) throw err;
    sendError(res, protocol, requestId, err);
    logRejected(rt, requestId, now, '', route.protocol, path, err.status, 'rejected');
    return;
  }
  if (route.kind === 'models') {
    const ids = declaredModels(config, key);
    const passed = ids.length === 0 ? await upstreamModels(rt, config, anthropicStyle, req.headers, requestId) : undefined;
    send(res, passed ?? modelsReply(ids, anthropicStyle), requestId);
    return;
  }

  let ex: Exchange;
  try {
    ex = await readExchange(req, res, route, protocol, requestId, now, url, q, key, rt.maxBodyBytes ?? MAX_BODY);
  } catch (err) {
    if (!(err instanceof HttpError)) throw err;
    sendError(res, protocol, requestId, err);
    logRejected(rt, requestId, now, key.name, route.protocol, path, err.status, 'rejected');
    return;
  }
  res.on('close', () => {
    if (!res.writableFinished) markClientGone(ex);
  });
  await serve(rt, config, key, ex, path);
}

async function authenticate(rt: RelayRuntime, config: RelayModel, req: IncomingMessage, now: number): Promise<KeyModel> {
  const credential = readClientCredential(req.headers);
  if (!credential) throw new HttpError(401, 'missing API key: send Authorization: Bearer <key> or x-api-key', { code: 'missing_api_key' });
  const key = config.keysByKey.get(credential);
  if (!key) throw new HttpError(401, 'invalid API key', { code: 'invalid_api_key' });
  if (key.rateLimit) {
    const hits = await rt.live.hitRateWindow(`key:${key.name}`, key.rateLimit.perMs, now);
    if (hits > key.rateLimit.requests) {
      const windowLeft = key.rateLimit.perMs - (now % key.rateLimit.perMs);
      throw new HttpError(429, `rate limit of ${key.rateLimit.requests} requests per ${key.rateLimit.perMs} ms exceeded for key "${key.name}"`, {
        retryAfterSeconds: Math.max(1, Math.ceil(windowLeft / 1000)),
        code: 'rate_limit_exceeded',
      });
    }
  }
  return key;
}

async function readExchange(
  req: IncomingMessage,
  res: ServerResponse,
  route: NonNullable<ReturnType<typeof classify>>,
  protocol: Protocol,
  requestId: string,
  now: number,
  url: string,
  q: number,
  key: KeyModel,
  maxBodyBytes: number,
): Promise<Exchange> {
  const rawBody = await readBody(req, maxBodyBytes);
  let body: unknown;
  try {
    body = JSON.parse(rawBody.toString('utf8'));
  } catch (err) {
    throw new HttpError(400, `request body is not valid JSON: ${(err as Error).message}`, { type: 'invalid_request_error' });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'request body must be a JSON object', { type: 'invalid_request_error' });
  }
  const info = protocol.requestInfo(body);
  const choice = parseModel(info.model);
  if (!choice.model) {
    // The relay routes by model: without one there is nothing to route, so it answers the way the
    // API itself would (the protocol's validator names the field) instead of asking an upstream.
    // Only the model is checked here: unknown fields and roles still pass through untouched.
    const reply = protocol.validate(body);
    const own = reply && reply.status === 400 ? reply : protocol.errorReply(400, 'model: Field required', { type: 'invalid_request_error', param: 'model' });
    throw new HttpError(400, 'model is required', {}, own);
  }
  if (choice.forcedType && !route.types.has(choice.forcedType)) {
    throw new HttpError(400, `model prefix "${choice.forcedType}," cannot be served on this path`, { type: 'invalid_request_error', param: 'model' });
  }
  if (key.models && choice.model !== undefined && !key.models.has(choice.model)) {
    throw new HttpError(403, `API key "${key.name}" may not use model "${choice.model}"`, { type: 'permission_error', code: 'model_not_allowed' });
  }
  return {
    req,
    res,
    requestId,
    startedAt: now,
    route,
    protocol,
    query: q < 0 ? '' : url.slice(q),
    rawBody,
    body,
    info,
    model: choice.model,
    forcedType: choice.forcedType,
    clientGone: false,
    committed: false,
    outputText: '',
  };
}

async function serve(rt: RelayRuntime, config: RelayModel, key: KeyModel, ex: Exchange, path: string): Promise<void> {
  const { clock, live } = rt;
  const now = ex.startedAt;
  const types = ex.forcedType ? new Set([ex.forcedType]) : ex.route.types;
  const session = ex.route.kind === 'generate' && config.sticky.enabled ? ex.protocol.sessionKey(ex.req.headers, ex.body) : undefined;
  const stickyKey = session ? stickyKeyHash(ex.protocol.id, session.source, session.value) : undefined;

  const pre = await rt.billing.precharge({
    requestId: ex.requestId,
    keyName: key.name,
    model: ex.model ?? '',
    protocol: ex.protocol.id,
    info: ex.info,
    path,
  });
  if (!pre.ok) {
    sendError(ex.res, ex.protocol, ex.requestId, new HttpError(pre.status, pre.message));
    logRejected(rt, ex.requestId, now, key.name, ex.protocol.id, path, pre.status, 'rejected');
    return;
  }

  let loop: LoopResult = { last: undefined, endpoint: undefined, attempts: [], stopped: 'no_candidates' };
  let binding: StickyBinding | undefined;
  try {
    const routed = await route(rt, config, ex, types, stickyKey, session !== undefined);
    if (routed.loop) loop = routed.loop;
    binding = routed.binding;
    if (!ex.committed && !ex.clientGone) answerFailure(ex, loop, routed.emptyReason, routed.unavailable, clock.now());
  } catch (err) {
    // A state backend that fails (Redis down) must cost the client one clear error, never a hang,
    // and the precharge must still be settled below.
    rt.logger.error({ err: (err as Error).message, requestId: ex.requestId }, 'routing failed');
    if (!ex.committed && !ex.clientGone) {
      sendError(ex.res, ex.protocol, ex.requestId, new HttpError(503, `relay state unavailable: ${(err as Error).message}`));
    } else if (!ex.res.writableEnded) ex.res.destroy();
  }

  const last = loop.last;
  const ep = loop.endpoint;
  if (stickyKey && last?.kind === 'ok' && ep) {
    const t = clock.now();
    const next = bindingAfterSuccess(binding, ep.name, t, config.sticky);
    if (next) {
      live.setBinding(stickyKey, next, t).catch((err) => rt.logger.warn({ err: (err as Error).message }, 'sticky binding write failed'));
    }
  }
  finish(rt, ex, key, loop, session, binding !== undefined && binding.endpoint === ep?.name, path);
}

/** Plans the candidates from live state and runs the attempt loop (its result is `loop`, absent when none ran). */
async function route(
  rt: RelayRuntime,
  config: RelayModel,
  ex: Exchange,
  types: PlanRequest['types'],
  stickyKey: string | undefined,
  hasSession: boolean,
): Promise<{ loop?: LoopResult; binding?: StickyBinding; emptyReason?: string; unavailable?: Plan['unavailable'] }> {
  const { live } = rt;
  const now = ex.startedAt;
  const relevant = relevantEndpoints(config, { types, model: ex.model });
  if (relevant.length === 0) return { emptyReason: plan(config, { types, model: ex.model }, new Map(), now).empty };
  const targets = relevant.map((e) => ({ endpoint: e.name, channel: e.channel, tokenId: e.tokenId }));
  const rotates = config.needsRotation && config.strategy === 'priority';
  let states: EndpointLiveState[];
  let binding: StickyBinding | undefined;
  let rotation = 0;
  if (stickyKey || rotates) {
    // Read together: with a shared store (Redis) that is one round trip instead of three.
    [states, binding, rotation] = await Promise.all([
      live.readEndpoints(targets, now),
      stickyKey ? live.getBinding(stickyKey, now) : undefined,
      rotates ? live.increment('relay:rotation') : 0,
    ]);
  } else {
    // Nothing else to read: no Promise.all and its arrays on the common path.
    states = await live.readEndpoints(targets, now);
  }
  const stateMap = new Map<string, EndpointLiveState>();
  for (const s of states) stateMap.set(s.endpoint, s);
  const p = plan(config, { types, model: ex.model, binding: binding?.endpoint }, stateMap, now, rotation);
  if (p.candidates.length === 0 || ex.clientGone) return { binding, emptyReason: p.empty, unavailable: p.unavailable };
  const loop = await runAttemptLoop(p.candidates, new ExchangeLoop(rt, config, stateMap, ex), now, hasSession ? p.sticky : undefined);
  return { loop, binding, emptyReason: p.empty, unavailable: p.unavailable };
}

/**
 * What the attempt loop and the upstream attempts of one exchange need. Methods on one object per
 * request instead of an env object and three closures (tsx's keepNames makes each closure cost a
 * defineProperty call).
 */
class ExchangeLoop implements LoopDeps, AttemptEnv {
  readonly live: LiveState;
  readonly clock: Clock;
  readonly pools: UpstreamPools;

  constructor(
    private readonly rt: RelayRuntime,
    readonly config: RelayModel,
    readonly states: ReadonlyMap<string, EndpointLiveState>,
    private readonly ex: Exchange,
  ) {
    this.live = rt.live;
    this.clock = rt.clock;
    this.pools = rt.pools;
  }

  attempt(ep: EndpointModel): Promise<AttemptResult> {
    return attemptWithRefresh(this.rt, this, this.ex, ep);
  }

  onBackgroundError(err: unknown): void {
    this.rt.logger.warn({ err: (err as Error).message }, 'live state write failed');
  }

  onStateChange(e: { endpoint: string; change: string; detail?: unknown }): void {
    this.rt.logger.warn({ endpoint: e.endpoint, detail: e.detail }, e.change);
  }
}

async function attemptWithRefresh(rt: RelayRuntime, env: AttemptEnv, ex: Exchange, ep: EndpointModel): Promise<AttemptResult> {
  const result = await attemptUpstream(env, ex, ep);
  if (result.kind === 'failed' && result.status === 401 && !result.committed && ep.type === 'chatgpt-oauth' && ep.refreshToken) {
    const fresh = await rt.refreshToken(ep).catch(() => undefined);
    if (fresh && !ex.clientGone) return attemptUpstream(env, ex, fresh);
  }
  return result;
}

/** Nothing reached the client: hand back the upstream's last answer unchanged, or say why there was none. */
function answerFailure(ex: Exchange, loop: LoopResult, emptyReason: string | undefined, unavailable: Plan['unavailable'], now: number): void {
  const last = loop.last;
  // The upstream's own answer beats a made-up one: a 429 stays a 429 even if a later attempt only timed out.
  const reply = last?.reply ?? loop.lastReply;
  if (reply) {
    const headers = downstreamHeaders(reply.headers, ex.requestId);
    headers['content-length'] = String(reply.body.length);
    ex.res.writeHead(reply.status, headers);
    ex.res.end(reply.body);
    return;
  }
  if (!last) {
    const message =
      emptyReason === 'no_active_channel'
        ? 'no active channel: every channel is paused'
        : emptyReason === 'no_endpoint_for_model'
          ? `no endpoint serves model "${ex.model ?? ''}" on ${ex.route.protocol}`
          : 'no upstream endpoint is available right now (all cooling down, open or disabled)';
    if (emptyReason === 'no_endpoint_for_model') {
      sendError(ex.res, ex.protocol, ex.requestId, new HttpError(404, message, { type: 'not_found_error', code: 'model_not_found' }));
      return;
    }
    // Every endpoint waiting out a rate limit is a rate limit for the client too (never a 5xx),
    // and either way the client learns when trying again makes sense.
    const retryAfterSeconds = unavailable?.retryAt !== undefined ? Math.max(1, Math.ceil((unavailable.retryAt - now) / 1000)) : undefined;
    if (unavailable?.rateLimited) {
      sendError(ex.res, ex.protocol, ex.requestId, new HttpError(429, 'every upstream endpoint is rate limited right now', { retryAfterSeconds }));
      return;
    }
    sendError(ex.res, ex.protocol, ex.requestId, new HttpError(503, message, { retryAfterSeconds }));
    return;
  }
  // Every attempt overloaded (in-stream overloaded_error before the commit point): say so as the upstream would, 529.
  const status = last.outcome === 'timeout' ? 504 : last.outcome === 'stream_overloaded' ? 529 : 502;
  sendError(ex.res, ex.protocol, ex.requestId, new HttpError(status, `upstream failed after ${loop.attempts.length} attempt(s): ${last.message ?? last.outcome}`));
}

/**
 * What the client received. A finished answer: the upstream's usage, else an estimate marked as
 * such. A stream that broke after the commit point: what was delivered (one output token per
 * content event, the protocol's token rule), with the input the stream reported.
 */
function deliveredUsage(ex: Exchange, complete: boolean): Usage {
  const observer = ex.observer;
  if (!complete && observer) {
    const seen = observer.usage;
    return {
      inputTokens: seen?.inputTokens ?? ex.info.estimatedInputTokens,
      outputTokens: Math.max(observer.contentTokens, 0),
      cacheWriteTokens: seen?.cacheWriteTokens ?? 0,
      cacheReadTokens: seen?.cacheReadTokens ?? 0,
      ...(seen ? {} : { estimated: true }),
    };
  }
  if (ex.usage) return ex.usage;
  return {
    inputTokens: ex.info.estimatedInputTokens,
    outputTokens: observer ? observer.contentTokens : countTextTokens(ex.outputText),
    cacheWriteTokens: 0,
    cacheReadTokens: 0,
    estimated: true,
  };
}

function billingOutcome(last: AttemptResult | undefined, ex: Exchange): BillingOutcome {
  if (!last) return 'upstream_error';
  if (last.kind === 'aborted' || ex.clientGone) return 'client_abort';
  if (last.kind === 'ok') return 'success';
  return last.committed ? 'stream_cut' : 'upstream_error';
}

function finish(
  rt: RelayRuntime,
  ex: Exchange,
  key: KeyModel,
  loop: LoopResult,
  session: { source: string; value: string } | undefined,
  stickyHit: boolean,
  path: string,
): void {
  const end = rt.clock.now();
  const outcome = billingOutcome(loop.last, ex);
  const delivered = ex.committed && ex.route.kind === 'generate';
  const usage = delivered ? deliveredUsage(ex, loop.last?.kind === 'ok' || ex.observer?.complete === true) : undefined;
  for (const a of loop.attempts) rt.stats.recordAttempt(a.endpoint, !a.errorClass && a.status !== undefined && a.status < 400, a.errorClass, a.durationMs);
  rt.stats.recordRequest(outcome);
  rt.billing
    .settle({
      requestId: ex.requestId,
      keyName: key.name,
      model: ex.model ?? '',
      endpoint: loop.endpoint?.name,
      outcome,
      usage,
      firstTokenSent: ex.committed,
    })
    .catch((err) => rt.logger.warn({ err: (err as Error).message, requestId: ex.requestId }, 'billing settle failed'));
  const entry: RequestLogEntry = {
    requestId: ex.requestId,
    time: ex.startedAt,
    keyName: key.name,
    protocol: ex.protocol.id,
    path,
    model: ex.model,
    stream: ex.info.stream,
    status: ex.res.statusCode,
    outcome: loop.attempts.length === 0 && outcome === 'upstream_error' ? 'no_candidate' : outcome === 'success' ? 'ok' : outcome,
    latencyMs: end - ex.startedAt,
    ttfbMs: ex.ttfbAt !== undefined ? ex.ttfbAt - ex.startedAt : undefined,
    session: session ? { source: session.source, hash: session.value.slice(0, 16), hit: stickyHit } : undefined,
    usage,
    attempts: loop.attempts,
  };
  rt.records.appendRequestLog(entry);
}

function logRejected(rt: RelayRuntime, requestId: string, now: number, keyName: string, protocol: string, path: string, status: number, outcome: string): void {
  rt.records.appendRequestLog({ requestId, time: now, keyName, protocol, path, stream: false, status, outcome, latencyMs: rt.clock.now() - now, attempts: [] });
}
