/**
 * What this machine charges for the two things a relay benchmark is made of: a system call and a
 * bit of JavaScript. Measured at the start of every benchmark and kept in its result, so a reader
 * (and bench:compare) can tell a slower release from a slower machine.
 *
 * Why a system call: every request and every streamed event costs several (write, epoll, read),
 * and that price varies far more between machines than CPU speed does. On a virtual machine whose
 * guest kernel is paravirtualised it was 2.6-5.3 µs per call, against well under 1 µs on bare
 * metal, and every figure of `pnpm bench` moved with it.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export interface MachineCalibration {
  /** µs per `fstat` system call from Node (median of batches). */
  syscallUs: number;
  /** µs per JSON round trip of a fixed ~0.5 KB object (median of batches). */
  jsonUs: number;
}

const BATCHES = 7;

/** The median per-call time (µs) of `fn` over BATCHES batches of `calls` calls, after one warm-up batch. */
export function medianCallUs(fn: () => void, calls: number): number {
  const times: number[] = [];
  for (let b = 0; b <= BATCHES; b++) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) fn();
    const perCall = ((performance.now() - t0) * 1000) / calls;
    if (b > 0) times.push(perCall);
  }
  times.sort((a, b) => a - b);
  return Math.round(times[times.length >> 1] * 1000) / 1000;
}

const SAMPLE = {
  id: 'chatcmpl-calibration',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content: 'The quick brown fox jumps over the lazy dog. '.repeat(4) }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 12, completion_tokens: 40, total_tokens: 52 },
};

/** About 0.15 s. */
export function calibrate(): MachineCalibration {
  const fd = openSync('/dev/null', 'r');
  try {
    const syscallUs = medianCallUs(() => fstatSync(fd), 5000);
    let sink = 0;
    const jsonUs = medianCallUs(() => {
      sink += (JSON.parse(JSON.stringify(SAMPLE)) as { created: number }).created;
    }, 2000);
    if (sink === 0) throw new Error('unreachable');
    return { syscallUs, jsonUs };
  } finally {
    closeSync(fd);
  }
}

/**
 * Why two results' machines cannot be compared, or undefined when they can: a system call or the
 * JavaScript probe costs at least `pct`% more on one than on the other.
 */
export function machinesDiffer(base: MachineCalibration | undefined, head: MachineCalibration | undefined, pct = 25): string | undefined {
  if (!base || !head) return undefined;
  const apart = (a: number, b: number) => Math.max(a, b) / Math.min(a, b) >= 1 + pct / 100;
  const parts: string[] = [];
  if (apart(base.syscallUs, head.syscallUs)) parts.push(`a system call costs ${base.syscallUs} µs in base and ${head.syscallUs} µs in head`);
  if (apart(base.jsonUs, head.jsonUs)) parts.push(`the JavaScript probe takes ${base.jsonUs} µs in base and ${head.jsonUs} µs in head`);
  return parts.length ? parts.join('; ') : undefined;
}
