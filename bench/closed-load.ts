/**
 * Closed-model load (max throughput): autocannon with N connections, no pipelining, each
 * connection sending its next request when the previous answer completes. Latencies come from
 * autocannon's per-response event into our own microsecond histogram.
 */
import autocannon from 'autocannon';
import { performance } from 'node:perf_hooks';
import { newHistogram, recordMs } from './histogram.js';
import { TimelineRecorder, type LoadRunResult } from './load-result.js';
import type { HttpRequestSpec } from './requests.js';

export interface ClosedLoadOptions {
  origin: string;
  request: HttpRequestSpec;
  connections: number;
  durationMs: number;
  /** Called about every 250 ms with the fraction done (0..1). */
  onProgress?: (fraction: number) => void;
}

export async function runClosedLoad(opts: ClosedLoadOptions): Promise<LoadRunResult> {
  const latency = newHistogram();
  const statusCounts: Record<string, number> = {};
  let ok = 0;
  let errors = 0;
  const start = performance.now();
  const timeline = new TimelineRecorder(start);

  let finish!: (r: autocannon.Result) => void;
  let fail!: (e: Error) => void;
  const finished = new Promise<autocannon.Result>((ok, ko) => {
    finish = ok;
    fail = ko;
  });
  const instance = autocannon(
    {
      url: opts.origin + opts.request.path,
      method: opts.request.method,
      headers: opts.request.headers,
      body: opts.request.body,
      connections: opts.connections,
      pipelining: 1,
      duration: opts.durationMs / 1000,
      timeout: 30,
    },
    (err, result) => (err ? fail(err) : finish(result)),
  );
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTimeMs: number) => {
    const good = statusCode >= 200 && statusCode < 300;
    statusCounts[statusCode] = (statusCounts[statusCode] ?? 0) + 1;
    if (good) ok++;
    else errors++;
    recordMs(latency, responseTimeMs);
    timeline.record(performance.now(), good, responseTimeMs);
  });
  const ticker = opts.onProgress ? setInterval(() => opts.onProgress!(Math.min(1, (performance.now() - start) / opts.durationMs)), 250) : undefined;
  try {
    const result = await finished;
    // Connection errors and timeouts never produce a response event.
    const failed = (result.errors ?? 0) + (result.timeouts ?? 0);
    if (failed > 0) statusCounts.connection_error = failed;
    errors += failed;
    return { durationMs: performance.now() - start, ok, errors, statusCounts, latency, timeline: timeline.points(opts.durationMs) };
  } finally {
    if (ticker) clearInterval(ticker);
  }
}
