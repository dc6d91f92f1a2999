/**
 * Per-endpoint counters for GET /admin/stats, kept in process (statistics are per endpoint,
 * never per token). Plain increments on the hot path; nothing is awaited.
 */
export interface EndpointStats {
  requests: number;
  successes: number;
  errors: number;
  byClass: Record<string, number>;
  /** Finished streams whose missing sentinel the relay appended (successes). */
  repaired: number;
  /** Partial events dropped where an upstream stopped mid-event (the client got whole events only). */
  partialEventsDropped: number;
  /** Sum and count of attempt durations, and the last one. */
  totalMs: number;
  lastMs: number;
  maxMs: number;
}

export class StatsCollector {
  private readonly endpoints = new Map<string, EndpointStats>();
  requests = 0;
  private readonly outcomes: Record<string, number> = {};

  /** Forgets the counters of the listed endpoints, or of all of them and the totals. */
  reset(endpoints?: string[]): void {
    if (endpoints) {
      for (const e of endpoints) this.endpoints.delete(e);
      return;
    }
    this.endpoints.clear();
    this.requests = 0;
    for (const k of Object.keys(this.outcomes)) delete this.outcomes[k];
  }

  recordAttempt(endpoint: string, ok: boolean, errorClass: string | undefined, durationMs: number, stream?: { repaired?: boolean; partialEventBytes?: number }): void {
    let s = this.endpoints.get(endpoint);
    if (!s) {
      s = { requests: 0, successes: 0, errors: 0, byClass: {}, repaired: 0, partialEventsDropped: 0, totalMs: 0, lastMs: 0, maxMs: 0 };
      this.endpoints.set(endpoint, s);
    }
    s.requests++;
    if (stream?.repaired) s.repaired++;
    if (stream?.partialEventBytes) s.partialEventsDropped++;
    if (ok) s.successes++;
    else {
      s.errors++;
      const c = errorClass ?? 'error';
      s.byClass[c] = (s.byClass[c] ?? 0) + 1;
    }
    s.totalMs += durationMs;
    s.lastMs = durationMs;
    if (durationMs > s.maxMs) s.maxMs = durationMs;
  }

  recordRequest(outcome: string): void {
    this.requests++;
    this.outcomes[outcome] = (this.outcomes[outcome] ?? 0) + 1;
  }

  snapshot() {
    const endpoints: Record<string, EndpointStats & { avgMs: number }> = {};
    for (const [name, s] of this.endpoints) {
      endpoints[name] = { ...s, byClass: { ...s.byClass }, avgMs: s.requests ? Math.round((s.totalMs / s.requests) * 10) / 10 : 0 };
    }
    return { requests: this.requests, outcomes: { ...this.outcomes }, endpoints };
  }
}
