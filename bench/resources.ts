/**
 * Samples a process's RSS and CPU from /proc/<pid> (Linux), so a benchmark can show the relay's
 * memory and CPU over a run without instrumenting the relay itself.
 */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

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
 */
export function rssGrowthPct(samples: readonly ResourceSample[]): number {
  if (samples.length < 2) return 0;
  const k = Math.max(1, Math.floor(samples.length / 4));
  const floor = (xs: readonly ResourceSample[]) => Math.min(...xs.map((x) => x.rssMb));
  const first = floor(samples.slice(0, k));
  const last = floor(samples.slice(-k));
  return first === 0 ? 0 : ((last - first) / first) * 100;
}
