/**
 * What one load run (closed, open or streaming) hands back: counts, a latency histogram and a
 * per-second timeline. The histogram stays live until the runner encodes it into the results.
 */
import type { Histogram } from './histogram.js';

export interface TimelinePoint {
  /** Seconds since the run started (start of the bucket). */
  t: number;
  /** Bucket width in seconds (rates are count / width). */
  width: number;
  ok: number;
  errors: number;
  /** Mean latency (ms) of the requests completed in that second. */
  meanMs: number;
}

export interface LoadRunResult {
  durationMs: number;
  ok: number;
  errors: number;
  statusCounts: Record<string, number>;
  latency: Histogram;
  /** Open model only: latency from the actual send, without coordinated-omission correction. */
  serviceLatency?: Histogram;
  timeline: TimelinePoint[];
}

/** Accumulates fixed-width buckets (250 ms by default) relative to a start time (performance.now() ms). */
export class TimelineRecorder {
  private buckets: Array<{ ok: number; errors: number; sumMs: number }> = [];
  constructor(
    private readonly startMs: number,
    private readonly bucketMs = 250,
  ) {}

  record(atMs: number, ok: boolean, latencyMs: number): void {
    const i = Math.max(0, Math.floor((atMs - this.startMs) / this.bucketMs));
    while (this.buckets.length <= i) this.buckets.push({ ok: 0, errors: 0, sumMs: 0 });
    const b = this.buckets[i];
    if (ok) b.ok++;
    else b.errors++;
    b.sumMs += latencyMs;
  }

  /** Buckets up to `untilMs` after the start (a trailing partial bucket would read as a drop). */
  points(untilMs = Infinity): TimelinePoint[] {
    const full = Math.floor(untilMs / this.bucketMs);
    const width = this.bucketMs / 1000;
    return this.buckets.slice(0, Math.max(1, full)).map((b, i) => ({ t: i * width, width, ok: b.ok, errors: b.errors, meanMs: b.ok + b.errors > 0 ? b.sumMs / (b.ok + b.errors) : 0 }));
  }
}
