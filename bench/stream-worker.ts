/**
 * The streaming load client in a worker thread: its own heap and event loop. In the runner's
 * thread a stream round shared the heap with the closed-loop phases' garbage (autocannon's
 * per-request objects, the results so far), and a full collection of that heap in the middle of
 * a round showed up as a 40 ms late event, which is the client's pause, not the target's.
 *
 * The worker runs this same module and takes one load at a time; histograms cross the thread
 * boundary in their encoded form.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { decodeHistogram, encodeHistogram } from './histogram.js';
import { runStreamLoad, type StreamLoadOptions, type StreamRunResult } from './stream-client.js';

const KIND = 'relaylab-stream-load';
/**
 * The worker's entry: this TypeScript module, loaded through tsx's API (node 20 does not apply a
 * `--import tsx` loader to a worker's own entry file).
 */
function workerBoot(): string {
  return `import(${JSON.stringify(tsxEsmApi())}).then(({ register }) => { register(); return import(${JSON.stringify(import.meta.url)}); })`;
}

/** The URL of tsx's ESM register API, from its package exports (vitest has no import.meta.resolve). */
function tsxEsmApi(): string {
  const manifest = createRequire(import.meta.url).resolve('tsx/package.json');
  const exported = (JSON.parse(readFileSync(manifest, 'utf8')) as { exports: Record<string, { import: { default: string } }> }).exports['./esm/api'];
  return pathToFileURL(join(dirname(manifest), exported.import.default)).href;
}

type WorkerOptions = Omit<StreamLoadOptions, 'onProgress'>;
type ToMain = { progress: number } | { result: EncodedResult } | { error: string };

/** A StreamRunResult with its histograms encoded (they are class instances, not plain data). */
interface EncodedResult {
  result: StreamRunResult;
  histograms: { latency: string; ttfb: string; firstEvent: string; firstContent: string; gap: string; total: string };
}

/**
 * A worker thread that runs stream loads one after another. One per benchmark run: the warm-up
 * round must warm the JIT of the thread that runs the measured round.
 */
export class StreamLoadWorker {
  private readonly worker: Worker;
  private pending: { resolve: (r: StreamRunResult) => void; reject: (e: Error) => void; onProgress?: (f: number) => void } | undefined;
  private failure: Error | undefined;

  constructor() {
    this.worker = new Worker(workerBoot(), { eval: true, workerData: { kind: KIND } });
    this.worker.on('message', (m: ToMain) => {
      const p = this.pending;
      if (!p) return;
      if ('progress' in m) return p.onProgress?.(m.progress);
      this.pending = undefined;
      if ('result' in m) p.resolve(decode(m.result));
      else p.reject(new Error(`stream load worker: ${m.error}`));
    });
    const fail = (err: Error) => {
      this.failure = err;
      this.pending?.reject(err);
      this.pending = undefined;
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`stream load worker exited with code ${code}`)));
  }

  /** runStreamLoad in the worker; the same options and result. One load at a time. */
  run(opts: StreamLoadOptions): Promise<StreamRunResult> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.pending) return Promise.reject(new Error('stream load worker: a load is already running'));
    const { onProgress, ...options } = opts;
    return new Promise((resolve, reject) => {
      try {
        this.worker.postMessage(options satisfies WorkerOptions);
      } catch (err) {
        reject(err as Error);
        return;
      }
      this.pending = { resolve, reject, onProgress };
    });
  }

  /** Stops the worker; a load still running is rejected. */
  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    this.pending?.reject(new Error('stream load worker closed while a load was running'));
    this.pending = undefined;
    await this.worker.terminate();
  }
}

function encode(r: StreamRunResult): EncodedResult {
  const s = r.stream;
  return {
    result: plain(r),
    histograms: {
      latency: encodeHistogram(r.latency),
      ttfb: encodeHistogram(s.ttfb),
      firstEvent: encodeHistogram(s.firstEvent),
      firstContent: encodeHistogram(s.firstContent),
      gap: encodeHistogram(s.gap),
      total: encodeHistogram(s.total),
    },
  };
}

function decode(e: EncodedResult): StreamRunResult {
  const h = e.histograms;
  return {
    ...e.result,
    latency: decodeHistogram(h.latency),
    stream: { ...e.result.stream, ttfb: decodeHistogram(h.ttfb), firstEvent: decodeHistogram(h.firstEvent), firstContent: decodeHistogram(h.firstContent), gap: decodeHistogram(h.gap), total: decodeHistogram(h.total) },
  };
}

/** Plain data only: what structured cloning keeps of the result besides the histograms. */
function plain(r: StreamRunResult): StreamRunResult {
  const { latency: _l, stream, ...rest } = r;
  const { ttfb: _t, firstEvent: _f, firstContent: _c, gap: _g, total: _o, ...streamRest } = stream;
  return { ...rest, stream: streamRest } as unknown as StreamRunResult;
}

if (!isMainThread && parentPort && (workerData as { kind?: string } | null)?.kind === KIND) {
  const port = parentPort;
  port.on('message', (options: WorkerOptions) => {
    let lastSent = -1;
    runStreamLoad({
      ...options,
      // A message per stream would be thousands per round; a hundredth is enough for a progress bar.
      onProgress: (f) => {
        if (f - lastSent < 0.01 && f < 1) return;
        lastSent = f;
        port.postMessage({ progress: f } satisfies ToMain);
      },
    }).then(
      (r) => port.postMessage({ result: encode(r) } satisfies ToMain),
      (err: Error) => port.postMessage({ error: err.stack ?? String(err) } satisfies ToMain),
    );
  });
}
