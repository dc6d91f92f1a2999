/**
 * The runner's side of `bench/loop-probe.mjs`: the node flags and environment that load it into a
 * measured process, and one reading per measured run (signal, wait for the file). Beside it, how
 * long the process's main thread waited for a CPU (`/proc/<pid>/schedstat`): a late event loop
 * that was runnable but not running was the machine's, one that was running was the process's own.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './processes.js';

export interface ProbeReading {
  /** How late the event loop ran during the run (ms over the sampling timer's period), over `samples` ticks. */
  loopDelayMs: { p50: number; p99: number; max: number; samples: number };
  /** Garbage collection pauses during the run, all kinds, and per kind (minor, major, incremental, weakcb). */
  gc: { count: number; totalMs: number; maxMs: number; byKind: Record<string, { count: number; totalMs: number; maxMs: number }> };
  /** Time the main thread was runnable but waited for a CPU (run queue), ms. */
  runQueueWaitMs?: number;
  /**
   * Once a second: seconds into the run, the process's RSS and the resident size of V8's young
   * generation, both MB (results from before the probe noted them: absent).
   */
  memory?: ProbeMemorySample[];
}

export interface ProbeMemorySample {
  t: number;
  rssMb: number;
  youngMb: number;
}

export interface ProbeHandle {
  /** Node flags to put before the entry point. */
  nodeFlags: string[];
  env: Record<string, string>;
  file: string;
}

const PROBE = join(ROOT, 'bench', 'loop-probe.mjs');

/** How a process is started with the probe, writing to `<workDir>/<name>.probe.json`. */
export function probeFor(workDir: string, name: string): ProbeHandle {
  const file = join(workDir, `${name}.probe.json`);
  return { nodeFlags: ['--import', pathToFileURL(PROBE).href], env: { BENCH_PROBE_FILE: file }, file };
}

/** The main thread's run-queue wait in ms (second field of /proc/<pid>/schedstat, ns), or undefined off Linux. */
export function runQueueWaitMs(pid: number): number | undefined {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6;
  } catch {
    return undefined;
  }
}

function readSeq(file: string): number {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { seq: number }).seq;
  } catch {
    return 0;
  }
}

/**
 * Asks the probed process for what it saw since the previous call (SIGUSR2) and waits for the
 * answer; undefined when the process does not answer within `timeoutMs` (it has no probe).
 */
export async function readProbe(pid: number, file: string, timeoutMs = 3000): Promise<ProbeReading | undefined> {
  const before = existsSync(file) ? readSeq(file) : 0;
  try {
    process.kill(pid, 'SIGUSR2');
  } catch {
    return undefined;
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    if (!existsSync(file)) continue;
    const raw = JSON.parse(readFileSync(file, 'utf8')) as ProbeReading & { seq: number };
    if (raw.seq > before) return { loopDelayMs: raw.loopDelayMs, gc: raw.gc, memory: raw.memory };
  }
  return undefined;
}

/** A measured run's window: the probe reset at its start, read at its end, with the run-queue wait between. */
export async function probeWindow(pid: number, file: string): Promise<() => Promise<ProbeReading | undefined>> {
  await readProbe(pid, file);
  const wait0 = runQueueWaitMs(pid);
  return async () => {
    const wait1 = runQueueWaitMs(pid);
    const reading = await readProbe(pid, file);
    if (reading && wait0 !== undefined && wait1 !== undefined) reading.runQueueWaitMs = wait1 - wait0;
    return reading;
  };
}
