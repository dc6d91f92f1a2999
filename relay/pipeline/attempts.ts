/**
 * Stage 4, attempts: runs the attempt loop (relay/proxy/attempt-loop: cooldowns, breakers,
 * credential counts, the attempt trail) over the planned candidates, one upstream attempt each
 * (relay/proxy/upstream-attempt). A chatgpt-oauth 401 is refreshed here, and the loop retries the
 * endpoint with the new token as one more attempt.
 */
import type { Clock } from '../../lib/clock.js';
import { translationOf, type EndpointModel, type KeyModel, type RelayModel } from '../config/model.js';
import { runAttemptLoop, type AttemptResult, type LoopDeps, type LoopResult } from '../proxy/attempt-loop.js';
import { canContinueOn, continuationFor } from '../proxy/continuation.js';
import type { Exchange } from '../proxy/exchange.js';
import type { UpstreamPools } from '../proxy/pools.js';
import { attemptUpstream, endBrokenStream, type AttemptEnv } from '../proxy/upstream-attempt.js';
import type { EndpointLiveState, LiveState } from '../state/types.js';
import type { Planned } from './plan.js';
import type { RelayRuntime } from './runtime.js';

export async function runAttempts(rt: RelayRuntime, config: RelayModel, key: KeyModel, ex: Exchange, planned: Planned, hasSession: boolean): Promise<LoopResult> {
  const p = planned.plan;
  if (ex.info.stream) ex.continuation = continuationFor(config, key, ex.protocol);
  const loop = await runAttemptLoop(p.candidates, new ExchangeLoop(rt, config, planned.states, ex), ex.startedAt, hasSession ? p.sticky : undefined);
  // A broken stream that no candidate continued ends here, with its own cause.
  const pending = ex.continuation?.pending;
  if (pending && !ex.clientGone) endBrokenStream(ex, pending.message);
  return loop;
}

/**
 * What the attempt loop and the upstream attempts of one exchange need. Methods on one object per
 * request instead of an env object and three closures (tsx's keepNames makes each closure cost a
 * defineProperty call).
 */
class ExchangeLoop implements LoopDeps, AttemptEnv {
  readonly live: LiveState;
  readonly clock: Clock;
  readonly pools: UpstreamPools;

  constructor(
    private readonly rt: RelayRuntime,
    readonly config: RelayModel,
    readonly states: ReadonlyMap<string, EndpointLiveState>,
    private readonly ex: Exchange,
  ) {
    this.live = rt.live;
    this.clock = rt.clock;
    this.pools = rt.pools;
  }

  /** One chatgpt-oauth refresh per request at most: a fresh token refused again is a credential failure. */
  private refreshed = false;

  async attempt(ep: EndpointModel): Promise<AttemptResult> {
    const result = await attemptUpstream(this, this.ex, ep);
    // The attempt trail says which attempts were translated (relay/translate).
    if (ep.translations) {
      const tr = translationOf(ep, this.ex.protocol.id);
      if (tr) result.translated = tr.label;
    }
    if (result.kind !== 'failed' || result.status !== 401 || result.committed || ep.type !== 'chatgpt-oauth' || !ep.refreshToken || this.refreshed) return result;
    this.refreshed = true;
    const fresh = await this.rt.refreshToken(ep).catch(() => undefined);
    return fresh && !this.ex.clientGone ? { ...result, refreshed: fresh } : result;
  }

  /** A translated attempt never continues a broken stream (the prefill is in the client's protocol). */
  canContinue(ep: EndpointModel): boolean {
    return canContinueOn(ep, this.ex.model) && translationOf(ep, this.ex.protocol.id) === undefined;
  }

  onBackgroundError(err: unknown): void {
    this.rt.logger.warn({ err: (err as Error).message }, 'live state write failed');
  }

  onStateChange(e: { endpoint: string; change: string; detail?: unknown }): void {
    this.rt.logger.warn({ endpoint: e.endpoint, detail: e.detail }, e.change);
  }
}
