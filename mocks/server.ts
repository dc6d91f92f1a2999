/**
 * One upstream's HTTP server: node:http with no framework in the hot path. A request goes
 * route → auth → body → validation → fault rule → latency → answer (JSON or paced SSE), and is
 * journaled when its response closes. Anything that throws is answered 500 in the kind's shape;
 * nothing a client sends can take the process down.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { maskToken } from '../lib/mask.js';
import { protocolFor } from '../protocols/index.js';
import { readClientCredential } from '../protocols/auth.js';
import { customPassRoute } from '../protocols/custom-pass.js';
import type { Protocol, RequestInfo, SessionKey } from '../protocols/types.js';
import { accountCheck, checkJwt, oauthToken, parseFormOrJson } from './chatgpt-oauth.js';
import type { FaultAction } from './config.js';
import { header, reply, sendJson, withKindHeaders, withRequestId, type Ctx, type ServerDeps } from './context.js';
import { handlePass } from './custom-pass.js';
import { Exchange } from './exchange.js';
import type { SessionKeysOf } from './journal.js';
import type { FiredRule } from './faults.js';
import { generate } from './generate.js';
import { KINDS, findRoute, modelsBody } from './kinds.js';
import { mixSeed } from './random.js';
import type { MockUpstream } from './upstream.js';

export type { Ctx, ServerDeps } from './context.js';

export const CONTROL_PREFIX = '/__mock/';

/**
 * `/_r/<name>/v1/messages` is served as `/v1/messages` and journaled with `route: <name>`: a
 * client (the scenario engine) gives each endpoint that shares this upstream a base URL of its
 * own, so the journal alone tells which endpoint a request was sent for.
 */
export const ROUTE_PREFIX = '/_r/';

/** The route name and the path without it; no route for any other path. */
export function splitRoute(path: string): { route: string | null; path: string } {
  if (!path.startsWith(ROUTE_PREFIX)) return { route: null, path };
  const end = path.indexOf('/', ROUTE_PREFIX.length);
  const route = decodeURIComponent(path.slice(ROUTE_PREFIX.length, end === -1 ? undefined : end));
  return route ? { route, path: end === -1 ? '/' : path.slice(end) } : { route: null, path };
}
export const MAX_BODY_BYTES = 32 * 1024 * 1024;
/** Stands for a body over the limit (identity-compared). */
const TOO_LARGE = Buffer.alloc(0);

const DEFAULT_MESSAGES: Record<number, string> = {
  400: 'Bad request',
  401: 'Invalid authentication credentials',
  403: 'Permission denied',
  404: 'Not found',
  408: 'Request timed out',
  413: 'Request too large',
  429: 'Rate limit exceeded, please retry after a while',
  500: 'Internal server error',
  502: 'Bad gateway',
  503: 'Service unavailable',
  504: 'Gateway timeout',
  529: 'Overloaded',
};

let requestIdCounter = 0;

export function createUpstreamServer(up: MockUpstream, deps: ServerDeps): Server {
  const server = createServer((req, res) => onRequest(up, deps, req, res));
  // Streams may be paced for minutes; node's defaults would cut slow clients and idle keep-alives.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 60_000;
  return server;
}

function onRequest(up: MockUpstream, deps: ServerDeps, req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const { route: endpointRoute, path } = splitRoute(q === -1 ? url : url.slice(0, q));
  const rawQuery = q === -1 ? '' : url.slice(q + 1);
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (c: Buffer) => {
    size += c.length;
    // Past the limit the bytes are read and dropped: the answer is a 413, never an out-of-memory.
    if (size <= MAX_BODY_BYTES) chunks.push(c);
  });
  req.on('error', () => res.destroy());
  req.on('end', () => {
    const raw = size > MAX_BODY_BYTES ? TOO_LARGE : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    if (path.startsWith(CONTROL_PREFIX) || path === '/__mock') {
      try {
        deps.control(req, res, path, new URLSearchParams(rawQuery), raw);
      } catch (err) {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: String((err as Error)?.message ?? err) } }));
      }
      return;
    }
    serve(up, deps, req, res, path, rawQuery, raw, size, endpointRoute);
  });
}

function serve(up: MockUpstream, deps: ServerDeps, req: IncomingMessage, res: ServerResponse, path: string, rawQuery: string, raw: Buffer, size: number, endpointRoute: string | null): void {
  const method = req.method ?? 'GET';
  const { route, pathKnown } = findRoute(up.kind, method, path);
  const kind = KINDS[up.kind];
  const ctx: Ctx = {
    up,
    deps,
    ex: new Exchange(res, deps.clock),
    route,
    protocol: protocolFor(route?.protocol ?? kind.protocol),
    method,
    path,
    rawQuery,
    headers: req.headers,
    credential: readClientCredential(req.headers),
    body: null,
    rawText: undefined,
    info: undefined,
    session: undefined,
    fired: undefined,
    requestId: `req_${(mixSeed(up.seed, ++requestIdCounter) >>> 0).toString(16).padStart(8, '0')}${requestIdCounter.toString(16).padStart(8, '0')}`,
  };
  const seq = deps.journal.nextSeq();
  const time = deps.clock.now();
  ctx.ex.onFinish = () => {
    const ex = ctx.ex;
    deps.journal.append({
      seq,
      time,
      upstream: up.name,
      kind: up.kind,
      method,
      path,
      ...(endpointRoute === null ? {} : { route: endpointRoute }),
      query: rawQuery === '' ? NO_QUERY : parseQuery(rawQuery),
      headers: req.headers,
      credential: ctx.credential ?? null,
      body: null,
      bodyBytes: size,
      model: ctx.info?.model ?? null,
      stream: ctx.info?.stream ?? false,
      sessionKeys: NO_SESSIONS,
      rule: ctx.fired?.name ?? null,
      status: ex.status,
      eventsSent: ex.eventsSent,
      bytesSent: ex.bytesSent,
      disconnect: ex.disconnect,
      clientAborted: ex.clientAborted,
      usage: ex.usage,
      prefill: ex.prefill,
      text: ex.textSent,
      durationMs: deps.clock.now() - time,
    }, ctx.rawText ?? (raw.length > 0 ? raw.toString('utf8') : undefined), ctx.info ? sessionKeysOf(ctx.protocol, req.headers, ctx.session) : undefined);
  };
  try {
    if (raw === TOO_LARGE) {
      reply(ctx, ctx.protocol.errorReply(413, `Request exceeds the maximum size of ${MAX_BODY_BYTES} bytes`, { requestId: ctx.requestId }));
      return;
    }
    if (!route) {
      reply(ctx, ctx.protocol.errorReply(pathKnown ? 405 : 404, pathKnown ? `Method ${method} not allowed on ${path}` : `Not found: ${method} ${path}`, { requestId: ctx.requestId }));
      return;
    }
    const pending = pipeline(ctx, raw);
    if (pending) pending.catch((err) => crashed(ctx, err));
  } catch (err) {
    crashed(ctx, err);
  }
  // Most answers are complete by now; only pending ones (streams, latency, hangs) need to hear a close.
  if (!ctx.ex.finished) res.once('close', () => ctx.ex.close());
}

const NO_SESSIONS: SessionKey[] = Object.freeze([]) as unknown as SessionKey[];
const NO_QUERY: Record<string, string> = Object.freeze({});

/**
 * The journal derives an entry's session key (a hash) when the entry is first read: nothing is
 * hashed per request unless a fault rule needed the key already.
 */
function sessionKeysOf(protocol: Protocol, headers: IncomingMessage['headers'], known: SessionKey | undefined): SessionKeysOf {
  return (body) => {
    try {
      const key = known ?? protocol.sessionKey(headers, body);
      return key ? [key] : NO_SESSIONS;
    } catch {
      return NO_SESSIONS; // a body the protocol cannot read has no session key
    }
  };
}

function crashed(ctx: Ctx, err: unknown): void {
  if (ctx.ex.res.headersSent) {
    ctx.ex.res.destroy();
    return;
  }
  reply(ctx, ctx.protocol.errorReply(500, `mock internal error: ${(err as Error)?.message ?? String(err)}`, { requestId: ctx.requestId }));
}

/** Returns a promise only when a step is asynchronous (JWT checks, OAuth). */
function pipeline(ctx: Ctx, raw: Buffer): Promise<void> | void {
  const route = ctx.route!;
  if (route.auth === 'jwt') return checkJwt(ctx).then((ok) => (ok ? afterAuth(ctx, raw) : undefined));
  if (route.auth === 'key' && !authorized(ctx)) return;
  if (route.protocol === 'anthropic' && !versioned(ctx)) return;
  return afterAuth(ctx, raw);
}

/**
 * API versions api.anthropic.com accepts in `anthropic-version` (2026-10-21 is what
 * @anthropic-ai/sdk 1.x sends; Claude Code and older SDKs send 2023-06-01).
 */
export const ANTHROPIC_VERSIONS = ['2023-01-01', '2023-06-01', '2026-10-21'];

/**
 * Every Anthropic route requires `anthropic-version` (the SDKs and Claude Code always send it);
 * without it, or with a date that is no version, the real API answers 400 invalid_request_error.
 */
function versioned(ctx: Ctx): boolean {
  const raw = ctx.headers['anthropic-version'];
  const version = Array.isArray(raw) ? raw.join(', ') : raw;
  if (version !== undefined && ANTHROPIC_VERSIONS.includes(version)) return true;
  const message = version === undefined || version === '' ? 'anthropic-version: header is required' : `anthropic-version: ${JSON.stringify(version)} is not a valid version`;
  reply(ctx, ctx.protocol.errorReply(400, message, { requestId: ctx.requestId }));
  return false;
}

function authorized(ctx: Ctx): boolean {
  if (ctx.up.accepts(ctx.credential)) return true;
  const anthropic = ctx.protocol.id === 'anthropic';
  const message =
    ctx.credential === undefined
      ? anthropic
        ? 'x-api-key header is required'
        : "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
      : anthropic
        ? 'invalid x-api-key'
        : `Incorrect API key provided: ${maskToken(ctx.credential)}. You can find your API key at https://platform.openai.com/account/api-keys.`;
  const openai = ctx.protocol.id === 'openai-chat' || ctx.protocol.id === 'openai-responses';
  reply(ctx, ctx.protocol.errorReply(401, message, { requestId: ctx.requestId, code: openai ? 'invalid_api_key' : undefined }));
  return false;
}

function afterAuth(ctx: Ctx, raw: Buffer): Promise<void> | void {
  const route = ctx.route!;
  if (route.json) {
    const type = header(ctx.headers, 'content-type');
    if (type === undefined || !type.toLowerCase().includes('json')) {
      reply(ctx, ctx.protocol.errorReply(400, `Invalid content type: expected application/json, got ${type ?? 'none'}`, { requestId: ctx.requestId }));
      return;
    }
    try {
      ctx.rawText = raw.toString('utf8');
      ctx.body = JSON.parse(ctx.rawText);
    } catch (err) {
      reply(ctx, ctx.protocol.errorReply(400, `There was an error parsing the body: ${(err as Error).message}`, { requestId: ctx.requestId }));
      return;
    }
  } else if (route.handler === 'oauth_token') {
    ctx.body = parseFormOrJson(raw, header(ctx.headers, 'content-type'));
  }
  if (route.handler === 'generate' || route.handler === 'count_tokens') {
    // count_tokens takes a messages body without max_tokens.
    const checked = route.handler === 'count_tokens' && isPlainObject(ctx.body) ? { max_tokens: 1, ...ctx.body } : ctx.body;
    const invalid = ctx.protocol.validate(checked);
    if (invalid) {
      ctx.info = safeInfo(ctx);
      reply(ctx, withRequestId(ctx, invalid));
      return;
    }
  }
  if (route.handler === 'generate' || route.handler === 'count_tokens' || route.handler === 'pass') {
    ctx.info = ctx.protocol.requestInfo(ctx.body);
    if (ctx.up.rules.needsSession) ctx.session = ctx.protocol.sessionKey(ctx.headers, ctx.body);
  }
  if (route.handler === 'pass') {
    // The model of a pass-through request is in its path: {base}/{model}[/submit].
    ctx.info = { ...ctx.info!, model: customPassRoute(ctx.path)?.model ?? ctx.info!.model };
  }
  const fired = ctx.up.rules.size > 0 ? decide(ctx) : undefined;
  ctx.fired = fired;
  const action = fired?.action;
  const latency = ctx.up.settings.latency + (action?.latency ?? 0);
  if (action?.hang === 'headers') return; // the response never starts; journaled when the client leaves
  if (latency > 0) {
    ctx.ex.after(latency, () => {
      try {
        const p = answer(ctx, action);
        if (p) p.catch((err) => crashed(ctx, err));
      } catch (err) {
        crashed(ctx, err);
      }
    });
    return;
  }
  return answer(ctx, action);
}

function decide(ctx: Ctx): FiredRule | undefined {
  return ctx.up.rules.decide({
    method: ctx.method,
    path: ctx.path,
    model: ctx.info?.model,
    credential: ctx.credential,
    session: ctx.session?.value ?? header(ctx.headers, 'session_id') ?? header(ctx.headers, 'x-session-id'),
    stream: ctx.info?.stream ?? false,
    headers: ctx.headers,
  });
}

function answer(ctx: Ctx, action: FaultAction | undefined): Promise<void> | void {
  if (action?.status !== undefined) {
    const reply0 = ctx.protocol.errorReply(action.status, action.message ?? DEFAULT_MESSAGES[action.status] ?? 'Error', {
      requestId: ctx.requestId,
      type: action.error_type,
      code: action.code,
      retryAfterSeconds: action.retry_after,
    });
    reply(ctx, withKindHeaders(ctx, reply0), action);
    return;
  }
  switch (ctx.route!.handler) {
    case 'generate':
      return generate(ctx, action);
    case 'count_tokens':
      sendJson(ctx, 200, { input_tokens: ctx.info!.estimatedInputTokens }, action);
      return;
    case 'models':
      sendJson(ctx, 200, modelsBody(ctx.up.kind, ctx.up.models, Math.floor(ctx.deps.clock.now() / 1000)), action);
      return;
    case 'account_check':
      return accountCheck(ctx, action);
    case 'oauth_token':
      return oauthToken(ctx, action);
    case 'pass':
      handlePass(ctx, action);
      return;
  }
}

function safeInfo(ctx: Ctx): RequestInfo | undefined {
  try {
    return ctx.protocol.requestInfo(ctx.body);
  } catch {
    return undefined;
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function parseQuery(raw: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  if (raw === '') return out;
  for (const [k, v] of new URLSearchParams(raw)) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}


