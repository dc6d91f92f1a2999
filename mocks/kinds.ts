/**
 * What each upstream kind serves: its routes (method, path, protocol, handler, auth) and the few
 * kind-specific answers that are not a wire protocol of their own (model lists, the Codex
 * account check). Request/response/error shapes come from protocols/.
 */
import type { ProtocolId, UpstreamKind } from '../protocols/types.js';

export type Handler =
  | 'generate'
  | 'count_tokens'
  | 'models'
  | 'account_check'
  | 'oauth_token'
  /** custom-pass: sync, submit, query or fetch, told apart by protocols' customPassRoute. */
  | 'pass';

/** key: x-api-key or Bearer from the token list; jwt: ChatGPT access token + account header; none. */
export type AuthMode = 'key' | 'jwt' | 'none';

export interface Route {
  method: 'GET' | 'POST';
  /** Exact path, or a prefix when it ends with `/` and `prefix` is set. */
  path: string;
  prefix?: boolean;
  protocol: ProtocolId;
  handler: Handler;
  auth: AuthMode;
  /** POST routes whose body must be JSON. */
  json?: boolean;
}

export interface KindInfo {
  /** Protocol whose error shape answers anything that is not a protocol route (404, 401 on /v1/models). */
  protocol: ProtocolId;
  /** Header carrying the request id on every answer. */
  requestIdHeader: string;
  /** Models listed by GET /v1/models when the upstream config names none. */
  defaultModels: string[];
  routes: Route[];
}

const openaiRoutes = (auth: AuthMode): Route[] => [
  { method: 'POST', path: '/v1/chat/completions', protocol: 'openai-chat', handler: 'generate', auth, json: true },
  { method: 'POST', path: '/v1/responses', protocol: 'openai-responses', handler: 'generate', auth, json: true },
  { method: 'GET', path: '/v1/models', protocol: 'openai-chat', handler: 'models', auth },
];

const OPENAI_MODELS = ['gpt-5', 'gpt-5-mini', 'gpt-4.1', 'gpt-4o-mini'];

export const KINDS: Record<UpstreamKind, KindInfo> = {
  claude: {
    protocol: 'anthropic',
    requestIdHeader: 'request-id',
    defaultModels: ['claude-sonnet-4-5', 'claude-opus-4-1', 'claude-haiku-4-5'],
    routes: [
      { method: 'POST', path: '/v1/messages', protocol: 'anthropic', handler: 'generate', auth: 'key', json: true },
      { method: 'POST', path: '/v1/messages/count_tokens', protocol: 'anthropic', handler: 'count_tokens', auth: 'key', json: true },
      { method: 'GET', path: '/v1/models', protocol: 'anthropic', handler: 'models', auth: 'key' },
    ],
  },
  openai: { protocol: 'openai-chat', requestIdHeader: 'x-request-id', defaultModels: OPENAI_MODELS, routes: openaiRoutes('key') },
  'openai-responses': {
    protocol: 'openai-responses',
    requestIdHeader: 'x-request-id',
    defaultModels: OPENAI_MODELS,
    routes: openaiRoutes('key'),
  },
  'chatgpt-oauth': {
    protocol: 'openai-responses',
    requestIdHeader: 'x-request-id',
    defaultModels: ['gpt-5-codex', 'gpt-5'],
    routes: [
      { method: 'POST', path: '/backend-api/codex/responses', protocol: 'openai-responses', handler: 'generate', auth: 'jwt', json: true },
      { method: 'GET', path: '/backend-api/accounts/check/v4-2023-04-27', protocol: 'openai-responses', handler: 'account_check', auth: 'jwt' },
      { method: 'POST', path: '/oauth/token', protocol: 'openai-responses', handler: 'oauth_token', auth: 'none' },
      { method: 'GET', path: '/backend-api/codex/models', protocol: 'openai-responses', handler: 'models', auth: 'jwt' },
    ],
  },
  'custom-pass': {
    protocol: 'custom-pass',
    requestIdHeader: 'x-request-id',
    defaultModels: ['pass-model'],
    routes: [
      { method: 'GET', path: '/v1/models', protocol: 'custom-pass', handler: 'models', auth: 'key' },
      // {base}/{model}[/submit | /task/list-by-condition] and GET {base}/{model}/task/{id}/fetch
      { method: 'POST', path: '/', prefix: true, protocol: 'custom-pass', handler: 'pass', auth: 'key', json: true },
      { method: 'GET', path: '/', prefix: true, protocol: 'custom-pass', handler: 'pass', auth: 'key' },
    ],
  },
};

/** The route for a request, or undefined (then `pathKnown` says whether only the method is wrong). */
export function findRoute(kind: UpstreamKind, method: string, path: string): { route?: Route; pathKnown: boolean } {
  let pathKnown = false;
  for (const r of KINDS[kind].routes) {
    const hit = r.prefix ? path.startsWith(r.path) && path.length > r.path.length : path === r.path;
    if (!hit) continue;
    if (r.method === method) {
      return { route: r, pathKnown: true };
    }
    pathKnown = true;
  }
  return { pathKnown };
}

/** GET /v1/models in the kind's own list shape. */
export function modelsBody(kind: UpstreamKind, models: string[], createdSec: number): unknown {
  if (kind === 'claude') {
    const data = models.map((id) => ({
      type: 'model',
      id,
      display_name: id,
      created_at: new Date(createdSec * 1000).toISOString(),
    }));
    return { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null };
  }
  if (kind === 'chatgpt-oauth') {
    return { models: models.map((slug) => ({ slug, display_name: slug, visibility: 'list', supported_in_api: true })) };
  }
  return { object: 'list', data: models.map((id) => ({ id, object: 'model', created: createdSec, owned_by: 'relaylab-mock' })) };
}

/** The Codex backend's token check answer for an account. */
export function accountCheckBody(accountId: string): unknown {
  return {
    accounts: {
      [accountId]: {
        account: { account_id: accountId, account_user_role: 'account-owner', plan_type: 'pro', structure: 'personal', is_deactivated: false },
        features: [],
        entitlement: { subscription_plan: 'chatgptpro', has_active_subscription: true },
      },
    },
    account_ordering: [accountId],
  };
}
