/**
 * How one probe outcome changes an endpoint's health. Reaching `failureThreshold` consecutive
 * failures disables the endpoint (the planner skips it); the next successful probe re-enables it.
 * A failed probe forgets the latency so fastest routing stops preferring an endpoint that fails.
 */
import type { HealthState } from '../state/types.js';

export type ProbeOutcome = { ok: true; latencyMs: number } | { ok: false; error: string };

export function nextHealth(
  previous: HealthState | undefined,
  outcome: ProbeOutcome,
  now: number,
  failureThreshold: number,
): HealthState {
  if (outcome.ok) {
    return { status: 'healthy', consecutiveFailures: 0, lastCheckAt: now, latencyMs: outcome.latencyMs };
  }
  const failures = (previous?.status === 'not_checked' ? 0 : (previous?.consecutiveFailures ?? 0)) + 1;
  return {
    status: failures >= failureThreshold ? 'disabled' : 'unhealthy',
    consecutiveFailures: failures,
    lastCheckAt: now,
    latencyMs: undefined,
    lastError: outcome.error,
  };
}

/** An endpoint that no longer takes part is shown as not checked, and nothing keeps it disabled. */
export function notChecked(previous: HealthState | undefined): HealthState {
  return {
    status: 'not_checked',
    consecutiveFailures: 0,
    lastCheckAt: previous?.lastCheckAt ?? 0,
    latencyMs: previous?.latencyMs,
  };
}
