/**
 * Headers across the relay. Upstream: an allowlist per endpoint type (what that API understands
 * from a client), plus the endpoint's own `forward_headers` (more names to pass) and
 * `set_headers` (fixed values, e.g. `openai-organization`), then the endpoint's credential and
 * the relay's request id. Nothing else a client sends reaches an upstream: not its organization
 * or project (those are the endpoint's business and would fail its token), not its cookies, not
 * another proxy's headers. Downstream: the upstream's headers minus hop-by-hop and framing.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { EndpointType } from '../config/schema.js';

/** Every API: the body's type, what the client accepts (JSON or an event stream), and who it is. */
const COMMON = ['content-type', 'accept', 'user-agent'];

/**
 * What each endpoint type's API reads from a client's request:
 * - Anthropic Messages: `anthropic-version`, `anthropic-beta` (feature and OAuth betas Claude Code
 *   sends), and Claude Code's `x-app` and `x-claude-code-session-id` (the relay's sticky key too);
 * - OpenAI Chat / Responses: `openai-beta`, and the session headers the relay's sticky routing
 *   reads (`session_id`, `session-id`, `x-session-id`);
 * - Codex's ChatGPT backend: the same plus Codex's `originator`, `version` and `conversation_id`;
 * - custom-pass builds its own request (relay/pass).
 */
export const CLIENT_HEADERS_BY_TYPE: Readonly<Record<EndpointType, readonly string[]>> = {
  claude: [...COMMON, 'anthropic-version', 'anthropic-beta', 'x-app', 'x-claude-code-session-id'],
  openai: [...COMMON, 'openai-beta', 'session_id', 'session-id', 'x-session-id'],
  'openai-responses': [...COMMON, 'openai-beta', 'session_id', 'session-id', 'x-session-id'],
  'chatgpt-oauth': [...COMMON, 'openai-beta', 'session_id', 'session-id', 'x-session-id', 'originator', 'version', 'conversation_id'],
  'custom-pass': COMMON,
};

/** Hop-by-hop and framing: each side of the relay has its own connection and frames its own body. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'content-length'];

/**
 * Set by the relay itself, never by a client or an endpoint's `set_headers`: credentials (the
 * endpoint's `token` and `account_id` say them), the relay's request id, hop-by-hop and framing.
 */
export const RELAY_OWNED: ReadonlySet<string> = new Set([
  'authorization',
  'x-api-key',
  'api-key',
  'proxy-authorization',
  'cookie',
  'chatgpt-account-id',
  'x-request-id',
  'host',
  ...HOP_BY_HOP,
  'expect',
]);

/**
 * Never taken from a client, whatever an endpoint's `forward_headers` say: what the relay owns,
 * the credential-bound organization and project (an endpoint sets them with `set_headers`), and
 * accept-encoding (the relay reads usage from the bytes, so it asks for them uncompressed).
 */
export const NEVER_FORWARDED: ReadonlySet<string> = new Set([...RELAY_OWNED, 'openai-organization', 'openai-project', 'accept-encoding']);

/** The client header names an endpoint passes on: its type's list and its own `forward_headers`. */
export function forwardedHeaderNames(type: EndpointType, extra: readonly string[] = []): ReadonlySet<string> {
  const names = new Set(CLIENT_HEADERS_BY_TYPE[type]);
  for (const n of extra) {
    const name = n.toLowerCase();
    if (!NEVER_FORWARDED.has(name)) names.add(name);
  }
  return names;
}

/** Never passed back to the client: hop-by-hop and framing (the relay frames its own answer). */
const DROP_DOWNSTREAM = new Set([
  ...HOP_BY_HOP,
  'content-encoding',
  'date',
  'set-cookie',
  'x-request-id',
]);

/** What an endpoint contributes to the headers of a request to it. */
export interface EndpointHeaders {
  /** Client header names it passes on (`forwardedHeaderNames`). */
  forward: ReadonlySet<string>;
  /** Fixed values (`set_headers`), over anything the client sent. */
  set: Readonly<Record<string, string>>;
  /** Its credential headers. */
  auth: Readonly<Record<string, string>>;
}

export function upstreamHeaders(
  client: IncomingHttpHeaders,
  ep: EndpointHeaders,
  requestId: string,
  contentLength: number,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name of ep.forward) {
    const v = client[name];
    if (v !== undefined) out[name] = v;
  }
  for (const name in ep.set) out[name] = ep.set[name];
  for (const name in ep.auth) out[name] = ep.auth[name];
  out['x-request-id'] = requestId;
  out['content-length'] = String(contentLength);
  if (!out['content-type']) out['content-type'] = 'application/json';
  return out;
}

export function downstreamHeaders(
  upstream: Record<string, string | string[] | undefined>,
  requestId: string,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in upstream) {
    if (DROP_DOWNSTREAM.has(name)) continue;
    const v = upstream[name];
    if (v !== undefined) out[name] = v;
  }
  out['x-request-id'] = requestId;
  return out;
}
