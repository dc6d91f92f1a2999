/**
 * Which endpoints a round probes. With cross-channel failover on: every endpoint of the channels
 * that take part (the active channel and the unpaused cross_channel ones). With it off: only the
 * active channel's failover-enabled endpoints. Everything else is shown as not checked, as is a
 * custom-pass endpoint without a fast-test path (it has no harmless URL to call).
 */
import type { ChannelModel, EndpointModel, RelayModel } from '../config/model.js';

export interface ProbeTargets {
  active: ChannelModel | undefined;
  probe: EndpointModel[];
  notChecked: EndpointModel[];
}

/** `orderedChannels`: the unpaused channels in strategy order (the planner's orderChannels). */
export function selectTargets(layout: RelayModel, orderedChannels: ChannelModel[]): ProbeTargets {
  const active = orderedChannels[0];
  const takingPart = new Set<EndpointModel>();
  if (active) {
    if (layout.crossChannelFailover) {
      for (const c of orderedChannels) {
        if (c === active || c.crossChannel) for (const e of c.endpoints) takingPart.add(e);
      }
    } else {
      for (const e of active.endpoints) if (e.failoverEnabled) takingPart.add(e);
    }
  }
  const probe: EndpointModel[] = [];
  const notChecked: EndpointModel[] = [];
  for (const c of layout.channels) {
    for (const e of c.endpoints) {
      if (takingPart.has(e) && isProbeable(e)) probe.push(e);
      else notChecked.push(e);
    }
  }
  return { active, probe, notChecked };
}

function isProbeable(e: EndpointModel): boolean {
  return e.type !== 'custom-pass' || e.fastTestPath !== undefined;
}
