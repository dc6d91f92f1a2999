/**
 * The circuit breaker as pure functions of (state, event, now, settings). The memory store calls
 * them directly; the Redis store runs the same rules in Lua (redis-scripts.ts) so a transition is
 * atomic across relay processes. Both are tested against one table of cases (breaker-cases.ts).
 *
 *   closed    --N consecutive failures-->  open (until now + open_for)
 *   open      --open_for elapsed-------->  half_open (read-time: no write is needed)
 *   half_open --one admitted probe-------  a lease until now + open_for, so a probe whose result
 *                                          never arrives (client abort, crash) cannot block forever
 *   half_open --M consecutive successes->  closed
 *   half_open --any failure------------->  open again
 *
 * Outcomes reported while open (requests that were in flight when it opened) change nothing.
 */
import type { BreakerSettings, BreakerState } from './types.js';

export const CLOSED_BREAKER: Readonly<BreakerState> = Object.freeze({
  phase: 'closed',
  consecutiveFailures: 0,
  consecutiveSuccesses: 0,
  openUntil: 0,
});

export function closedBreaker(): BreakerState {
  return { ...CLOSED_BREAKER };
}

/** The state as seen at `now`: an open breaker whose time is up reads as half-open. */
export function breakerAt(state: BreakerState | undefined, now: number): BreakerState {
  if (!state) return closedBreaker();
  if (state.phase === 'open' && now >= state.openUntil) {
    return { ...state, phase: 'half_open', consecutiveSuccesses: 0 };
  }
  return state;
}

function opened(now: number, settings: BreakerSettings, failures: number): BreakerState {
  return { phase: 'open', consecutiveFailures: failures, consecutiveSuccesses: 0, openUntil: now + settings.openMs };
}

/** The state after one attempt outcome. */
export function nextBreaker(
  previous: BreakerState | undefined,
  ok: boolean,
  now: number,
  settings: BreakerSettings,
): BreakerState {
  const state = breakerAt(previous, now);
  switch (state.phase) {
    case 'open':
      return state;
    case 'half_open':
      if (!ok) return opened(now, settings, state.consecutiveFailures + 1);
      if (state.consecutiveSuccesses + 1 >= settings.successThreshold) return closedBreaker();
      // The probe reported: release its lease so the next probe may go.
      return { phase: 'half_open', consecutiveFailures: 0, consecutiveSuccesses: state.consecutiveSuccesses + 1, openUntil: state.openUntil };
    case 'closed': {
      if (ok) return state.consecutiveFailures === 0 ? state : closedBreaker();
      const failures = state.consecutiveFailures + 1;
      if (failures >= settings.failureThreshold) return opened(now, settings, failures);
      return { ...state, consecutiveFailures: failures, consecutiveSuccesses: 0 };
    }
  }
}

/**
 * May this caller send a request through the breaker now? Closed: yes. Open: no. Half-open: yes
 * for exactly one caller until that probe reports or its lease (open_for) runs out.
 */
export function acquireProbe(
  previous: BreakerState | undefined,
  now: number,
  settings: BreakerSettings,
): { admitted: boolean; state: BreakerState } {
  const state = breakerAt(previous, now);
  if (state.phase === 'closed') return { admitted: true, state };
  if (state.phase === 'open') return { admitted: false, state };
  if (state.probeUntil !== undefined && state.probeUntil > now) return { admitted: false, state };
  return { admitted: true, state: { ...state, probeUntil: now + settings.openMs } };
}
