/**
 * Which protocol a client request speaks, decided by method and path only (never by Accept),
 * and the `type,model` prefix that forces an endpoint type.
 */
import type { ProtocolId } from '../../protocols/types.js';
import { ENDPOINT_TYPES, type EndpointType } from '../config/schema.js';

export type RouteKind = 'generate' | 'count_tokens' | 'models' | 'probe' | 'pass';

export interface Route {
  kind: RouteKind;
  protocol: ProtocolId;
  /** Endpoint types that can serve the route. */
  types: ReadonlySet<EndpointType>;
  /** The route's path below the endpoint's base URL, per endpoint type. */
  upstreamPath: (type: EndpointType) => string;
}

const CLAUDE = new Set<EndpointType>(['claude']);
const CHAT = new Set<EndpointType>(['openai']);
const RESPONSES = new Set<EndpointType>(['openai', 'openai-responses', 'chatgpt-oauth']);

/** Codex's ChatGPT backend serves Responses at <base>/responses (base usually .../backend-api/codex). */
const responsesPath = (type: EndpointType) => (type === 'chatgpt-oauth' ? '/responses' : '/v1/responses');

const MESSAGES: Route = { kind: 'generate', protocol: 'anthropic', types: CLAUDE, upstreamPath: () => '/v1/messages' };
const COUNT: Route = { kind: 'count_tokens', protocol: 'anthropic', types: CLAUDE, upstreamPath: () => '/v1/messages/count_tokens' };
const CHAT_COMPLETIONS: Route = { kind: 'generate', protocol: 'openai-chat', types: CHAT, upstreamPath: () => '/v1/chat/completions' };
const RESPONSES_ROUTE: Route = { kind: 'generate', protocol: 'openai-responses', types: RESPONSES, upstreamPath: responsesPath };
const MODELS: Route = { kind: 'models', protocol: 'openai-chat', types: new Set(ENDPOINT_TYPES), upstreamPath: () => '/v1/models' };
/** custom-pass (`/pass/*`): the path names the model and the action (relay/pass). */
const PASS: Route = { kind: 'pass', protocol: 'custom-pass', types: new Set(['custom-pass']), upstreamPath: () => '' };
const PROBE: Route = { kind: 'probe', protocol: 'openai-chat', types: new Set(), upstreamPath: () => '/' };

/** The route for a method and path (query string already removed), or undefined. */
export function classify(method: string, path: string): Route | undefined {
  if (path.startsWith('/pass/')) return PASS;
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  if (method === 'POST') {
    switch (path) {
      case '/v1/messages':
        return MESSAGES;
      case '/v1/messages/count_tokens':
        return COUNT;
      case '/v1/chat/completions':
        return CHAT_COMPLETIONS;
      case '/v1/responses':
      case '/responses':
        return RESPONSES_ROUTE;
    }
    return undefined;
  }
  if ((method === 'GET' || method === 'HEAD') && (path === '/' || path === '')) return PROBE;
  if (method === 'GET' && path === '/v1/models') return MODELS;
  return undefined;
}

/** The protocol whose error shape fits a path the relay does not serve (for the 404). */
export function protocolForPath(path: string): ProtocolId {
  if (path.startsWith('/pass/')) return 'custom-pass';
  return path.startsWith('/v1/messages') ? 'anthropic' : path.includes('responses') ? 'openai-responses' : 'openai-chat';
}

export interface ModelChoice {
  /** The model name without the prefix. */
  model: string | undefined;
  /** Endpoint type forced by a `type,model` prefix. */
  forcedType?: EndpointType;
}

const TYPES = new Set<string>(ENDPOINT_TYPES);

export function parseModel(model: string | undefined): ModelChoice {
  if (model === undefined) return { model };
  const comma = model.indexOf(',');
  if (comma <= 0) return { model };
  const prefix = model.slice(0, comma).trim();
  if (!TYPES.has(prefix)) return { model };
  return { model: model.slice(comma + 1).trim(), forcedType: prefix as EndpointType };
}
