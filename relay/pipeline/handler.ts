/**
 * The client-facing request path on a raw node:http server, composed of one file per stage:
 *
 *   authenticate → admit (rate limit, body, model allow-list) → reserve (settle.ts)
 *   → plan → attempts (attempt loop) → answer (on failure) → settle → record
 *
 * Nothing after the answer is awaited by the client. Every refusal is an HttpError written by
 * relay/http/reply; anything else that escapes a stage is a 500 in the client's protocol.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { protocolFor } from '../../protocols/index.js';
import type { Protocol } from '../../protocols/types.js';
import type { KeyModel, RelayModel } from '../config/model.js';
import { classify, protocolForPath } from '../http/classify.js';
import { HttpError, send, sendError } from '../http/reply.js';
import type { LoopResult } from '../proxy/attempt-loop.js';
import { markClientGone, type Exchange } from '../proxy/exchange.js';
import { declaredModels, modelsReply, upstreamModels } from '../proxy/models.js';
import { requestIdFor } from '../service/request-id.js';
import { admit, enforceRateLimit } from './admit.js';
import { answerFailure } from './answer.js';
import { runAttempts } from './attempts.js';
import { authenticate } from './authenticate.js';
import { planRequest, type Planned } from './plan.js';
import { recordWithoutAttempts, recordRequest } from './record.js';
import type { RelayRuntime } from './runtime.js';
import { bindSession, sessionOf } from './session.js';
import { reserve, settle } from './settle.js';

export type { Logger, RelayRuntime } from './runtime.js';

export function createClientHandler(rt: RelayRuntime): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(rt, req, res).catch((err) => failInternal(rt, res, protocolFor(protocolForPath(req.url ?? '/')), requestIdFor(undefined), err));
  };
}

async function handle(rt: RelayRuntime, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const method = req.method ?? 'GET';
  const route = classify(method, path);
  const requestId = requestIdFor(req.headers['x-request-id']);
  if (!route || (route.kind === 'pass' && !rt.pass)) {
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

  try {
    let key: KeyModel | undefined;
    let ex: Exchange;
    try {
      key = authenticate(config, req.headers);
      if (key.rateLimit) await enforceRateLimit(rt.live, key.name, key.rateLimit, now);
      if (route.kind === 'models') {
        const ids = declaredModels(config, key);
        const passed = ids.length === 0 ? await upstreamModels(rt, config, anthropicStyle, req.headers, requestId) : undefined;
        send(res, passed ?? modelsReply(ids, anthropicStyle), requestId);
        return;
      }
      // custom-pass composes the remaining stages itself (relay/pass/handler).
      if (route.kind === 'pass') return await rt.pass!.serve(rt, { req, res, requestId, startedAt: now, config, key, path, query: q < 0 ? '' : url.slice(q) });
      ex = await admit({ req, res, route, protocol, requestId, now, query: q < 0 ? '' : url.slice(q), key, maxBodyBytes: rt.maxBodyBytes });
      const exchange = ex;
      res.on('close', () => {
        if (!res.writableFinished) markClientGone(exchange);
      });
      await reserve(rt, key, ex, path);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      sendError(res, protocol, requestId, err);
      recordWithoutAttempts(rt, requestId, now, key?.name ?? '', route.protocol, path, err.status);
      return;
    }
    await serve(rt, config, key, ex, path);
  } catch (err) {
    failInternal(rt, res, protocol, requestId, err);
  }
}

/** Plan, attempts, answer, then settle and record: the request was admitted and its estimate reserved. */
async function serve(rt: RelayRuntime, config: RelayModel, key: KeyModel, ex: Exchange, path: string): Promise<void> {
  const session = sessionOf(config, ex, key.name);
  const types = ex.forcedType ? new Set([ex.forcedType]) : ex.route.types;
  // Endpoints that translate other protocols are looked at only when the layout has some (relay/translate).
  const translateFrom = config.translates && ex.route.kind === 'generate' && !ex.forcedType ? ex.protocol.id : undefined;
  let planned: Planned | undefined;
  let loop: LoopResult | undefined;
  try {
    planned = await planRequest(rt, config, types, ex.model, ex.startedAt, session?.stickyKey, translateFrom);
    if (planned.plan.candidates.length > 0 && !ex.clientGone) loop = await runAttempts(rt, config, key, ex, planned, session !== undefined);
    if (!ex.committed && !ex.clientGone) answerFailure(ex, loop ?? noAttempts(), planned.plan, rt.clock.now());
  } catch (err) {
    // A state backend that fails (Redis down) must cost the client one clear error, never a hang,
    // and the reservation must still be settled below.
    rt.logger.error({ err: (err as Error).message, requestId: ex.requestId }, 'routing failed');
    if (!ex.committed && !ex.clientGone) {
      sendError(ex.res, ex.protocol, ex.requestId, new HttpError(503, `relay state unavailable: ${(err as Error).message}`));
    } else if (!ex.res.writableEnded) ex.res.destroy();
  }
  loop ??= noAttempts();
  const binding = planned?.binding;
  if (session) bindSession(rt, config, session, binding, loop);
  const settled = settle(rt, ex, key, loop);
  recordRequest(rt, ex, key.name, path, loop, settled, session, binding !== undefined && binding.endpoint === loop.endpoint?.name);
}

function noAttempts(): LoopResult {
  return { last: undefined, endpoint: undefined, attempts: [], stopped: 'no_candidates' };
}

/** A bug on the relay's side: logged, and a 500 in the client's protocol (or a cut, once the answer started). */
function failInternal(rt: RelayRuntime, res: ServerResponse, protocol: Protocol, requestId: string, err: unknown): void {
  rt.logger.error({ err: (err as Error)?.message, stack: (err as Error)?.stack, requestId }, 'relay handler failed');
  if (!res.headersSent) send(res, protocol.errorReply(500, 'internal relay error', { requestId }), requestId);
  else res.destroy();
}
