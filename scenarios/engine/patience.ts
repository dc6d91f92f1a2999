/**
 * How long the scenario's client waits for an answer. A request's own `timeout` wins; otherwise
 * 30 s, unless its step bounds the answer with `max_duration`: then twice that bound (at least the
 * bound plus 5 s). Past it the step has failed its bound whatever comes later, so waiting the full
 * 30 s only spent the run's time on relays without an upstream timeout of their own: a hang
 * scenario held a peer's column for 106-170 s of a scorecard's ten minutes, 30 s per request.
 */
import type { Expectation } from './schema.js';

export const DEFAULT_CLIENT_TIMEOUT_MS = 30_000;
/** Beyond twice the bound, at least this much past it (a bound of 1 s still waits 6 s). */
const MIN_MARGIN_MS = 5_000;

export function clientPatience(timeout: number | undefined, expect: Expectation | undefined): number {
  if (timeout !== undefined) return timeout;
  const bound = tightestBound(expect);
  if (bound === undefined) return DEFAULT_CLIENT_TIMEOUT_MS;
  return Math.min(DEFAULT_CLIENT_TIMEOUT_MS, Math.max(2 * bound, bound + MIN_MARGIN_MS));
}

/** The smallest `max_duration` a step declares, at any level. */
function tightestBound(expect: Expectation | undefined): number | undefined {
  if (!expect) return undefined;
  const bounds = [expect.max_duration, expect.protocol?.max_duration, expect.resilience?.max_duration, expect.reference?.max_duration].filter((b): b is number => b !== undefined);
  return bounds.length ? Math.min(...bounds) : undefined;
}
