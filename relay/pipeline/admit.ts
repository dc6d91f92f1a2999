/**
 * Stage 2, admit: the key's limits and what the request may ask for. The key's rate limit
 * (counted in live state, so relays sharing Redis share it), then the body (the one reader and
 * limit), its model, a `type,model` prefix that fits the path, and the key's model allow-list.
 * The output is the Exchange every later stage works on.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Protocol } from '../../protocols/types.js';
import type { KeyModel } from '../config/model.js';
import { readBody } from '../http/body.js';
import { parseModel, type Route } from '../http/classify.js';
import { HttpError } from '../http/reply.js';
import type { Exchange } from '../proxy/exchange.js';
import type { LiveState } from '../state/types.js';

/** Counts the request against the key's window; throws the 429 once it is over. */
export async function enforceRateLimit(live: LiveState, keyName: string, limit: NonNullable<KeyModel['rateLimit']>, now: number): Promise<void> {
  const { requests, perMs } = limit;
  const hits = await live.hitRateWindow(`key:${keyName}`, perMs, now);
  if (hits <= requests) return;
  const windowLeft = perMs - (now % perMs);
  throw new HttpError(429, `rate limit of ${requests} requests per ${perMs} ms exceeded for key "${keyName}"`, {
    retryAfterSeconds: Math.max(1, Math.ceil(windowLeft / 1000)),
    code: 'rate_limit_exceeded',
  });
}

/** The key may use the model (a key without an allow-list may use any). */
export function checkModelAllowed(key: KeyModel, model: string): void {
  if (key.models && !key.models.has(model)) {
    throw new HttpError(403, `API key "${key.name}" may not use model "${model}"`, { type: 'permission_error', code: 'model_not_allowed' });
  }
}

export interface AdmitInput {
  req: IncomingMessage;
  res: ServerResponse;
  route: Route;
  protocol: Protocol;
  requestId: string;
  now: number;
  /** '?a=b' or ''. */
  query: string;
  key: KeyModel;
  maxBodyBytes: number;
  /** The model when the path names it (custom-pass); otherwise the body's `model`, with an optional `type,` prefix. */
  model?: string;
}

export async function admit(a: AdmitInput): Promise<Exchange> {
  const { protocol, route } = a;
  const rawBody = await readBody(a.req, a.maxBodyBytes);
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
  const choice = a.model !== undefined ? { model: a.model, forcedType: undefined } : parseModel(info.model);
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
  checkModelAllowed(a.key, choice.model);
  return {
    req: a.req,
    res: a.res,
    requestId: a.requestId,
    startedAt: a.now,
    route,
    protocol,
    query: a.query,
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
