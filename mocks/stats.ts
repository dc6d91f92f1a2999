/**
 * Self-measurement of the stream scheduler: how late each paced event left compared with its
 * programmed time. A benchmark reads it (`GET /__mock/stats`) to prove the mock kept its schedule
 * and so was not what limited the run. A fixed ring of numbers: recording costs one store.
 */
const SIZE = 1 << 17;

export class ScheduleStats {
  private readonly lateness = new Float64Array(SIZE);
  private count = 0;
  activeStreams = 0;
  streamsStarted = 0;

  /** How late (ms) a paced write happened. */
  record(lateMs: number): void {
    this.lateness[this.count % SIZE] = lateMs;
    this.count++;
  }

  reset(): void {
    this.count = 0;
    this.streamsStarted = 0;
  }

  snapshot(): { activeStreams: number; streamsStarted: number; pacedWrites: number; latenessMs: { p50: number; p99: number; max: number } } {
    const n = Math.min(this.count, SIZE);
    const sorted = this.lateness.slice(0, n).sort();
    const q = (p: number) => (n === 0 ? 0 : round(sorted[Math.min(n - 1, Math.floor(n * p))]));
    return {
      activeStreams: this.activeStreams,
      streamsStarted: this.streamsStarted,
      pacedWrites: this.count,
      latenessMs: { p50: q(0.5), p99: q(0.99), max: n === 0 ? 0 : round(sorted[n - 1]) },
    };
  }
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
