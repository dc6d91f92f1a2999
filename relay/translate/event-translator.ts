/** A stream translation: upstream events in, the client protocol's events out, whole events only. */
import type { SseEvent } from '../../protocols/types.js';

export interface EventTranslator {
  /** The client's events for one upstream event (none for an event the client has no use for). */
  push(event: SseEvent): SseEvent[];
  /**
   * The upstream's stream ended without an error: what still follows from what it said (a
   * finished answer's last events). Never the protocol's sentinel: that comes from the upstream,
   * or from the relay's repair of a finished stream.
   */
  end(): SseEvent[];
}

/** What a stream translator needs to know of the request and the moment. */
export interface StreamContext {
  /** Seconds since the epoch (Chat chunks carry `created`; Messages has none). */
  created: number;
  /** The relay's estimate of the prompt's tokens, for an upstream that reports no usage. */
  estimatedInputTokens: number;
  /** The Chat client asked for the usage chunk (its other chunks then carry `usage: null`). */
  includeUsage: boolean;
}
