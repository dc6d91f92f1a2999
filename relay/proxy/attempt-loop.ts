/**
 * The attempt loop: walks the planner's candidates, one upstream attempt each, and after every
 * failed attempt applies the error table (cooldown, breaker, credential count) and decides
 * whether to move on. It knows nothing of bytes or protocols: `attempt` does the I/O and tells
 * it how the attempt ended and whether anything reached the client (the commit point; after it
 * nothing is retried).
 *
 * Bounds: `max_attempts` attempts, `max_credential_rotations` moves caused by 401/403, and no
 * new attempt after `deadline` since the request arrived. State writes are fire-and-forget:
 * the client's answer never waits for a cooldown to be stored.
 *
 * What a rule allows besides moving on: one more try on the same endpoint first (`retrySame`,
 * only while attempts and time remain to fail over afterwards; a failure that is retried writes
 * no state, the rule applies once the endpoint is given up), or a move only to larger context
 * windows (`larger_window`). Attempts made to rescue a request that way are never the answer
 * when they fail too: the client gets the error that started the rescue.
 *
 * Past the commit point one thing goes on: a stream that broke and was held for a continuation
 * (`continuable`, relay/proxy/continuation.ts) moves on to the later candidates that can continue
 * it (`canContinue`), within the same bounds; if none does, its own failure is the result.
 */
import type { Clock } from '../../lib/clock.js';
import { maskToken } from '../../lib/mask.js';
import type { EndpointModel, RelayModel } from '../config/model.js';
import { cooldownMs, countsTowardChannel, ERROR_TABLE, ruleFor, sameEndpointWait, type Outcome } from '../routing/error-classes.js';
import type { Candidate, StickyOutcome } from '../routing/planner.js';
import type { AttemptRecord, EndpointLiveState, LiveState } from '../state/types.js';

/** An upstream answer the relay may hand to the client unchanged. */
export interface UpstreamReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface AttemptResult {
  /**
   * ok        the answer went to the client and the upstream finished properly;
   * failed    the attempt failed (before the commit point if `committed` is false);
   * aborted   the client went away.
   */
  kind: 'ok' | 'failed' | 'aborted';
  /** true once anything went to the client: the loop stops whatever happened. */
  committed: boolean;
  outcome?: Outcome;
  status?: number;
  retryAfterMs?: number;
  reply?: UpstreamReply;
  message?: string;
  /**
   * The attempt failed on an expired credential that has just been refreshed (chatgpt-oauth):
   * the loop tries the same candidate again with this endpoint model, as one more attempt
   * (in the trail, within max_attempts), without counting the failure against the credential.
   */
  refreshed?: EndpointModel;
  /** The model finished but the upstream left out the stream's sentinel: the relay appended it (a success). */
  repaired?: boolean;
  /** Bytes of a partial event the upstream left when it stopped, never forwarded (the client's stream stays whole). */
  partialEventBytes?: number;
  /** The attempt was translated (relay/translate): `client protocol>upstream protocol`. */
  translated?: string;
  /**
   * A committed stream broke and the client's stream was left open for a continuation
   * (relay/proxy/continuation.ts): the loop goes on with the candidates that can continue it.
   */
  continuable?: boolean;
}

export interface LoopDeps {
  config: RelayModel;
  live: LiveState;
  clock: Clock;
  /** Live state read for planning, to avoid writes that change nothing (closing a closed breaker). */
  states: ReadonlyMap<string, EndpointLiveState>;
  attempt: (endpoint: EndpointModel, index: number) => Promise<AttemptResult>;
  /** Whether an endpoint may continue a broken stream of this request (it takes an assistant prefill). */
  canContinue?: (endpoint: EndpointModel) => boolean;
  /** Errors of background state writes (logged, never thrown). */
  onBackgroundError?: (err: unknown) => void;
  /** State changes worth a log line (breaker opened/closed, credential disabled), not every attempt. */
  onStateChange?: (event: { endpoint: string; change: string; detail?: unknown }) => void;
}

export interface LoopResult {
  /** The last attempt's result (undefined when no attempt ran). */
  last: AttemptResult | undefined;
  /** Endpoint of the last attempt. */
  endpoint: EndpointModel | undefined;
  attempts: AttemptRecord[];
  /** The latest upstream HTTP answer among the failed attempts: handed back rather than a made-up error. */
  lastReply?: UpstreamReply;
  /** Why the loop stopped without an answer reaching the client. */
  stopped?: 'no_candidates' | 'returned' | 'exhausted' | 'max_attempts' | 'max_credential_rotations' | 'deadline';
}

export async function runAttemptLoop(
  candidates: readonly Candidate[],
  deps: LoopDeps,
  startedAt: number,
  sticky?: StickyOutcome,
): Promise<LoopResult> {
  const { config, live, clock } = deps;
  const deadline = startedAt + config.retry.deadline;
  const attempts: AttemptRecord[] = [];
  // Filled in as attempts end and returned as is (no per-request done() closure).
  const out: LoopResult = { last: undefined, endpoint: undefined, attempts, lastReply: undefined, stopped: undefined };
  let rotations = 0;
  // Per channel: how many of this request's candidates it has left that have not failed retryably.
  // Built at the first failure that counts: a request served at once never needs it.
  let channelLeft: Map<string, number> | undefined;
  // After a context_length_exceeded: only windows larger than this are tried, and the answer that
  // started the move is what the client gets if none of them serves.
  let windowFloor = 0;
  let rescued: Rescue | undefined;
  // Same-endpoint retries so far in this request (`same_endpoint_retries` bounds them per request).
  let retries = 0;
  // A committed stream that broke and waits for a continuation: only candidates that can continue
  // it are tried, and if none does, this is the request's result (the client's error event says why).
  let continuing: Rescue | undefined;
  /** The failure the client gets when the loop ends without an answer: a broken stream's, else a rescue's origin. */
  const original = () => continuing ?? rescued;

  // The candidate's endpoint again, with a refreshed credential (see AttemptResult.refreshed).
  let retryWith: EndpointModel | undefined;

  for (let i = 0; i < candidates.length; i++) {
    if (attempts.length >= config.retry.max_attempts) return stop(out, 'max_attempts', original());
    if (attempts.length > 0 && clock.now() >= deadline) return stop(out, 'deadline', original());
    const endpoint = retryWith ?? candidates[i].endpoint;
    const halfOpen = retryWith === undefined && candidates[i].halfOpen;
    if (retryWith === undefined && rescued && !((candidates[i].contextWindow ?? 0) > windowFloor)) continue;
    if (retryWith === undefined && continuing && deps.canContinue?.(endpoint) !== true) continue;
    retryWith = undefined;
    if (halfOpen && !(await live.tryAcquireHalfOpenProbe(endpoint.name, clock.now(), config.breaker))) continue;

    const began = clock.now();
    const result = await deps.attempt(endpoint, attempts.length);
    const record: AttemptRecord = {
      endpoint: endpoint.name,
      channel: endpoint.channel,
      token: maskToken(endpoint.token),
      status: result.status,
      durationMs: clock.now() - began,
    };
    if (attempts.length === 0 && sticky) record.sticky = sticky;
    if (result.repaired) record.repaired = true;
    if (result.partialEventBytes) record.partialEventBytes = result.partialEventBytes;
    if (result.translated) record.translated = result.translated;
    attempts.push(record);
    out.last = result;
    out.endpoint = endpoint;
    if (result.reply && !rescued && !continuing) out.lastReply = result.reply;

    if (result.kind === 'aborted') return out;
    if (result.refreshed && result.kind === 'failed' && !result.committed) {
      record.errorClass = 'auth_refreshed';
      retryWith = result.refreshed;
      i--;
      continue;
    }
    const state = deps.states.get(endpoint.name);
    if (result.kind === 'ok') {
      if (halfOpen || (state && (state.breaker.phase !== 'closed' || state.breaker.consecutiveFailures > 0))) {
        const before = state?.breaker.phase ?? 'half_open';
        inBackground(
          deps,
          live.recordBreaker(endpoint.name, true, clock.now(), config.breaker).then((b) => {
            if (b.phase !== before) deps.onStateChange?.({ endpoint: endpoint.name, change: `breaker ${b.phase}` });
          }),
        );
      }
      if (state && state.authFailures > 0) inBackground(deps, live.resetAuthFailures(endpoint.name));
      return out;
    }

    const outcome = result.outcome ?? 'connect_error';
    const rule = ruleFor(outcome);
    record.errorClass = rule.class;
    if (!result.committed && !halfOpen && rule.retrySame && (!rule.retrySame.isolated || isolated(deps.states.get(endpoint.name)))) {
      const wait = sameEndpointWait(rule, result.retryAfterMs, retries, sameEndpoint(config));
      // Budget: the retry never costs a later candidate its attempt, nor runs past the deadline.
      const later = candidates.length - i - 1;
      if (wait !== undefined && attempts.length + 1 + later <= config.retry.max_attempts && clock.now() + wait < deadline) {
        retries++;
        if (wait > 0) await new Promise<void>((resolve) => clock.setTimeout(resolve, wait));
        retryWith = endpoint;
        i--;
        continue;
      }
    }
    // Failure-path writes are awaited: the next request (or the next process sharing Redis) must
    // already see this endpoint's cooldown, breaker count or disabled credential. It costs one
    // store round trip on an error path only; the success path above stays fire-and-forget.
    await applyRule(endpoint, rule, result, record, deps);
    if (!result.committed && countsTowardChannel(rule)) {
      channelLeft ??= countByChannel(candidates);
      const left = (channelLeft.get(endpoint.channel) ?? 1) - 1;
      channelLeft.set(endpoint.channel, left);
      // Only while another channel of this request is still untried: the last one standing stays.
      if (left === 0 && [...channelLeft.values()].some((n) => n > 0)) await coolChannel(endpoint.channel, deps);
    }

    if (result.committed) {
      if (!result.continuable) return out;
      continuing ??= { result, endpoint, reply: undefined };
      continue;
    }
    if (rule.action === 'return') return stop(out, 'returned', original());
    if (rule.action === 'larger_window' && !continuing) {
      const window = candidates[i].contextWindow;
      // No declared window, nothing is known to be larger: the answer goes back as it is.
      if (window === undefined) return stop(out, 'returned', rescued);
      windowFloor = Math.max(windowFloor, window);
      rescued ??= { result, endpoint, reply: result.reply };
    }
    if (rule.auth && ++rotations > config.retry.max_credential_rotations) return stop(out, 'max_credential_rotations', original());
  }
  if (continuing) return stop(out, 'exhausted', continuing);
  if (rescued) return stop(out, 'returned', rescued);
  return stop(out, attempts.length === 0 ? 'no_candidates' : 'exhausted');
}

/** An attempt whose failure is the request's if the attempts made to rescue it fail too. */
interface Rescue {
  result: AttemptResult;
  endpoint: EndpointModel;
  reply: UpstreamReply | undefined;
}

/** Ends the loop; after a failed rescue (or continuation) the answer is the one that started it, not the rescue's. */
function stop(out: LoopResult, stopped: LoopResult['stopped'], rescued?: Rescue): LoopResult {
  out.stopped = stopped;
  if (rescued && out.last?.kind !== 'ok') {
    out.last = rescued.result;
    out.endpoint = rescued.endpoint;
    out.lastReply = rescued.reply;
  }
  return out;
}

/** No failure in a row before this request: a fresh failure is a blip, the next in a row is not. */
function isolated(state: EndpointLiveState | undefined): boolean {
  return !state || (state.breaker.phase === 'closed' && state.breaker.consecutiveFailures === 0);
}

function sameEndpoint(config: RelayModel): { retries: number; maxWait: number; backoff: number } {
  const r = config.retry;
  return { retries: r.same_endpoint_retries, maxWait: r.same_endpoint_max_wait, backoff: r.same_endpoint_backoff };
}

/** A state write nobody waits for: its error is reported, never thrown. */
function inBackground(deps: LoopDeps, p: Promise<unknown>): void {
  p.catch((err) => deps.onBackgroundError?.(err));
}

function countByChannel(candidates: readonly Candidate[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const c of candidates) counts.set(c.endpoint.channel, (counts.get(c.endpoint.channel) ?? 0) + 1);
  return counts;
}

/** Every endpoint of the channel failed retryably in this request: the table's channel row applies. */
async function coolChannel(channel: string, deps: LoopDeps): Promise<void> {
  const rule = ERROR_TABLE.channel_all_failed;
  const ms = cooldownMs(rule, deps.config.cooldowns, undefined);
  if (ms <= 0) return;
  await deps.live
    .setCooldown('channel', channel, { until: deps.clock.now() + ms, reason: rule.class })
    .then(() => deps.onStateChange?.({ endpoint: channel, change: 'channel cooled', detail: { forMs: ms } }))
    .catch((err) => deps.onBackgroundError?.(err));
}

async function applyRule(
  endpoint: EndpointModel,
  rule: ReturnType<typeof ruleFor>,
  result: AttemptResult,
  record: AttemptRecord,
  deps: LoopDeps,
): Promise<void> {
  const { config, live, clock } = deps;
  const writes: Promise<unknown>[] = [];
  const background = (p: Promise<unknown>) => {
    writes.push(p.catch((err) => deps.onBackgroundError?.(err)));
  };
  const now = clock.now();
  const ms = cooldownMs(rule, config.cooldowns, result.retryAfterMs);
  if (ms > 0 && rule.cooldown) {
    const scope = rule.cooldown.scope;
    const id = scope === 'endpoint' ? endpoint.name : scope === 'token' ? endpoint.tokenId : endpoint.channel;
    record.cooldownSetMs = ms;
    record.cooldownScope = scope;
    background(live.setCooldown(scope, id, { until: now + ms, reason: rule.class }));
  }
  if (rule.breaker) {
    const before = deps.states.get(endpoint.name)?.breaker.phase ?? 'closed';
    background(
      live.recordBreaker(endpoint.name, false, now, config.breaker).then((b) => {
        if (b.phase !== before) deps.onStateChange?.({ endpoint: endpoint.name, change: `breaker ${b.phase}`, detail: { failures: b.consecutiveFailures, openUntil: b.openUntil } });
      }),
    );
  }
  if (rule.auth) {
    const c = config.cooldowns;
    background(
      live.incrAuthFailures(endpoint.name).then((n) => {
        if (n < c.auth_failures_to_disable) return;
        if (n === c.auth_failures_to_disable) deps.onStateChange?.({ endpoint: endpoint.name, change: 'credential disabled', detail: { authFailures: n, forMs: c.auth_disable_for } });
        return live.setCooldown('token', endpoint.tokenId, {
          until: clock.now() + c.auth_disable_for,
          reason: `credential disabled after ${n} auth failures`,
        });
      }),
    );
  }
  await Promise.all(writes);
}
