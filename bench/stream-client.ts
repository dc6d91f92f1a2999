/**
 * The streaming load client (autocannon cannot parse SSE): N concurrent streams on undici,
 * each timestamped at send, headers, first event, first content event, every chunk of events and
 * the terminal event. Protocol knowledge stays out: the caller says which bytes mark the terminal
 * event and which protocol's content events to look for (first-content.ts).
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Pool, type Dispatcher } from 'undici';
import { newHistogram, recordMs, type Histogram } from './histogram.js';
import { CONTENT_TESTS, FirstContentDetector, type ContentProtocol } from './first-content.js';
import { TimelineRecorder, type LoadRunResult } from './load-result.js';
import type { HttpRequestSpec } from './requests.js';
import { SseEventCounter } from './sse-counter.js';

export interface StreamLoadOptions {
  origin: string;
  request: HttpRequestSpec;
  streams: number;
  /** Streams start evenly spread over this window (0 = all at once). */
  rampMs?: number;
  /** A stream with no event for this long counts as stalled (and is abandoned). */
  stallMs?: number;
  /** Bytes only the protocol's terminal event carries (e.g. `data: [DONE]`); any one ends a stream. */
  terminalMarkers: readonly string[];
  /** Whose content events end the wait for the first content (a name: the options cross to a worker thread). */
  contentProtocol: ContentProtocol;
  onProgress?: (fraction: number) => void;
}

export interface StreamStats {
  streams: number;
  completed: number;
  /** Streams that ended (or were abandoned) without the terminal event. */
  incomplete: number;
  /** Streams that went silent for stallMs after their first event. */
  stalls: number;
  /** Streams that got no first event within stallMs (a slow start, not a stall). */
  startTimeouts: number;
  events: number;
  eventsPerSecond: number;
  /** From send to response headers. */
  ttfb: Histogram;
  /** From send to the first complete event (a start event or a ping, for most upstreams). */
  firstEvent: Histogram;
  /**
   * From send to the first complete content event: what the user waits for, and the figure to
   * compare a relay that holds the start events (until the answer begins) with one that does not.
   */
  firstContent: Histogram;
  /** Between successive reads that completed at least one event (the inter-chunk gap). */
  gap: Histogram;
  /** From send to the terminal event. */
  total: Histogram;
  /** Events received per second of the run. */
  eventsTimeline: number[];
  /**
   * How late this client's own event loop ran during the run (ms): a gap that grew while the
   * client itself was paused (its collections, its share of the cores) is the client's, not the
   * target's.
   */
  loopDelay: { p50: number; p99: number; max: number };
}

export type StreamRunResult = LoadRunResult & { stream: StreamStats };

interface OneStream {
  ok: boolean;
  status: string;
  events: number;
  complete: boolean;
  stalled: boolean;
  startTimeout: boolean;
}

export async function runStreamLoad(opts: StreamLoadOptions): Promise<StreamRunResult> {
  const pool = new Pool(opts.origin, { connections: opts.streams, pipelining: 1, keepAliveTimeout: 30_000, bodyTimeout: 0, headersTimeout: 60_000 });
  const stallMs = opts.stallMs ?? 5000;
  const ttfb = newHistogram();
  const firstEvent = newHistogram();
  const firstContent = newHistogram();
  const isContent = CONTENT_TESTS[opts.contentProtocol];
  const gap = newHistogram();
  const total = newHistogram();
  const statusCounts: Record<string, number> = {};
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  loopDelay.enable();
  const start = performance.now();
  const timeline = new TimelineRecorder(start, 1000);
  const eventsTimeline: number[] = [];
  let events = 0;
  let done = 0;

  const countEvents = (n: number, at: number) => {
    events += n;
    const i = Math.floor((at - start) / 1000);
    while (eventsTimeline.length <= i) eventsTimeline.push(0);
    eventsTimeline[i] += n;
  };

  // undici's dispatch API with a handler: no Readable stream, async iterator or promise per
  // chunk, which at 2,000 streams made the load client the busiest process on the machine.
  const one = (): Promise<OneStream> =>
    new Promise((resolve) => {
      const sentAt = performance.now();
      const counter = new SseEventCounter(opts.terminalMarkers);
      const content = new FirstContentDetector(isContent);
      let controller: Dispatcher.DispatchController | undefined;
      let status = 0;
      let eventsSeen = 0;
      let lastRead = 0;
      let stalled = false;
      let settled = false;
      let watchdog: NodeJS.Timeout | undefined;
      const finish = (r: OneStream) => {
        if (settled) return;
        settled = true;
        clearTimeout(watchdog);
        resolve(r);
      };
      const failed = (code: string) => {
        const startTimeout = stalled && eventsSeen === 0;
        const why = startTimeout ? 'no-first-event' : stalled ? 'stalled' : code;
        finish({ ok: false, status: why, events: eventsSeen, complete: counter.terminal, stalled: stalled && !startTimeout, startTimeout });
      };
      const arm = () => {
        if (watchdog) watchdog.refresh();
        else
          watchdog = setTimeout(() => {
            stalled = true;
            controller?.abort(new Error('stalled'));
            failed('stalled');
          }, stallMs);
      };
      arm();
      pool.dispatch(
        { method: opts.request.method as Dispatcher.HttpMethod, path: opts.request.path, headers: opts.request.headers, body: opts.request.body },
        {
          onRequestStart(c) {
            controller = c;
            if (settled) c.abort(new Error('stalled'));
          },
          onResponseStart(_c, statusCode) {
            status = statusCode;
            recordMs(ttfb, performance.now() - sentAt);
          },
          onResponseData(_c, chunk) {
            if (status < 200 || status >= 300) return;
            const n = counter.push(chunk);
            // Every chunk, also one that completes no event: the detector keeps the partial event.
            const contentNow = !content.found && content.push(chunk);
            if (n === 0) return;
            const now = performance.now();
            arm();
            if (contentNow) recordMs(firstContent, now - sentAt);
            if (eventsSeen === 0) recordMs(firstEvent, now - sentAt);
            else recordMs(gap, now - lastRead);
            lastRead = now;
            eventsSeen += n;
            countEvents(n, now);
            if (counter.terminal) recordMs(total, now - sentAt);
          },
          onResponseEnd() {
            if (status < 200 || status >= 300) return finish({ ok: false, status: String(status), events: 0, complete: false, stalled: false, startTimeout: false });
            const complete = counter.terminal;
            finish({ ok: complete, status: complete ? String(status) : 'incomplete', events: eventsSeen, complete, stalled: false, startTimeout: false });
          },
          onResponseError(_c, err) {
            failed((err as { code?: string }).code ?? 'error');
          },
        },
      );
    });

  const rampMs = opts.rampMs ?? 0;
  const results: Array<Promise<OneStream>> = [];
  for (let i = 0; i < opts.streams; i++) {
    const due = start + (opts.streams > 1 ? (i * rampMs) / opts.streams : 0);
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    results.push(
      one().then((r) => {
        const now = performance.now();
        statusCounts[r.status] = (statusCounts[r.status] ?? 0) + 1;
        timeline.record(now, r.ok, now - start);
        opts.onProgress?.(++done / opts.streams);
        return r;
      }),
    );
  }
  const all = await Promise.all(results);
  loopDelay.disable();
  await pool.destroy();
  const durationMs = performance.now() - start;
  const ok = all.filter((r) => r.ok).length;
  return {
    durationMs,
    ok,
    errors: all.length - ok,
    statusCounts,
    latency: firstEvent,
    timeline: timeline.points(),
    stream: {
      streams: opts.streams,
      completed: all.filter((r) => r.complete).length,
      incomplete: all.filter((r) => !r.complete).length,
      stalls: all.filter((r) => r.stalled).length,
      startTimeouts: all.filter((r) => r.startTimeout).length,
      events,
      eventsPerSecond: events / (durationMs / 1000),
      ttfb,
      firstEvent,
      firstContent,
      gap,
      total,
      eventsTimeline,
      loopDelay: { p50: lateMs(loopDelay.percentile(50)), p99: lateMs(loopDelay.percentile(99)), max: lateMs(loopDelay.max) },
    },
  };
}

/** The loop-delay monitor's timer interval: every millisecond, so no pause of the loop goes unseen. */
const LOOP_RESOLUTION_MS = 1;

/**
 * How late the monitor's timer ran, in ms: the histogram counts nanoseconds between firings, the
 * interval included (an idle loop reads 1.08 ms at a 1 ms resolution). 0.01 ms is finer than
 * anything it can tell apart.
 */
export function lateMs(ns: number): number {
  return Math.max(0, Math.round(ns / 1e4 - LOOP_RESOLUTION_MS * 100) / 100);
}
