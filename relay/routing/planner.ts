/**
 * The planner: given the config, what the request needs, the live state of the endpoints and
 * the sticky binding, the ordered list of endpoints to try. A pure function; the attempt loop
 * walks the list and never reorders it.
 *
 * Order: the primary channel (first unpaused channel by the strategy that can serve the
 * request) then, with cross-channel failover on, the other unpaused channels that take part.
 * Within a channel: priority (lowest first; equal priorities rotate by weight) or fastest
 * (probe latency, ties by priority). Cooled, breaker-open and disabled endpoints are left out.
 * An endpoint with failover_enabled: false is neither a failover target nor failed over from:
 * it can only be the single candidate of a request.
 */
import type { EndpointLiveState } from '../state/types.js';
import { contextWindowOf, endpointServesModel, type ChannelModel, type EndpointModel, type RelayModel } from '../config/model.js';
import type { EndpointType } from '../config/schema.js';
import type { ProtocolId } from '../../protocols/types.js';

export interface PlanRequest {
  /** Endpoint types that can serve this request. */
  types: ReadonlySet<EndpointType>;
  /** The client's model name (after the `type,` prefix is removed). */
  model: string | undefined;
  /**
   * The client's protocol, when endpoints of other types may serve it by translation (some
   * endpoint's `translate_from`, generate routes only): those endpoints are candidates too, in
   * their place by priority. Unset: only `types` count (no endpoint is ever looked at twice).
   */
  translateFrom?: ProtocolId;
  /** Endpoint name of the session's sticky binding, if any. */
  binding?: string;
  /**
   * Where a session that a failover moved came from (the binding's `home`): when that endpoint is
   * fully usable again (no cooldown, breaker closed) the session goes back there instead of
   * following the provisional binding.
   */
  home?: string;
}

export interface Candidate {
  endpoint: EndpointModel;
  /** The breaker is half-open: the loop must win the single probe slot before using it. */
  halfOpen: boolean;
  /** The endpoint's context window for the request's model (undefined = not declared). */
  contextWindow?: number;
}

export type { StickyOutcome } from '../state/sticky.js';
import type { StickyOutcome } from '../state/sticky.js';

export interface Plan {
  candidates: Candidate[];
  /** Channel the request belongs to (undefined when none can serve it). */
  channel: string | undefined;
  sticky: StickyOutcome | undefined;
  /** Why the list is empty: no unpaused channel, nothing serves the model, or all are unusable. */
  empty?: 'no_active_channel' | 'no_endpoint_for_model' | 'all_unavailable';
  /**
   * When all are unusable: the earliest moment one of them may be tried again (undefined when
   * none will come back by itself), and whether every one of them is waiting out a rate limit,
   * so the client hears a 429 with retry-after rather than a 5xx.
   */
  unavailable?: { retryAt: number | undefined; rateLimited: boolean };
}

const FAR = Number.POSITIVE_INFINITY;

/** The endpoints the planner needs live state for (serving this request in unpaused channels). */
export function relevantEndpoints(config: RelayModel, req: PlanRequest): EndpointModel[] {
  const out: EndpointModel[] = [];
  for (const c of config.channels) {
    if (c.paused) continue;
    for (const e of c.endpoints) if (serves(e, req)) out.push(e);
  }
  return out;
}

function serves(e: EndpointModel, req: PlanRequest): boolean {
  const reaches = req.types.has(e.type) || (req.translateFrom !== undefined && e.translations?.has(req.translateFrom) === true);
  return reaches && endpointServesModel(e, req.model);
}

/** Whether an endpoint may be tried now, and whether only as a half-open probe. */
export function usability(live: EndpointLiveState | undefined, now: number): 'ok' | 'half_open' | 'no' {
  if (!live) return 'ok';
  if (live.endpointCooldown && live.endpointCooldown.until > now) return 'no';
  if (live.tokenCooldown && live.tokenCooldown.until > now) return 'no';
  if (live.channelCooldown && live.channelCooldown.until > now) return 'no';
  if (live.health.status === 'disabled') return 'no';
  const b = live.breaker;
  if (b.phase === 'open') return b.openUntil > now ? 'no' : 'half_open';
  if (b.phase === 'half_open') return 'half_open';
  return 'ok';
}

/** When a blocked endpoint becomes usable again (Infinity when disabled), and whether a rate limit blocks it. */
function blockedUntil(live: EndpointLiveState | undefined, now: number): { until: number; rateLimited: boolean } {
  if (!live) return { until: now, rateLimited: false };
  let until = now;
  let rateLimited = false;
  for (const c of [live.endpointCooldown, live.tokenCooldown, live.channelCooldown]) {
    if (!c || c.until <= now) continue;
    until = Math.max(until, c.until);
    if (c.reason === 'rate_limited') rateLimited = true;
  }
  if (live.breaker.phase === 'open' && live.breaker.openUntil > now) until = Math.max(until, live.breaker.openUntil);
  if (live.health.status === 'disabled') until = FAR;
  return { until, rateLimited };
}

function latency(live: ReadonlyMap<string, EndpointLiveState>, e: EndpointModel): number {
  return live.get(e.name)?.health.latencyMs ?? FAR;
}

/** Channels in strategy order (paused ones excluded). */
export function orderChannels(
  config: RelayModel,
  live: ReadonlyMap<string, EndpointLiveState>,
  req?: PlanRequest,
): ChannelModel[] {
  const active = config.channels.filter((c) => !c.paused);
  if (config.strategy === 'fastest') {
    const best = new Map<ChannelModel, number>();
    for (const c of active) {
      let min = FAR;
      for (const e of c.endpoints) if (!req || serves(e, req)) min = Math.min(min, latency(live, e));
      best.set(c, min);
    }
    return active.sort((a, b) => best.get(a)! - best.get(b)! || a.priority - b.priority || a.order - b.order);
  }
  return active.sort((a, b) => a.priority - b.priority || a.order - b.order);
}

/**
 * Endpoints of one channel in strategy order. Equal priorities rotate: `rotation` (a counter
 * shared by all relay processes) picks the group's first endpoint in proportion to weight.
 */
export function orderEndpoints(
  config: RelayModel,
  endpoints: EndpointModel[],
  live: ReadonlyMap<string, EndpointLiveState>,
  rotation: number,
): EndpointModel[] {
  if (config.strategy === 'fastest') {
    return [...endpoints].sort(
      (a, b) => latency(live, a) - latency(live, b) || a.priority - b.priority || a.order - b.order,
    );
  }
  const sorted = [...endpoints].sort((a, b) => a.priority - b.priority || a.order - b.order);
  const out: EndpointModel[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i + 1;
    while (j < sorted.length && sorted[j].priority === sorted[i].priority) j++;
    out.push(...rotate(sorted.slice(i, j), rotation));
    i = j;
  }
  return out;
}

/** A group rotated so that the endpoint owning slot `rotation % totalWeight` comes first. */
function rotate(group: EndpointModel[], rotation: number): EndpointModel[] {
  if (group.length < 2) return group;
  const total = group.reduce((s, e) => s + e.weight, 0);
  let slot = ((rotation % total) + total) % total;
  let start = 0;
  for (; start < group.length; start++) {
    if (slot < group[start].weight) break;
    slot -= group[start].weight;
  }
  return [...group.slice(start), ...group.slice(0, start)];
}

export function plan(
  config: RelayModel,
  req: PlanRequest,
  live: ReadonlyMap<string, EndpointLiveState>,
  now: number,
  rotation = 0,
): Plan {
  const channels = orderChannels(config, live, req);
  if (channels.length === 0) return { candidates: [], channel: undefined, sticky: undefined, empty: 'no_active_channel' };
  const primaryIndex = channels.findIndex((c) => c.endpoints.some((e) => serves(e, req)));
  if (primaryIndex < 0) return { candidates: [], channel: undefined, sticky: undefined, empty: 'no_endpoint_for_model' };
  const primary = channels[primaryIndex];
  const reachable = [primary];
  if (config.crossChannelFailover) {
    for (const c of channels) if (c !== primary && c.crossChannel) reachable.push(c);
  }

  const usable: Candidate[] = [];
  const blocked: EndpointModel[] = [];
  for (const c of reachable) {
    const eps = c.endpoints.filter((e) => serves(e, req));
    for (const e of orderEndpoints(config, eps, live, rotation)) {
      const u = usability(live.get(e.name), now);
      if (u !== 'no') usable.push({ endpoint: e, halfOpen: u === 'half_open', contextWindow: contextWindowOf(e, req.model) });
      else blocked.push(e);
    }
  }

  let sticky: StickyOutcome | undefined;
  // Half-open is not back yet: a session returns only to an endpoint whose breaker has closed.
  const home = req.home !== undefined && req.home !== req.binding ? usable.findIndex((c) => c.endpoint.name === req.home && !c.halfOpen) : -1;
  if (home >= 0) {
    sticky = 'return';
    if (home > 0) usable.unshift(...usable.splice(home, 1));
  } else if (req.binding !== undefined) {
    const bound = usable.findIndex((c) => c.endpoint.name === req.binding);
    if (bound >= 0) {
      sticky = 'hit';
      if (bound > 0) usable.unshift(...usable.splice(bound, 1));
    } else sticky = 'rebind';
  } else sticky = 'miss';

  let candidates: Candidate[];
  if (usable.length === 0) candidates = [];
  else if (!usable[0].endpoint.failoverEnabled) candidates = [usable[0]];
  else candidates = usable.filter((c) => c.endpoint.failoverEnabled);

  if (candidates.length > 0) return { candidates, channel: candidates[0].endpoint.channel, sticky };
  const waits = blocked.map((e) => blockedUntil(live.get(e.name), now));
  const retryAt = Math.min(FAR, ...waits.map((w) => w.until));
  return {
    candidates,
    channel: primary.name,
    sticky,
    empty: 'all_unavailable',
    unavailable: {
      retryAt: Number.isFinite(retryAt) ? retryAt : undefined,
      rateLimited: waits.length > 0 && waits.every((w) => w.rateLimited),
    },
  };
}
