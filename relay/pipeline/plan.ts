/**
 * Stage 3, plan: reads the live state of the endpoints that could serve the request (and the
 * session's sticky binding, and the rotation counter when the layout rotates) and orders the
 * candidates with the pure planner (relay/routing/planner).
 */
import type { RelayModel } from '../config/model.js';
import { plan, relevantEndpoints, type Plan, type PlanRequest } from '../routing/planner.js';
import type { EndpointLiveState, StickyBinding } from '../state/types.js';
import type { RelayRuntime } from './runtime.js';

export interface Planned {
  plan: Plan;
  /** The live state the plan was made from (the attempt loop avoids writes that change nothing). */
  states: ReadonlyMap<string, EndpointLiveState>;
  /** The session's binding as read, when the request has a sticky key. */
  binding?: StickyBinding;
}

const NO_STATES: ReadonlyMap<string, EndpointLiveState> = new Map();

export async function planRequest(
  rt: RelayRuntime,
  config: RelayModel,
  types: PlanRequest['types'],
  model: string | undefined,
  now: number,
  stickyKey: string | undefined,
  translateFrom?: PlanRequest['translateFrom'],
): Promise<Planned> {
  const { live } = rt;
  const relevant = relevantEndpoints(config, { types, model, translateFrom });
  if (relevant.length === 0) return { plan: plan(config, { types, model, translateFrom }, NO_STATES, now), states: NO_STATES };
  const targets = relevant.map((e) => ({ endpoint: e.name, channel: e.channel, tokenId: e.tokenId }));
  const rotates = config.needsRotation && config.strategy === 'priority';
  let states: EndpointLiveState[];
  let binding: StickyBinding | undefined;
  let rotation = 0;
  if (stickyKey || rotates) {
    // Read together: with a shared store (Redis) that is one round trip instead of three.
    [states, binding, rotation] = await Promise.all([
      live.readEndpoints(targets, now),
      stickyKey ? live.getBinding(stickyKey, now) : undefined,
      rotates ? live.increment('relay:rotation') : 0,
    ]);
  } else {
    // Nothing else to read: no Promise.all and its arrays on the common path.
    states = await live.readEndpoints(targets, now);
  }
  const stateMap = new Map<string, EndpointLiveState>();
  for (const s of states) stateMap.set(s.endpoint, s);
  // A binding a failover moved remembers where the session belongs; it goes back once that is usable.
  const home = config.sticky.returnAfterFailover ? binding?.home : undefined;
  return { plan: plan(config, { types, model, translateFrom, binding: binding?.endpoint, home }, stateMap, now, rotation), states: stateMap, binding };
}
