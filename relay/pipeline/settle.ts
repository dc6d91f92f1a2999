/**
 * Stage 6, settle: the money around a request. `reserve` (before planning) holds the estimate
 * for the key; a complete answer is charged before its last bytes are released to the client
 * (`chargeBeforeRelease`, called by the upstream attempt: a relay killed at any moment has
 * charged every answer a client received whole, and refunds, on recovery, every one it did not);
 * `settle` (after the answer, never awaited by the client) charges any other ending by what the
 * client received, once, and counts the attempts in the relay's stats.
 */
import { addUsage, countTextTokens } from '../../protocols/tokens.js';
import type { Usage } from '../../protocols/types.js';
import type { Outcome as BillingOutcome } from '../billing/types.js';
import type { KeyModel } from '../config/model.js';
import { HttpError } from '../http/reply.js';
import type { AttemptResult, LoopResult } from '../proxy/attempt-loop.js';
import { billedSoFar } from '../proxy/continuation.js';
import type { Exchange } from '../proxy/exchange.js';
import type { RelayRuntime } from './runtime.js';

/** Reserves the request's estimate; throws the refusal (no balance, no account). */
export async function reserve(rt: RelayRuntime, key: KeyModel, ex: Exchange, path: string): Promise<void> {
  const pre = await rt.billing.precharge({
    requestId: ex.requestId,
    keyName: key.name,
    model: ex.model ?? '',
    protocol: ex.protocol.id,
    info: ex.info,
    path,
  });
  if (!pre.ok) throw new HttpError(pre.status, pre.message);
  // Only answers that bill usage (generate routes); the others settle after the answer as before.
  if (rt.billing.chargeComplete && ex.route.kind === 'generate') ex.chargeBeforeRelease = (endpoint) => chargeComplete(rt, ex, key, endpoint);
}

/** A complete answer's charge, made before its end is released; a failure is logged, never the client's. */
async function chargeComplete(rt: RelayRuntime, ex: Exchange, key: KeyModel, endpoint: string): Promise<void> {
  const settled: Settled = { outcome: 'success', usage: deliveredUsage(ex, true) };
  ex.settled = settled;
  const failed = (err: unknown) => rt.logger.warn({ err: (err as Error).message, requestId: ex.requestId }, 'billing settle failed');
  try {
    const charged = await rt.billing.chargeComplete!({
      requestId: ex.requestId, keyName: key.name, model: ex.model ?? '', endpoint, outcome: settled.outcome, usage: settled.usage, firstTokenSent: true,
    });
    charged.settled.catch(failed);
  } catch (err) {
    // Not charged: the settle stage tries again once the request ends.
    ex.settled = undefined;
    failed(err);
  }
}

export interface Settled {
  outcome: BillingOutcome;
  /** What the client was charged for (undefined when nothing was delivered). */
  usage: Usage | undefined;
}

export function settle(rt: RelayRuntime, ex: Exchange, key: KeyModel, loop: LoopResult): Settled {
  // Charged before its end was released: that charge is what the client received.
  if (ex.settled) {
    countAttempts(rt, loop, ex.settled.outcome);
    return ex.settled;
  }
  const outcome = billingOutcome(loop.last, ex);
  const delivered = ex.committed && ex.route.kind === 'generate';
  const usage = delivered ? deliveredUsage(ex, loop.last?.kind === 'ok' || ex.observer?.complete === true) : undefined;
  countAttempts(rt, loop, outcome);
  rt.billing
    .settle({
      requestId: ex.requestId,
      keyName: key.name,
      model: ex.model ?? '',
      endpoint: loop.endpoint?.name,
      outcome,
      usage,
      firstTokenSent: ex.committed,
    })
    .catch((err) => rt.logger.warn({ err: (err as Error).message, requestId: ex.requestId }, 'billing settle failed'));
  return { outcome, usage };
}

/** The attempts and the request's outcome in the relay's stats (`GET /admin/stats`). */
export function countAttempts(rt: RelayRuntime, loop: LoopResult, outcome: BillingOutcome): void {
  for (const a of loop.attempts) rt.stats.recordAttempt(a.endpoint, !a.errorClass && a.status !== undefined && a.status < 400, a.errorClass, a.durationMs, a);
  rt.stats.recordRequest(outcome);
}

/**
 * What the client received. A finished answer: the upstream's usage, else an estimate marked as
 * such. A stream that broke after the commit point: the input and cache tokens the stream
 * reported, and for output, which no upstream reports for a cut stream, the estimate from the
 * text delivered (tokensForChars of its characters, protocols/tokens.ts), marked as estimated.
 */
function deliveredUsage(ex: Exchange, complete: boolean): Usage {
  const own = attemptUsage(ex, complete);
  // A continued answer: what the upstreams before the one that finished it billed, too.
  const prior = ex.continuation?.prior;
  return prior ? addUsage(prior, own) : own;
}

/** What the upstream whose stream the client received last billed for its part. */
function attemptUsage(ex: Exchange, complete: boolean): Usage {
  const observer = ex.observer;
  if (!complete && observer) return billedSoFar(observer, ex.info.estimatedInputTokens);
  if (ex.usage) return ex.usage;
  return {
    inputTokens: ex.info.estimatedInputTokens,
    outputTokens: observer ? observer.contentTokens : countTextTokens(ex.outputText),
    cacheWriteTokens: 0,
    cacheReadTokens: 0,
    estimated: true,
  };
}

function billingOutcome(last: AttemptResult | undefined, ex: Exchange): BillingOutcome {
  if (!last) return 'upstream_error';
  if (last.kind === 'aborted' || ex.clientGone) return 'client_abort';
  if (last.kind === 'ok') return 'success';
  return last.committed ? 'stream_cut' : 'upstream_error';
}
