/**
 * Stage 5, answer (when no attempt answered the client): the upstream's last answer unchanged,
 * or the relay's own error saying why there was none. A successful attempt answers the client
 * itself (relay/proxy/upstream-attempt), so this stage only runs on failure.
 */
import type { Plan } from '../routing/planner.js';
import type { LoopResult } from '../proxy/attempt-loop.js';
import type { Exchange } from '../proxy/exchange.js';
import { downstreamHeaders } from '../proxy/headers.js';
import { HttpError, sendError } from '../http/reply.js';

export function answerFailure(ex: Exchange, loop: LoopResult, plan: Plan | undefined, now: number): void {
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
    const emptyReason = plan?.empty;
    const unavailable = plan?.unavailable;
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
