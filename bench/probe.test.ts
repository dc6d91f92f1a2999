import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { probeFor, probeWindow, readProbe, runQueueWaitMs } from './probe.js';
import { probeLine } from './runner.js';

describe('loop probe', () => {
  it('reports a block of the event loop and the collections of a probed process, run by run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'probe-'));
    const probe = probeFor(dir, 'child');
    // A child that, when told (on stdin), blocks its loop for at least 60 ms and allocates enough
    // meanwhile for young collections, however little CPU a busy machine gives it.
    const script = `
      let keep = [];
      process.stdin.on('data', () => {
        const t = Date.now();
        for (let i = 0; i < 3e6 || Date.now() - t < 60; i++) keep[i % 1000] = { a: [i, 2, 3] };
        keep = [];
      });
      setInterval(() => {}, 1000);
      process.stdout.write('ready\\n');`;
    const child = spawn(process.execPath, [...probe.nodeFlags, '-e', script], { env: { ...process.env, ...probe.env }, stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((ok) => child.stdout!.once('data', () => ok()));
      const end = await probeWindow(child.pid!, probe.file);
      child.stdin!.write('block\n');
      await new Promise((r) => setTimeout(r, 300));
      const blocked = await end();
      expect(blocked).toBeDefined();
      expect(blocked!.loopDelayMs.max).toBeGreaterThan(40);
      expect(blocked!.gc.count).toBeGreaterThan(0);
      expect(blocked!.runQueueWaitMs).toBeGreaterThanOrEqual(0);
      // RSS and the young generation, noted at the window's start and end at least.
      const memory = blocked!.memory!;
      expect(memory.length).toBeGreaterThanOrEqual(2);
      expect(memory[0].t).toBeLessThan(memory.at(-1)!.t);
      for (const m of memory) {
        expect(m.youngMb).toBeGreaterThan(0);
        expect(m.rssMb).toBeGreaterThan(m.youngMb);
      }
      expect(probeLine(blocked!, 300)).toMatch(/^loop late p99 [\d.]+ max [\d.]+ ms; gc [\d.]+% of the run \(minor \d+x max [\d.]+.*\); waited for a CPU \d+% of the run$/);
      // The next window starts afresh: it counts only its own ticks (at most one per 10 ms of it),
      // not the earlier window's too. (Not its lateness: on a busy machine any window has some.)
      const t0 = Date.now();
      await new Promise((r) => setTimeout(r, 200));
      const next = await readProbe(child.pid!, probe.file);
      expect(next!.loopDelayMs.samples).toBeLessThanOrEqual((Date.now() - t0) / 10 + 2);
    } finally {
      child.kill();
    }
  });

  it('gives up on a process without the probe instead of waiting forever', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'probe-'));
    // SIGUSR2 would end a process without a listener: this one ignores it.
    const child = spawn(process.execPath, ['-e', "process.on('SIGUSR2', () => {}); setInterval(() => {}, 1000); process.stdout.write('ready\\n')"], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((ok) => child.stdout!.once('data', () => ok()));
      expect(await readProbe(child.pid!, join(dir, 'none.json'), 300)).toBeUndefined();
      expect(runQueueWaitMs(child.pid!)).toBeGreaterThanOrEqual(0);
    } finally {
      child.kill();
    }
  });
});
