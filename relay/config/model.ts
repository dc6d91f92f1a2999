/**
 * The in-memory configuration model the hot path reads: built once per change (never per
 * request), with lookups precomputed. Every change produces a new model with version + 1, so a
 * request simply reads `holder.current` and sees the latest layout from then on.
 */
import { createHash } from 'node:crypto';
import type { ProtocolId } from '../../protocols/types.js';
import { forwardedHeaderNames } from '../proxy/headers.js';
import { translationFor, type Translation } from '../translate/index.js';
import type { BreakerSettings } from '../state/types.js';
import type { EndpointType, ParsedRelayConfig } from './schema.js';

export interface EndpointModel {
  name: string;
  channel: string;
  type: EndpointType;
  baseUrl: string;
  /** scheme://host:port, the key of the connection pool. */
  origin: string;
  /** Path of base_url without a trailing slash ('' for a bare origin). */
  pathPrefix: string;
  token: string;
  /** Fingerprint of the token: token-scope cooldowns follow the credential, not the name. */
  tokenId: string;
  accountId?: string;
  refreshToken?: string;
  priority: number;
  weight: number;
  failoverEnabled: boolean;
  fastTestPath?: string;
  /** undefined = every model. */
  models: ReadonlySet<string> | undefined;
  modelMap: ReadonlyMap<string, string>;
  /** Context window: for every model, or per upstream model name (undefined = not declared). */
  contextWindow: number | ReadonlyMap<string, number> | undefined;
  /** `prefill`: for every model, or per upstream model name (undefined = the type's default, `prefillOf`). */
  prefill: boolean | ReadonlyMap<string, boolean> | undefined;
  /**
   * `translate_from`: the translation for each client protocol it serves by translation
   * (relay/translate); undefined when it serves only its own protocol (the common case, read
   * once per attempt).
   */
  translations: ReadonlyMap<ProtocolId, Translation> | undefined;
  /** The channel's `continuation` (copied here: the attempt that breaks reads it from its endpoint). */
  continuation: 'off' | 'prefill';
  /** Client header names passed upstream: the type's allowlist plus `forward_headers`. */
  forwardHeaders: ReadonlySet<string>;
  /** `set_headers`, names lower-case. */
  setHeaders: Readonly<Record<string, string>>;
  /** Position in the file, the last tie-breaker of every ordering. */
  order: number;
}

export interface ChannelModel {
  name: string;
  priority: number;
  paused: boolean;
  crossChannel: boolean;
  endpoints: EndpointModel[];
  order: number;
}

export interface KeyModel {
  key: string;
  name: string;
  models: ReadonlySet<string> | undefined;
  rateLimit?: { requests: number; perMs: number };
  continuation?: 'off' | 'prefill';
}

export interface RelayModel {
  version: number;
  /** The validated layout this model was built from (admin edits start from it). */
  source: ParsedRelayConfig;
  strategy: 'priority' | 'fastest';
  crossChannelFailover: boolean;
  retry: ParsedRelayConfig['retry'];
  breaker: BreakerSettings;
  cooldowns: ParsedRelayConfig['cooldowns'];
  sticky: {
    enabled: boolean;
    ttlMs: number;
    renewBelowMs: number;
    /** Protocols whose content-derived session keys are used (custom-pass never has one). */
    derivedKeys: Readonly<Record<string, boolean>>;
    returnAfterFailover: boolean;
  };
  health: ParsedRelayConfig['health'];
  channels: ChannelModel[];
  endpoints: ReadonlyMap<string, EndpointModel>;
  keysByKey: ReadonlyMap<string, KeyModel>;
  /** Some channel has endpoints of equal priority: the planner needs a rotation counter. */
  needsRotation: boolean;
  /** Some endpoint serves another protocol's clients by translation: the planner considers them (else it never looks). */
  translates: boolean;
}

export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 16);
}

export function compileConfig(cfg: ParsedRelayConfig, version: number): RelayModel {
  const endpoints = new Map<string, EndpointModel>();
  let order = 0;
  let needsRotation = false;
  let translates = false;
  const channels: ChannelModel[] = cfg.channels.map((c, ci) => {
    const eps = c.endpoints.map((e): EndpointModel => {
      const url = new URL(e.base_url);
      const model: EndpointModel = {
        name: e.name,
        channel: c.name,
        type: e.type,
        baseUrl: e.base_url,
        origin: url.origin,
        pathPrefix: url.pathname.replace(/\/+$/, ''),
        token: e.token,
        tokenId: tokenFingerprint(e.token),
        accountId: e.account_id,
        refreshToken: e.refresh_token,
        priority: e.priority,
        weight: e.weight,
        failoverEnabled: e.failover_enabled,
        fastTestPath: e.fast_test_path,
        models: e.models.length > 0 ? new Set(e.models) : undefined,
        modelMap: new Map(Object.entries(e.model_map)),
        contextWindow: typeof e.context_window === 'object' ? new Map(Object.entries(e.context_window)) : e.context_window,
        prefill: typeof e.prefill === 'object' ? new Map(Object.entries(e.prefill)) : e.prefill,
        translations: translationsOf(e.type, e.translate_from),
        continuation: c.continuation,
        forwardHeaders: forwardedHeaderNames(e.type, e.forward_headers),
        setHeaders: Object.fromEntries(Object.entries(e.set_headers).map(([k, v]) => [k.toLowerCase(), v])),
        order: order++,
      };
      endpoints.set(e.name, model);
      if (model.translations) translates = true;
      return model;
    });
    const priorities = eps.map((e) => e.priority);
    if (new Set(priorities).size < priorities.length) needsRotation = true;
    return { name: c.name, priority: c.priority, paused: c.paused, crossChannel: c.cross_channel, endpoints: eps, order: ci };
  });
  const keysByKey = new Map<string, KeyModel>();
  for (const k of cfg.keys) {
    keysByKey.set(k.key, {
      key: k.key,
      name: k.name,
      models: k.models.length > 0 ? new Set(k.models) : undefined,
      rateLimit: k.rate_limit ? { requests: k.rate_limit.requests, perMs: k.rate_limit.per } : undefined,
      continuation: k.continuation,
    });
  }
  return {
    version,
    source: cfg,
    strategy: cfg.strategy,
    crossChannelFailover: cfg.cross_channel_failover,
    retry: cfg.retry,
    breaker: { failureThreshold: cfg.breaker.failures, successThreshold: cfg.breaker.successes, openMs: cfg.breaker.open_for },
    cooldowns: cfg.cooldowns,
    sticky: {
      enabled: cfg.sticky.enabled,
      ttlMs: cfg.sticky.ttl,
      renewBelowMs: cfg.sticky.renew_below,
      derivedKeys: cfg.sticky.derived_keys,
      returnAfterFailover: cfg.sticky.return_after_failover,
    },
    health: cfg.health,
    channels,
    endpoints,
    keysByKey,
    needsRotation,
    translates,
  };
}

function translationsOf(type: EndpointType, from: readonly ProtocolId[]): ReadonlyMap<ProtocolId, Translation> | undefined {
  const out = new Map<ProtocolId, Translation>();
  for (const p of from) {
    const t = translationFor(p, type);
    if (t) out.set(p, t);
  }
  return out.size > 0 ? out : undefined;
}

/** The translation an attempt at `ep` needs for a `protocol` client, or undefined when the endpoint speaks it. */
export function translationOf(ep: EndpointModel, protocol: ProtocolId): Translation | undefined {
  return ep.translations?.get(protocol);
}

/** The context window an endpoint declares for a client's model, or undefined when it declares none. */
export function contextWindowOf(ep: EndpointModel, model: string | undefined): number | undefined {
  const w = ep.contextWindow;
  if (w === undefined || typeof w === 'number') return w;
  if (model === undefined) return undefined;
  return w.get(upstreamModel(ep, model)) ?? w.get(model);
}

/**
 * Whether an endpoint takes an assistant prefill for a client's model: what it declares (for the
 * model, else for every model), else its type's default (claude yes; openai chat no, the OpenAI
 * API has none; the other types have no continuation at all).
 */
export function prefillOf(ep: EndpointModel, model: string | undefined): boolean {
  if (ep.type !== 'claude' && ep.type !== 'openai') return false;
  const p = ep.prefill;
  if (typeof p === 'boolean') return p;
  const declared = p && model !== undefined ? (p.get(upstreamModel(ep, model)) ?? p.get(model)) : undefined;
  return declared ?? ep.type === 'claude';
}

/** The model name an endpoint is asked for (model_map applied). */
export function upstreamModel(ep: EndpointModel, model: string): string {
  return ep.modelMap.get(model) ?? model;
}

/** Whether an endpoint serves a client model name (allow-list or a mapping names it). */
export function endpointServesModel(ep: EndpointModel, model: string | undefined): boolean {
  if (!ep.models || model === undefined) return true;
  return ep.models.has(model) || ep.modelMap.has(model);
}
