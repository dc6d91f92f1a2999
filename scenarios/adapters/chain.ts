/**
 * The fallback order for one kind of request, from the layout: what the layout's single
 * `fallback_chain` cannot say when the layout mixes upstream kinds.
 *
 * The primary channel, the first endpoint and its participation are all the request's own: the
 * primary channel is the first unpaused channel with an endpoint for the request, and the first
 * candidate is the first such endpoint, so a claude endpoint that takes no part in failover leaves
 * an OpenAI request's chain untouched. The layout-wide `fallback_chain` applies the rule to every
 * endpoint at once: with `A` (claude, failover off) first, it is `[A]`, and a relay configured per
 * protocol from it finds no endpoint at all for OpenAI requests. Pure function.
 */
import type { UpstreamKind } from '../../protocols/index.js';
import type { Layout, LayoutEndpoint } from './layout.js';

function byPriority<T extends { priority: number }>(items: readonly T[]): T[] {
  return items.map((item, i) => ({ item, i })).sort((a, b) => a.item.priority - b.item.priority || a.i - b.i).map((x) => x.item);
}

/**
 * The endpoints a priority relay tries, in order, for a request that endpoints of `kinds` serve:
 * unpaused channels with such an endpoint by priority (the primary one only, unless
 * cross_channel_failover, then the others open to it), their endpoints of `kinds` by priority
 * (ties in layout order), only the first when it does not take part in failover.
 */
export function fallbackChainFor(layout: Layout, kinds: readonly UpstreamKind[]): LayoutEndpoint[] {
  const serves = (e: LayoutEndpoint) => kinds.includes(e.kind);
  const channels = byPriority(layout.channels.filter((c) => !c.paused && c.endpoints.some(serves)));
  if (channels.length === 0) return [];
  const [primary, ...others] = channels;
  const inChain = layout.cross_channel_failover ? [primary, ...others.filter((c) => c.cross_channel)] : [primary];
  const [first, ...rest] = inChain.flatMap((c) => byPriority(c.endpoints.filter(serves)));
  return first.failover ? [first, ...rest.filter((e) => e.failover)] : [first];
}
