/**
 * Open-model load at a fixed rate, with coordinated-omission correction: request i is due at
 * start + i / rate whatever happened to earlier ones, and its latency is measured from that
 * INTENDED send time, so a stalled server is charged for the requests it kept waiting.
 * undici Pool, no pipelining; `maxConnections` bounds the sockets (a request waiting for a
 * free socket is still on the clock).
 */
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { newHistogram, recordMs } from './histogram.js';
import { TimelineRecorder, type LoadRunResult } from './load-result.js';
import type { HttpRequestSpec } from './requests.js';

export interface OpenLoadOptions {
  origin: string;
  request: HttpRequestSpec;
  /** Requests per second. */
  rate: number;
  durationMs: number;
  maxConnections?: number;
  /** How long to wait for stragglers after the last send. */
  drainMs?: number;
  onProgress?: (fraction: number) => void;
}

/** The intended send times (ms offsets) of a fixed-rate schedule; pure, for tests. */
export function schedule(rate: number, durationMs: number): number[] {
  const n = Math.floor((rate * durationMs) / 1000);
  const interval = 1000 / rate;
  return Array.from({ length: n }, (_, i) => i * interval);
}

export async function runOpenLoad(opts: OpenLoadOptions): Promise<LoadRunResult> {
  const pool = new Pool(opts.origin, { connections: opts.maxConnections ?? 256, pipelining: 1, keepAliveTimeout: 30_000 });
  const latency = newHistogram();
  const serviceLatency = newHistogram();
  const statusCounts: Record<string, number> = {};
  let ok = 0;
  let errors = 0;
  const total = Math.floor((opts.rate * opts.durationMs) / 1000);
  const interval = 1000 / opts.rate;
  const start = performance.now();
  const timeline = new TimelineRecorder(start);
  const inflight = new Set<Promise<void>>();

  const send = (intended: number, i: number) => {
    const request = opts.request.nth?.(i) ?? opts.request;
    const sentAt = performance.now();
    const p = pool
      .request({ method: request.method, path: request.path, headers: request.headers, body: request.body })
      .then(async (res) => {
        await res.body.dump();
        return String(res.statusCode);
      })
      .catch((err: Error & { code?: string }) => err.code ?? 'error')
      .then((status) => {
        const done = performance.now();
        const good = status.startsWith('2') && status.length === 3;
        statusCounts[status] = (statusCounts[status] ?? 0) + 1;
        if (good) ok++;
        else errors++;
        recordMs(latency, done - intended);
        recordMs(serviceLatency, done - sentAt);
        timeline.record(done, good, done - intended);
        inflight.delete(p);
      });
    inflight.add(p);
  };

  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (next < total && start + next * interval <= now) {
        send(start + next * interval, next);
        next++;
      }
      if (next < total && opts.onProgress && next % Math.max(1, Math.floor(opts.rate / 4)) === 0) opts.onProgress(next / total);
      if (next >= total) return resolve();
      // Timers are ~1 ms coarse; several due requests in one tick keep their own intended times.
      setTimeout(tick, Math.max(0, start + next * interval - performance.now() - 0.5));
    };
    tick();
  });
  const drain = new Promise<void>((r) => setTimeout(r, opts.drainMs ?? 10_000).unref());
  await Promise.race([Promise.allSettled([...inflight]), drain]);
  if (inflight.size > 0) {
    statusCounts.unfinished = inflight.size;
    errors += inflight.size;
  }
  opts.onProgress?.(1);
  await pool.destroy();
  return { durationMs: performance.now() - start, ok, errors, statusCounts, latency, serviceLatency, timeline: timeline.points(opts.durationMs) };
}
