// @ts-check
/**
 * Preloaded into the processes a benchmark measures (`node --import bench/loop-probe.mjs`: the
 * relay, the bare proxy), so a long latency can be pinned on its cause: how late the process's
 * event loop ran (a 10 ms timer's lateness, in a perf_hooks histogram) and how long its garbage collections paused
 * it (PerformanceObserver 'gc' entries), per measured run. Plain JavaScript with node built-ins
 * only, so it loads the same into a tsx process, a compiled production build and an older
 * release's relay, without changing how they run.
 *
 * Once a second it also notes the process's RSS beside the resident size of V8's young
 * generation (new space and new large-object space). The young generation is a reservation V8
 * sizes by its own rules, up to two semi-spaces (16 MB each on 64-bit node 20) and a large-object
 * space of one semi-space's size: it grows under allocation, and a memory-reducing full collection can
 * shrink it to a few MB, which a lightly loaded process gets now and then and a steady one may not
 * get for minutes (the relay under 20 req/s of 100 kB bodies: 32 -> 4 MB at one such collection,
 * RSS 140 -> 110 MB, back to 32 MB minutes later, with the live heap flat). A leak cannot live there
 * (what survives two young collections moves to the old generation), so RSS less the young
 * generation is where the runner looks for one.
 *
 * Active only when BENCH_PROBE_FILE is set. On SIGUSR2 it writes what it saw since the previous
 * signal to that file (`{ seq, loopDelayMs, gc, memory }`, written to a temporary file and
 * renamed, so a reader never sees half of it) and starts counting anew: the runner signals before
 * and after each measured run.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { createHistogram, performance, PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';

/** The loop's sampling timer (ms): a late tick shows a block of at least this length. */
const RESOLUTION_MS = 10;
/** Names of `detail.kind` (perf_hooks constants NODE_PERFORMANCE_GC_*). */
const GC_KINDS = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weakcb' };
/** How often RSS and the young generation are noted (ms). */
const MEMORY_MS = 1000;
/** At most this many memory samples per window (5.5 hours of them): a window never read stays bounded. */
const MEMORY_MAX = 20_000;
const YOUNG_SPACES = new Set(['new_space', 'new_large_object_space']);
const MB = 1024 * 1024;

const file = process.env.BENCH_PROBE_FILE;
if (file) {
  // Own timer rather than monitorEventLoopDelay: that one drops the first interval after a
  // reset(), so a block right at the start of a window went unseen.
  const loop = createHistogram();
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    loop.record(Math.max(1, Math.round((now - last - RESOLUTION_MS) * 1000)));
    last = now;
  }, RESOLUTION_MS).unref();
  /** @type {{ count: number, totalMs: number, maxMs: number, byKind: Record<string, { count: number, totalMs: number, maxMs: number }> }} */
  let gc = freshGc();
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const detail = /** @type {{ kind?: number } | undefined} */ (e.detail);
      const kind = GC_KINDS[/** @type {1 | 2 | 4 | 8} */ (detail?.kind ?? 0)] ?? 'other';
      gc.count++;
      gc.totalMs += e.duration;
      gc.maxMs = Math.max(gc.maxMs, e.duration);
      const k = (gc.byKind[kind] ??= { count: 0, totalMs: 0, maxMs: 0 });
      k.count++;
      k.totalMs += e.duration;
      k.maxMs = Math.max(k.maxMs, e.duration);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  /** @type {Array<{ t: number, rssMb: number, youngMb: number }>} */
  let memory = [];
  let windowStart = performance.now();
  const noteMemory = () => {
    if (memory.length >= MEMORY_MAX) return;
    let young = 0;
    for (const s of getHeapSpaceStatistics()) if (YOUNG_SPACES.has(s.space_name)) young += s.physical_space_size;
    memory.push({ t: round((performance.now() - windowStart) / 1000), rssMb: round(process.memoryUsage.rss() / MB), youngMb: round(young / MB) });
  };
  setInterval(noteMemory, MEMORY_MS).unref();
  noteMemory();
  let seq = 0;
  // The histogram holds how late each tick came, in µs (at least 1: a histogram takes no 0).
  const late = (/** @type {number} */ us) => (us <= 1 ? 0 : us / 1000);
  process.on('SIGUSR2', () => {
    noteMemory();
    const out = {
      seq: ++seq,
      pid: process.pid,
      loopDelayMs: { p50: late(loop.percentile(50)), p99: late(loop.percentile(99)), max: late(loop.max), samples: loop.count },
      gc,
      memory,
    };
    writeFileSync(`${file}.tmp`, JSON.stringify(out));
    renameSync(`${file}.tmp`, file);
    loop.reset();
    gc = freshGc();
    memory = [];
    windowStart = performance.now();
    noteMemory();
  });
}

function freshGc() {
  return { count: 0, totalMs: 0, maxMs: 0, byKind: {} };
}

/** Three decimals: enough for MB and seconds, and a short file. */
function round(/** @type {number} */ x) {
  return Math.round(x * 1000) / 1000;
}
