/**
 * From a scenario's relay section (the reference relay's config, resolved: base URLs and tokens
 * filled in) to the layout every adapter receives (adapters/layout.ts), and each relay change to
 * the same layout after it. Pure functions; the runner keeps the current reference layout.
 */
import { relayConfigSchema, type ParsedRelayConfig } from '../../relay/config/schema.js';
import type { UpstreamKind } from '../../protocols/index.js';
import { LAYOUT_VERSION, layoutSchema, type Layout, type LayoutChange, type LayoutEndpoint } from '../adapters/layout.js';
import type { ScenarioLayout } from './schema.js';

export interface RunningUpstream {
  name: string;
  kind: string;
  url: string;
  tokens: string[];
}

/** A relay change with every value resolved (tokens issued, URLs filled), in the reference relay's terms. */
export type ResolvedChange =
  | { kind: 'token'; endpoint: string; value: string }
  | { kind: 'pause' | 'resume'; channel: string }
  | { kind: 'update_endpoint'; endpoint: string; patch: Record<string, unknown> }
  | { kind: 'remove_endpoint'; endpoint: string }
  | { kind: 'update_channel'; channel: string; patch: Record<string, unknown> }
  | { kind: 'layout'; layout: ScenarioLayout }
  | { kind: 'restart' };

const MAIN_PATH: Partial<Record<UpstreamKind, string>> = {
  claude: '/v1/messages',
  openai: '/v1/chat/completions',
  'openai-responses': '/v1/responses',
  'chatgpt-oauth': '/backend-api/codex/responses',
};

function parseReference(reference: ScenarioLayout): ParsedRelayConfig {
  const parsed = relayConfigSchema.safeParse(reference);
  if (!parsed.success) throw new Error(`the relay layout is not a valid reference relay config: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** The upstream an endpoint's base URL belongs to (its origin, or origin + the endpoint's own route). */
function upstreamOf(baseUrl: string, upstreams: RunningUpstream[]): string {
  const trimmed = baseUrl.replace(/\/+$/, '');
  const u = upstreams.filter((x) => trimmed === x.url || trimmed.startsWith(`${x.url}/`)).sort((a, b) => b.url.length - a.url.length)[0];
  return u?.name ?? '';
}

function byPriority<T extends { priority: number }>(items: T[]): T[] {
  return items.map((item, i) => ({ item, i })).sort((a, b) => a.item.priority - b.item.priority || a.i - b.i).map((x) => x.item);
}

/** The order a priority relay tries endpoints when each fails (adapters/layout.ts `fallback_chain`). */
export function fallbackChain(cfg: ParsedRelayConfig): string[] {
  const channels = byPriority(cfg.channels.filter((c) => !c.paused && c.endpoints.length > 0));
  if (channels.length === 0) return [];
  const [primary, ...others] = channels;
  const inChain = cfg.cross_channel_failover ? [primary, ...others.filter((c) => c.cross_channel)] : [primary];
  const endpoints = inChain.flatMap((c) => byPriority(c.endpoints));
  const [first, ...rest] = endpoints;
  return first.failover_enabled ? [first.name, ...rest.filter((e) => e.failover_enabled).map((e) => e.name)] : [first.name];
}

export function portableLayout(scenario: string, reference: ScenarioLayout, upstreams: RunningUpstream[]): Layout {
  const cfg = parseReference(reference);
  const endpoint = (e: ParsedRelayConfig['channels'][number]['endpoints'][number]): LayoutEndpoint => {
    const base = e.base_url.replace(/\/+$/, '');
    // A Codex backend given with its path (…/backend-api/codex) takes /responses directly.
    const main = e.type === 'chatgpt-oauth' && base.endsWith('/backend-api/codex') ? '/responses' : MAIN_PATH[e.type];
    return {
      name: e.name,
      kind: e.type,
      upstream: upstreamOf(base, upstreams),
      base_url: base,
      ...(main ? { url: `${base}${main}` } : {}),
      token: e.token,
      ...(e.account_id ? { account_id: e.account_id } : {}),
      ...(e.refresh_token ? { refresh_token: e.refresh_token } : {}),
      priority: e.priority,
      weight: e.weight,
      failover: e.failover_enabled,
      models: e.models,
      model_map: e.model_map,
      ...(e.prefill !== undefined ? { prefill: e.prefill } : {}),
    };
  };
  // Validated, so an adapter never receives what the documented schema does not allow.
  return layoutSchema.parse({
    version: LAYOUT_VERSION,
    scenario,
    strategy: cfg.strategy,
    cross_channel_failover: cfg.cross_channel_failover,
    channels: cfg.channels.map((c) => ({
      name: c.name,
      priority: c.priority,
      paused: c.paused,
      cross_channel: c.cross_channel,
      ...(c.continuation !== 'off' ? { continuation: c.continuation } : {}),
      endpoints: c.endpoints.map(endpoint),
    })),
    fallback_chain: fallbackChain(cfg),
    keys: cfg.keys.map((k) => ({ name: k.name, key: k.key })),
    upstreams: upstreams.map((u) => ({ name: u.name, kind: u.kind as UpstreamKind, base_url: u.url, tokens: u.tokens })),
    policy: {
      retry: { max_attempts: cfg.retry.max_attempts, deadline_ms: cfg.retry.deadline, upstream_timeout_ms: cfg.retry.upstream_timeout, first_byte_timeout_ms: cfg.retry.first_byte_timeout },
      cooldowns: {
        rate_limited_ms: cfg.cooldowns.rate_limited,
        retry_after_cap_ms: cfg.cooldowns.retry_after_cap,
        overloaded_ms: cfg.cooldowns.overloaded,
        server_error_ms: cfg.cooldowns.server_error,
        network_ms: cfg.cooldowns.network,
        timeout_ms: cfg.cooldowns.timeout,
        channel_all_failed_ms: cfg.cooldowns.channel_all_failed,
        auth_failures_to_disable: cfg.cooldowns.auth_failures_to_disable,
        auth_disable_for_ms: cfg.cooldowns.auth_disable_for,
      },
      breaker: { failures: cfg.breaker.failures, successes: cfg.breaker.successes, open_for_ms: cfg.breaker.open_for },
      sticky: { enabled: cfg.sticky.enabled, ttl_ms: cfg.sticky.ttl },
      health: { enabled: cfg.health.enabled, interval_ms: cfg.health.interval, failure_threshold: cfg.health.failure_threshold, timeout_ms: cfg.health.timeout },
    },
    reference: reference as Record<string, unknown>,
  });
}

/** The reference layout after a change (what the relay's admin API does with it). */
export function applyToReference(layout: ScenarioLayout, change: ResolvedChange): ScenarioLayout {
  const channels = layout.channels ?? [];
  const mapEndpoints = (f: (e: NonNullable<(typeof channels)[number]['endpoints']>[number]) => typeof e | undefined) =>
    channels.map((c) => ({ ...c, endpoints: (c.endpoints ?? []).map(f).filter((e): e is NonNullable<typeof e> => e !== undefined) }));
  switch (change.kind) {
    case 'token':
      return { ...layout, channels: mapEndpoints((e) => (e.name === change.endpoint ? { ...e, token: change.value } : e)) };
    case 'pause':
    case 'resume':
      return { ...layout, channels: channels.map((c) => (c.name === change.channel ? { ...c, paused: change.kind === 'pause' } : c)) };
    case 'update_endpoint':
      return { ...layout, channels: mapEndpoints((e) => (e.name === change.endpoint ? { ...e, ...change.patch } : e)) };
    case 'remove_endpoint':
      return { ...layout, channels: mapEndpoints((e) => (e.name === change.endpoint ? undefined : e)) };
    case 'update_channel':
      return { ...layout, channels: channels.map((c) => (c.name === change.channel ? { ...c, ...change.patch } : c)) };
    case 'layout':
      return change.layout;
    case 'restart':
      return layout;
  }
}

function changedFields<T extends Record<string, unknown>>(before: T | undefined, after: T | undefined, skip: string[]): Partial<T> {
  const out: Partial<T> = {};
  if (!after) return out;
  for (const [k, v] of Object.entries(after)) if (!skip.includes(k) && JSON.stringify(before?.[k]) !== JSON.stringify(v)) (out as Record<string, unknown>)[k] = v;
  return out;
}

export function describeChange(c: ResolvedChange): string {
  switch (c.kind) {
    case 'token':
      return `set the token of endpoint ${c.endpoint} to ${c.value}`;
    case 'pause':
    case 'resume':
      return `${c.kind} channel ${c.channel}`;
    case 'update_endpoint':
      return `change endpoint ${c.endpoint}: ${JSON.stringify(c.patch)}`;
    case 'remove_endpoint':
      return `remove endpoint ${c.endpoint}`;
    case 'update_channel':
      return `change channel ${c.channel}: ${JSON.stringify(c.patch)}`;
    case 'layout':
      return 'replace the whole layout';
    case 'restart':
      return 'restart the relay (same records)';
  }
}

/** The change as adapters receive it: portable fields plus the whole layout after it. */
export function portableChange(change: ResolvedChange, before: Layout, after: Layout): LayoutChange {
  const common = { layout: after, description: describeChange(change) };
  const endpointIn = (l: Layout, name: string) => l.channels.flatMap((c) => c.endpoints).find((e) => e.name === name);
  switch (change.kind) {
    case 'token':
      return { kind: 'token', endpoint: change.endpoint, token: change.value, ...common };
    case 'pause':
    case 'resume':
      return { kind: change.kind, channel: change.channel, ...common };
    case 'update_endpoint':
      return {
        kind: 'update_endpoint',
        endpoint: change.endpoint,
        patch: changedFields(endpointIn(before, change.endpoint), endpointIn(after, change.endpoint), ['name']),
        reference_patch: change.patch,
        ...common,
      };
    case 'remove_endpoint':
      return { kind: 'remove_endpoint', endpoint: change.endpoint, ...common };
    case 'update_channel': {
      const ch = (l: Layout) => l.channels.find((c) => c.name === change.channel);
      return { kind: 'update_channel', channel: change.channel, patch: changedFields(ch(before), ch(after), ['name', 'endpoints']), reference_patch: change.patch, ...common };
    }
    case 'layout':
      return { kind: 'layout', ...common };
    case 'restart':
      return { kind: 'restart', ...common };
  }
}
