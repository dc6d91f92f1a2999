/**
 * Samples a process's RSS and CPU from /proc/<pid> (Linux), so a benchmark can show the relay's
 * memory and CPU over a run without instrumenting the relay itself.
 */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { median } from './stats.js';

export interface ResourceSample {
  /** Seconds since sampling started. */
  t: number;
  rssMb: number;
  /** CPU use since the previous sample, in per cent of one core. */
  cpuPct: number;
}

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** utime + stime in clock ticks, from /proc/<pid>/stat (fields 14 and 15, after the comm field). */
export function parseCpuTicks(stat: string): number {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime is field 14 -> rest[11], stime field 15 -> rest[12].
  return Number(rest[11]) + Number(rest[12]);
}

export function parseRssKb(status: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) : 0;
}

export interface ResourceSampler {
  stop(): ResourceSample[];
}

/** Starts sampling pid every intervalMs; a vanished process just ends the series. */
export function sampleProcess(pid: number, intervalMs = 500): ResourceSampler {
  const samples: ResourceSample[] = [];
  const t0 = Date.now();
  let lastTicks: number | undefined;
  let lastAt = t0;
  const take = () => {
    try {
      const ticks = parseCpuTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      const rssKb = parseRssKb(readFileSync(`/proc/${pid}/status`, 'utf8'));
      const now = Date.now();
      const cpuPct = lastTicks === undefined ? 0 : (((ticks - lastTicks) / clockTicks()) * 1000 * 100) / Math.max(1, now - lastAt);
      lastTicks = ticks;
      lastAt = now;
      samples.push({ t: (now - t0) / 1000, rssMb: rssKb / 1024, cpuPct });
    } catch {
      /* process gone */
    }
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      // The first sample has no CPU delta; drop its zero from the CPU series by copying the next.
      if (samples.length > 1) samples[0].cpuPct = samples[1].cpuPct;
      return samples;
    },
  };
}

/**
 * RSS growth in per cent from the start of the measured window to its end: the lowest RSS of the
 * last quarter of the samples over the lowest of the first quarter, i.e. the floor the process
 * returns to after its full collections. A process whose garbage piles up between full
 * collections has a sawtooth RSS (the mock under 100 kB bodies: 300-750 MB, a tooth every one
 * to two minutes, teeth growing as V8 widens its heap limit while the live heap stays at
 * ~135 MB): a few samples at each end read it as +62% or -2% by where the teeth fell, and a
 * quarter's median moved with the teeth's width. A leak raises the floor; `rss_max_mb` keeps the
 * peak.
 *
 * A floor is a level the process stays at, not one sample: RSS is first smoothed by a running
 * median of FLOOR_SAMPLES samples. A compacting collection can release pages for an instant (the
 * relay at 500 req/s: one sample of 124 MB at 45 s between 162 MB before and 138-143 MB for the
 * nine minutes after), and the lowest single sample made that instant the start's floor (+15%).
 */
export function rssGrowthPct(samples: readonly ResourceSample[]): number {
  if (samples.length < 2) return 0;
  const levels = runningMedian(samples.map((x) => x.rssMb), FLOOR_SAMPLES);
  const k = Math.max(1, Math.floor(levels.length / 4));
  const first = Math.min(...levels.slice(0, k));
  const last = Math.min(...levels.slice(-k));
  return first === 0 ? 0 : ((last - first) / first) * 100;
}

/** Samples a level must hold for (1 s apart in `resources`): a dip in fewer is an instant. */
const FLOOR_SAMPLES = 5;

/** Each value replaced by the median of the `width` values centred on it (fewer at the ends). */
function runningMedian(xs: readonly number[], width: number): number[] {
  const half = Math.floor(width / 2);
  return xs.map((_, i) => median(xs.slice(Math.max(0, i - half), i + half + 1)));
}
