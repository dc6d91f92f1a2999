/**
 * What Chat Completions and Responses share: the error body `{error:{message,type,param,code}}`
 * with its status table, and the x-request-id header.
 */
import type { ErrorOptions, ErrorReply, UpstreamError } from './types.js';
import { isObject, jsonReply, str } from './util.js';

export interface OpenAiErrorShape {
  type: string;
  code: string | null;
}

/** Status -> error.type and default error.code, as api.openai.com answers. */
export function openAiErrorShape(status: number, code?: string | null): OpenAiErrorShape {
  switch (status) {
    case 400:
      return { type: 'invalid_request_error', code: code ?? null };
    case 401:
      return { type: 'invalid_request_error', code: code ?? 'invalid_api_key' };
    case 403:
      return { type: 'request_forbidden', code: code ?? 'unsupported_country_region_territory' };
    case 404:
      return { type: 'invalid_request_error', code: code ?? 'model_not_found' };
    case 429:
      return code === 'insufficient_quota'
        ? { type: 'insufficient_quota', code }
        : { type: 'requests', code: code ?? 'rate_limit_exceeded' };
    default:
      return status >= 500 ? { type: 'server_error', code: code ?? null } : { type: 'invalid_request_error', code: code ?? null };
  }
}

export function openAiErrorReply(status: number, message: string, opts: ErrorOptions = {}): ErrorReply {
  const shape = openAiErrorShape(status, opts.code);
  const body = { error: { message, type: opts.type ?? shape.type, param: opts.param ?? null, code: shape.code } };
  const headers: Record<string, string> = {};
  if (opts.requestId !== undefined) headers['x-request-id'] = opts.requestId;
  const retryAfter = opts.retryAfterSeconds ?? (status === 429 ? 1 : undefined);
  if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
  return jsonReply(status, body, headers);
}

export function openAiErrorObject(message: string, type: string, code: string | null = null, param: string | null = null) {
  return { message, type, param, code };
}

/** `{error:{message,type,code}}`; also the Codex backend's `{detail}` form. */
export function openAiErrorFromBody(body: unknown): UpstreamError | undefined {
  if (!isObject(body)) return undefined;
  if (isObject(body.error)) {
    const e = body.error;
    const code = str(e.code) ?? null;
    return { type: str(e.type) ?? code ?? 'error', code, message: str(e.message) ?? '' };
  }
  if (typeof body.detail === 'string') return { type: 'error', code: null, message: body.detail };
  return undefined;
}
