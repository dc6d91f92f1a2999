/**
 * Admin edits of the layout as small functions over a draft config, and the masked view of it.
 * Each edit throws AdminError (404 / 409 / 400) for a request that cannot apply; the holder then
 * validates the result as a whole, so an edit never leaves an invalid layout behind.
 */
import { maskToken } from '../../lib/mask.js';
import type { ParsedChannelConfig, ParsedEndpointConfig, ParsedRelayConfig } from '../config/schema.js';

export class AdminError extends Error {
  constructor(
    public readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function requireObject(body: unknown): Json {
  if (!isObject(body)) throw new AdminError(400, 'expected a JSON object body');
  return body;
}

export function findChannel(draft: ParsedRelayConfig, name: string): ParsedChannelConfig {
  const c = draft.channels.find((x) => x.name === name);
  if (!c) throw new AdminError(404, `no channel named "${name}"`);
  return c;
}

export function findEndpoint(draft: ParsedRelayConfig, name: string): { channel: ParsedChannelConfig; endpoint: ParsedEndpointConfig } {
  for (const channel of draft.channels) {
    const endpoint = channel.endpoints.find((e) => e.name === name);
    if (endpoint) return { channel, endpoint };
  }
  throw new AdminError(404, `no endpoint named "${name}"`);
}

export function addChannel(draft: ParsedRelayConfig, body: unknown): void {
  const c = requireObject(body);
  if (draft.channels.some((x) => x.name === c.name)) throw new AdminError(409, `channel "${String(c.name)}" already exists`);
  draft.channels.push(c as unknown as ParsedChannelConfig);
}

/** Channel fields that PATCH may change (endpoints have their own routes). */
const CHANNEL_FIELDS = ['name', 'priority', 'paused', 'cross_channel'];
const ENDPOINT_FIELDS = [
  'name',
  'type',
  'base_url',
  'token',
  'account_id',
  'refresh_token',
  'priority',
  'weight',
  'failover_enabled',
  'fast_test_path',
  'models',
  'model_map',
];

function patch(target: Json, body: Json, allowed: string[]): void {
  const unknown = Object.keys(body).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) throw new AdminError(400, `cannot change ${unknown.join(', ')} here (allowed: ${allowed.join(', ')})`);
  for (const k of allowed) {
    if (!(k in body)) continue;
    if (body[k] === null) delete target[k];
    else target[k] = body[k];
  }
}

export function patchChannel(draft: ParsedRelayConfig, name: string, body: unknown): void {
  const b = requireObject(body);
  if (b.name !== undefined && b.name !== name && draft.channels.some((x) => x.name === b.name)) {
    throw new AdminError(409, `channel "${String(b.name)}" already exists`);
  }
  patch(findChannel(draft, name) as unknown as Json, b, CHANNEL_FIELDS);
}

export function deleteChannel(draft: ParsedRelayConfig, name: string): void {
  findChannel(draft, name);
  draft.channels = draft.channels.filter((c) => c.name !== name);
}

export function addEndpoint(draft: ParsedRelayConfig, channel: string, body: unknown): void {
  const e = requireObject(body);
  const c = findChannel(draft, channel);
  if (draft.channels.some((x) => x.endpoints.some((y) => y.name === e.name))) {
    throw new AdminError(409, `endpoint "${String(e.name)}" already exists`);
  }
  c.endpoints.push(e as unknown as ParsedEndpointConfig);
}

export function patchEndpoint(draft: ParsedRelayConfig, name: string, body: unknown): void {
  const b = requireObject(body);
  if (b.name !== undefined && b.name !== name && draft.channels.some((x) => x.endpoints.some((y) => y.name === b.name))) {
    throw new AdminError(409, `endpoint "${String(b.name)}" already exists`);
  }
  patch(findEndpoint(draft, name).endpoint as unknown as Json, b, ENDPOINT_FIELDS);
}

export function deleteEndpoint(draft: ParsedRelayConfig, name: string): void {
  const { channel } = findEndpoint(draft, name);
  channel.endpoints = channel.endpoints.filter((e) => e.name !== name);
}

export function addKey(draft: ParsedRelayConfig, body: unknown): void {
  const k = requireObject(body);
  if (draft.keys.some((x) => x.name === k.name)) throw new AdminError(409, `key "${String(k.name)}" already exists`);
  draft.keys.push(k as unknown as ParsedRelayConfig['keys'][number]);
}

export function deleteKey(draft: ParsedRelayConfig, name: string): void {
  if (!draft.keys.some((k) => k.name === name)) throw new AdminError(404, `no key named "${name}"`);
  draft.keys = draft.keys.filter((k) => k.name !== name);
}

export function setPaused(draft: ParsedRelayConfig, name: string, paused: boolean): void {
  findChannel(draft, name).paused = paused;
}

/** The layout with every secret masked, for GET /admin/config. */
export function maskedConfig(cfg: ParsedRelayConfig): unknown {
  return {
    ...cfg,
    channels: cfg.channels.map((c) => ({
      ...c,
      endpoints: c.endpoints.map((e) => ({
        ...e,
        token: maskToken(e.token),
        ...(e.refresh_token ? { refresh_token: maskToken(e.refresh_token) } : {}),
      })),
    })),
    keys: cfg.keys.map((k) => ({ ...k, key: maskToken(k.key) })),
  };
}

/**
 * PUT /admin/config after a GET: a secret sent back in its masked form means "unchanged", so a
 * client can edit the masked answer and send it back without knowing the tokens.
 */
export function unmaskSecrets(incoming: unknown, current: ParsedRelayConfig): unknown {
  if (!isObject(incoming)) return incoming;
  const endpoints = new Map<string, ParsedEndpointConfig>();
  for (const c of current.channels) for (const e of c.endpoints) endpoints.set(e.name, e);
  const keys = new Map(current.keys.map((k) => [k.name, k]));
  const out: Json = { ...incoming };
  if (Array.isArray(incoming.channels)) {
    out.channels = incoming.channels.map((c) => {
      if (!isObject(c) || !Array.isArray(c.endpoints)) return c;
      return {
        ...c,
        endpoints: c.endpoints.map((e) => {
          if (!isObject(e) || typeof e.name !== 'string') return e;
          const old = endpoints.get(e.name);
          if (!old) return e;
          const copy: Json = { ...e };
          if (e.token === maskToken(old.token)) copy.token = old.token;
          if (old.refresh_token && e.refresh_token === maskToken(old.refresh_token)) copy.refresh_token = old.refresh_token;
          return copy;
        }),
      };
    });
  }
  if (Array.isArray(incoming.keys)) {
    out.keys = incoming.keys.map((k) => {
      if (!isObject(k) || typeof k.name !== 'string') return k;
      const old = keys.get(k.name);
      return old && k.key === maskToken(old.key) ? { ...k, key: old.key } : k;
    });
  }
  return out;
}
