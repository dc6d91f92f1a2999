/**
 * A relaylab layout as Portkey gateway configs: one `x-portkey-config` header value per client
 * protocol. Portkey keeps no routing state of its own; the client sends the routing with every
 * request, so "configuring the relay" is choosing that header.
 *
 * - The fallback order for the protocol's endpoints (`fallbackChainFor`: unpaused channels by
 *   priority, endpoints by priority, failover participation applied, all among the endpoints that
 *   serve the protocol, as the reference relay picks a request's primary channel and first
 *   candidate) becomes a `fallback` strategy over targets in that order, one target per endpoint: its `api_key` is the endpoint's token and its `custom_host` the endpoint's base
 *   URL + `/v1` (Portkey appends `/messages`, `/chat/completions`, `/responses`).
 * - A protocol is served by the endpoints the reference relay would use for it (Anthropic ->
 *   claude, Chat Completions -> openai, Responses -> openai and openai-responses). When none is
 *   in the chain, endpoints Portkey translates to (Chat Completions -> claude through its
 *   anthropic provider) serve instead.
 * - Fallback fires on what an operator would fail over on (auth, rate limit, timeouts, server
 *   errors, overload), not on a client's own 400.
 * - `request_timeout` bounds a silent upstream (the layout's first-byte timeout).
 * - Endpoints of equal priority in one channel share its traffic by weight: such a group is one
 *   target, Portkey's `loadbalance` over one `fallback` per member (that member first, then the
 *   rest of the group), so each request starts at a member drawn by weight and still fails over
 *   within the group before the chain goes on.
 */
import { fallbackChainFor, type ClientProtocol, type Layout, type LayoutEndpoint } from '../../api.js';
import type { UpstreamKind } from '../../../../protocols/index.js';

export type PortkeyProvider = 'anthropic' | 'openai';

export interface PortkeyLeaf {
  provider: PortkeyProvider;
  api_key: string;
  custom_host: string;
  request_timeout?: number;
  weight?: number;
}

type Strategy = { mode: 'fallback'; on_status_codes: number[] } | { mode: 'loadbalance' };

/** A nested target: Portkey applies its strategy to its own targets. */
export interface PortkeyGroup {
  strategy: Strategy;
  targets: PortkeyTarget[];
  weight?: number;
}

export type PortkeyTarget = PortkeyLeaf | PortkeyGroup;

export interface PortkeyConfig {
  strategy: { mode: 'fallback'; on_status_codes: number[] };
  targets: PortkeyTarget[];
}

/** The statuses a relay fails over on: another account or upstream may succeed. */
export const FALLBACK_STATUSES = [401, 403, 408, 429, 500, 502, 503, 504, 529];

/** Upstream kinds each client protocol reaches without translation, and Portkey's provider for each. */
const NATIVE: Partial<Record<ClientProtocol, readonly UpstreamKind[]>> = {
  anthropic: ['claude'],
  'openai-chat': ['openai'],
  'openai-responses': ['openai', 'openai-responses'],
};

/** What Portkey translates: a Chat Completions request to an Anthropic upstream (its anthropic provider). */
export const TRANSLATES: Partial<Record<ClientProtocol, readonly UpstreamKind[]>> = {
  'openai-chat': ['claude'],
};

const PROVIDER: Partial<Record<UpstreamKind, PortkeyProvider>> = {
  claude: 'anthropic',
  openai: 'openai',
  'openai-responses': 'openai',
};

export const INBOUND = Object.keys(NATIVE) as ClientProtocol[];

function target(e: LayoutEndpoint, timeoutMs: number): PortkeyLeaf {
  return {
    provider: PROVIDER[e.kind]!,
    api_key: e.token,
    custom_host: `${e.base_url.replace(/\/+$/, '')}/v1`,
    ...(timeoutMs > 0 ? { request_timeout: timeoutMs } : {}),
  };
}

/** The header value for requests of `protocol`, or undefined when no endpoint of the layout can serve them. */
export function portkeyConfig(layout: Layout, protocol: ClientProtocol): PortkeyConfig | undefined {
  const pick = (kinds: readonly UpstreamKind[] | undefined) => fallbackChainFor(layout, (kinds ?? []).filter((k) => PROVIDER[k]));
  const serving = pick(NATIVE[protocol]).length ? pick(NATIVE[protocol]) : pick(TRANSLATES[protocol]);
  if (serving.length === 0) return undefined;
  const timeout = layout.policy.retry.first_byte_timeout_ms || layout.policy.retry.upstream_timeout_ms;
  const fallback = { mode: 'fallback', on_status_codes: FALLBACK_STATUSES } as const;
  const targets = samePriorityGroups(layout, serving).map((group): PortkeyTarget => {
    if (group.length === 1) return target(group[0], timeout);
    const startingAt = (e: LayoutEndpoint): PortkeyGroup => ({
      strategy: fallback,
      weight: e.weight,
      targets: [e, ...group.filter((o) => o !== e)].map((o) => target(o, timeout)),
    });
    return { strategy: { mode: 'loadbalance' }, targets: group.map(startingAt) };
  });
  return { strategy: fallback, targets };
}

/** The chain cut into runs of endpoints of one channel and one priority (the chain keeps each run together). */
function samePriorityGroups(layout: Layout, chain: LayoutEndpoint[]): LayoutEndpoint[][] {
  const channelOf = new Map(layout.channels.flatMap((c) => c.endpoints.map((e) => [e.name, c.name] as const)));
  const groups: LayoutEndpoint[][] = [];
  for (const e of chain) {
    const last = groups.at(-1)?.at(-1);
    if (last && channelOf.get(last.name) === channelOf.get(e.name) && last.priority === e.priority) groups.at(-1)!.push(e);
    else groups.push([e]);
  }
  return groups;
}
