/**
 * Mid-stream continuation (`continuation: prefill` on a channel or a key): a stream that breaks
 * after the commit point (cut before the model finished, or stalled past upstream_timeout) is not
 * ended at once. The client's stream stays open at an event boundary, and the attempt loop tries
 * the next candidates that take an assistant prefill: each gets the client's request with the
 * text the client received appended as the assistant's prefill (nothing else: no prompt text of
 * the relay's), and its stream is spliced into the client's as the same message
 * (ContinuationTrack.splicer). When none can, the client's stream ends with the protocol's error
 * event carrying the original cause (`abandon`).
 *
 * Never continued: an answer with a tool call, a thinking block or reasoning (never turned into
 * prose), several choices, or no text yet; an endpoint or model that declares `prefill: false`
 * (chat endpoints unless they declare `prefill: true`); a request whose candidates stop at the
 * broken endpoint (failover_enabled: false, cross_channel: false, a single candidate). Bounded by
 * `retry.max_continuations` (1) and by the attempt budget (max_attempts, deadline).
 */
import { addUsage } from '../../protocols/tokens.js';
import type { ContinuationCodec, ContinuationTrack, Protocol, SseEvent, StreamObserver, UpstreamError, Usage } from '../../protocols/types.js';
import type { EndpointModel, KeyModel, RelayModel } from '../config/model.js';
import { prefillOf } from '../config/model.js';
import type { Outcome } from '../routing/error-classes.js';

/** The break a continuation may repair: the client's stream is open, waiting. */
export interface PendingBreak {
  message: string;
  outcome: Outcome;
}

export class Continuation {
  /** What the client received so far, event by event (from the commit point of the first attempt on). */
  track: ContinuationTrack | undefined;
  /** The break waiting for a continuation; undefined while a stream is being delivered normally. */
  pending: PendingBreak | undefined;
  /** Breaks held for a continuation so far (`retry.max_continuations` bounds them). */
  private holds = 0;
  /** Usage billed by the upstreams whose parts of the answer were delivered before the one now answering. */
  prior: Usage | undefined;
  /** Usage billed by every broken attempt so far (becomes `prior` when a continuation takes over). */
  private owed: Usage | undefined;

  constructor(
    readonly codec: ContinuationCodec,
    private readonly max: number,
    private readonly keySetting: 'off' | 'prefill' | undefined,
  ) {}

  /** Whether a stream delivered by this endpoint may be continued when it breaks (the key's setting, else its channel's). */
  enabledFor(ep: EndpointModel): boolean {
    return (this.keySetting ?? ep.continuation) === 'prefill';
  }

  /**
   * Called where a committed stream broke before the model finished. Returns why it cannot be
   * continued (the stream then ends with the error event as usual), or undefined: the break is
   * pending, the client's stream stays open, and the attempt loop looks for a continuation.
   */
  hold(ep: EndpointModel, observer: StreamObserver, estimatedInputTokens: number, brk: PendingBreak): string | undefined {
    if (!this.enabledFor(ep)) return 'continuation is off';
    if (!this.track) return 'nothing was tracked';
    if (this.holds >= this.max) return `${this.max} continuation(s) already made`;
    const blocked = this.track.blocked;
    if (blocked) return blocked;
    this.holds++;
    const billed = billedSoFar(observer, estimatedInputTokens);
    this.owed = this.owed ? addUsage(this.owed, billed) : billed;
    this.pending = brk;
    return undefined;
  }

  /** A continuation attempt starts: the body it sends and the splicer of its stream. */
  begin(body: unknown): { body: unknown; splice: (ev: SseEvent) => SseEvent[] } {
    const track = this.track!;
    return { body: this.codec.withPrefill(body, track.text), splice: track.splicer(this.owed!) };
  }

  /** A continuation reached its first content: it is now the answer, the break is repaired. */
  spliced(): void {
    this.prior = this.owed;
    this.pending = undefined;
  }
}

/**
 * The request's continuation state, when one is possible at all: the protocol has a prefill, the
 * key does not turn it off, and the key or some channel turns it on.
 */
export function continuationFor(config: RelayModel, key: KeyModel, protocol: Protocol): Continuation | undefined {
  const codec = protocol.continuation;
  if (!codec || config.retry.max_continuations === 0 || key.continuation === 'off') return undefined;
  if (key.continuation !== 'prefill' && !config.channels.some((c) => c.endpoints.some((e) => e.continuation === 'prefill'))) return undefined;
  return new Continuation(codec, config.retry.max_continuations, key.continuation);
}

/** Whether an endpoint may carry a continuation of this request's answer. */
export function canContinueOn(ep: EndpointModel, model: string | undefined): boolean {
  return prefillOf(ep, model);
}

/**
 * What a broken attempt's upstream billed: the input and cache tokens it reported (else the
 * estimate), and for output, which no upstream reports for a cut stream, the observer's estimate
 * from the text delivered (protocols/tokens.ts); marked as estimated.
 */
export function billedSoFar(observer: StreamObserver, estimatedInputTokens: number): Usage {
  const seen = observer.usage;
  return {
    inputTokens: seen?.inputTokens ?? estimatedInputTokens,
    outputTokens: Math.max(observer.contentTokens, 0),
    cacheWriteTokens: seen?.cacheWriteTokens ?? 0,
    cacheReadTokens: seen?.cacheReadTokens ?? 0,
    estimated: true,
  };
}

/** "This model does not support assistant message prefill", "prefix ... not supported", Mistral's "(or Assistant with prefix True)". */
const PREFILL_MESSAGE = /prefill|prefix/i;

/** A continuation's 400 that refuses the prefill itself (never the client's to see). */
export function isPrefillRejection(status: number, error: UpstreamError | undefined): boolean {
  return status === 400 && error !== undefined && PREFILL_MESSAGE.test(error.message);
}
