/**
 * The streaming load client against a real mock upstream: what it counts must match what the
 * mock journaled it sent, and stalls, cuts and error statuses must land in their own columns.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startMocks, type MockFleet } from '../mocks/index.js';
import { startBareServer } from './bare-server.js';
import { summarize } from './histogram.js';
import { buildRequest, TERMINAL_MARKERS } from './requests.js';
import { lateMs, runStreamLoad } from './stream-client.js';
import { StreamLoadWorker } from './stream-worker.js';

const OPENAI_KEY = 'sk-bench-openai-test-0001';
const CLAUDE_KEY = 'sk-ant-api03-bench-test-0001';
let fleet: MockFleet;

beforeAll(async () => {
  fleet = await startMocks({
    upstreams: [
      { name: 'openai', kind: 'openai', tokens: [OPENAI_KEY], output: { tokens: 10 }, stream: { ttft: '20ms', chunk_delay: '20ms' } },
      { name: 'claude', kind: 'claude', tokens: [CLAUDE_KEY], output: { tokens: 10 }, stream: { ttft: '20ms', chunk_delay: '20ms' } },
    ],
  });
});
afterAll(() => fleet.close());
beforeEach(() => fleet.control.reset());

const chat = () => buildRequest('chat-stream', { credential: OPENAI_KEY, maxTokens: 64 });

describe('runStreamLoad', () => {
  it('counts every event the mock sent and times the paced gaps', async () => {
    const r = await runStreamLoad({ origin: fleet.get('openai').url, request: chat(), streams: 20, rampMs: 100, terminalMarkers: TERMINAL_MARKERS['openai-chat'], contentProtocol: 'openai-chat' });
    const journal = await fleet.control.journal({ upstream: 'openai' });
    expect(journal).toHaveLength(20);
    const sent = journal.reduce((n, e) => n + e.eventsSent, 0);
    expect(r.stream).toMatchObject({ streams: 20, completed: 20, incomplete: 0, stalls: 0, startTimeouts: 0, events: sent });
    expect(r.ok).toBe(20);
    expect(r.statusCounts).toEqual({ 200: 20 });
    const gap = summarize(r.stream.gap);
    // Ten content events 20 ms apart: the median gap is the programmed one, never shorter; a
    // loaded machine only makes the timers late (52 ms at load average 26 here), so the upper
    // bound says "paced, not batched into one late burst" rather than a fixed 2x.
    expect(gap.p50).toBeGreaterThan(15);
    expect(gap.p50).toBeLessThan(20 * 10);
    expect(summarize(r.stream.firstEvent).count).toBe(20);
    expect(summarize(r.stream.total).p50).toBeGreaterThanOrEqual(200);
  });

  it('times the first content apart from the first event: the start events go with the headers, the content after ttft', async () => {
    // The bare server sends the start events (a role chunk; message_start, content_block_start,
    // ping) with the headers and the first content 150 ms later: a client that timed the first
    // event would credit a relay that holds the start events with 150 ms it does not add.
    const { server, url } = await startBareServer(0, '127.0.0.1', { ttft: 150, chunkDelay: 10, tokens: 3 });
    try {
      for (const [name, protocol] of [['chat-stream', 'openai-chat'], ['messages-stream', 'anthropic']] as const) {
        const r = await runStreamLoad({ origin: url, request: buildRequest(name, { credential: 'x', maxTokens: 64 }), streams: 4, terminalMarkers: TERMINAL_MARKERS[protocol], contentProtocol: protocol });
        const first = summarize(r.stream.firstEvent);
        const content = summarize(r.stream.firstContent);
        expect(content.count, name).toBe(4);
        expect(content.min, name).toBeGreaterThanOrEqual(145);
        expect(first.max, name).toBeLessThan(content.min);
      }
    } finally {
      await new Promise<void>((done) => server.close(() => done()));
    }
  });

  it('recognises the Anthropic terminal event', async () => {
    const r = await runStreamLoad({
      origin: fleet.get('claude').url,
      request: buildRequest('messages-stream', { credential: CLAUDE_KEY, maxTokens: 64 }),
      streams: 5,
      terminalMarkers: TERMINAL_MARKERS.anthropic, contentProtocol: 'anthropic',
    });
    expect(r.stream).toMatchObject({ completed: 5, incomplete: 0 });
    const journal = await fleet.control.journal({ upstream: 'claude' });
    expect(r.stream.events).toBe(journal.reduce((n, e) => n + e.eventsSent, 0));
  });

  it('a stream cut before its terminal event is incomplete, not complete', async () => {
    await fleet.control.setRules('openai', [{ action: { cut: { after: 'mid_content', mode: 'fin' } } }]);
    const r = await runStreamLoad({ origin: fleet.get('openai').url, request: chat(), streams: 3, terminalMarkers: TERMINAL_MARKERS['openai-chat'], contentProtocol: 'openai-chat' });
    expect(r.stream).toMatchObject({ completed: 0, incomplete: 3, stalls: 0 });
    expect(r.ok).toBe(0);
  });

  it('a silent stream is a stall, a stream that never starts is a start timeout', async () => {
    await fleet.control.setRules('openai', [
      { match: { nth: 1 }, action: { stall: { after: 'first_content' } } },
      { match: { nth: 2 }, action: { hang: 'headers' } },
    ]);
    const r = await runStreamLoad({ origin: fleet.get('openai').url, request: chat(), streams: 3, rampMs: 50, stallMs: 300, terminalMarkers: TERMINAL_MARKERS['openai-chat'], contentProtocol: 'openai-chat' });
    expect(r.stream).toMatchObject({ completed: 1, incomplete: 2, stalls: 1, startTimeouts: 1 });
    expect(r.statusCounts).toMatchObject({ stalled: 1, 'no-first-event': 1, 200: 1 });
  });

  it('reports its own event-loop delay, so a pause of the client is not read as the target\'s', async () => {
    // Block this thread for 80 ms while the streams run: whatever the client was timing then (a
    // gap, or a first event on a slow machine) grew by the pause, and the loop delay it reports
    // beside them must show it.
    const block = setTimeout(() => {
      const until = performance.now() + 80;
      while (performance.now() < until);
    }, 60);
    const r = await runStreamLoad({ origin: fleet.get('openai').url, request: chat(), streams: 5, terminalMarkers: TERMINAL_MARKERS['openai-chat'], contentProtocol: 'openai-chat' });
    clearTimeout(block);
    expect(r.stream.loopDelay.max).toBeGreaterThanOrEqual(70);
    expect(Math.max(summarize(r.stream.gap).max, summarize(r.stream.firstEvent).max)).toBeGreaterThanOrEqual(70);
  });

  it('counts loop delay beyond the monitor\'s own 1 ms interval', () => {
    // The histogram holds nanoseconds between firings of a 1 ms timer.
    expect(lateMs(1_080_000)).toBeCloseTo(0.08, 5);
    expect(lateMs(900_000)).toBe(0);
    expect(lateMs(81_000_000)).toBe(80);
    // Rounded after the subtraction: no 7.630000000000001 in a log line.
    expect(lateMs(8_630_000)).toBe(7.63);
  });

  it('an error status is counted by its code', async () => {
    await fleet.control.setRules('openai', [{ action: { status: 429 } }]);
    const r = await runStreamLoad({ origin: fleet.get('openai').url, request: chat(), streams: 2, terminalMarkers: TERMINAL_MARKERS['openai-chat'], contentProtocol: 'openai-chat' });
    expect(r.statusCounts).toEqual({ 429: 2 });
    expect(r.stream.completed).toBe(0);
  });
});

describe('StreamLoadWorker', () => {
  let worker: StreamLoadWorker;
  beforeAll(() => {
    worker = new StreamLoadWorker();
  });
  afterAll(() => worker.close());

  it('gives the same figures from a worker thread: every event counted, histograms intact, progress to the end', async () => {
    const progress: number[] = [];
    const r = await worker.run({
      origin: fleet.get('openai').url,
      request: chat(),
      streams: 10,
      rampMs: 50,
      terminalMarkers: TERMINAL_MARKERS['openai-chat'], contentProtocol: 'openai-chat',
      onProgress: (f) => progress.push(f),
    });
    const journal = await fleet.control.journal({ upstream: 'openai' });
    expect(r.stream).toMatchObject({ streams: 10, completed: 10, incomplete: 0, stalls: 0, events: journal.reduce((n, e) => n + e.eventsSent, 0) });
    expect(summarize(r.stream.firstEvent).count).toBe(10);
    expect(summarize(r.latency).count).toBe(10);
    // The histograms cross the thread boundary with their values: gaps were recorded (at most one
    // per event after a stream's first), and a stream's total time is at least the mock's
    // schedule (ten content events 20 ms apart; the mock never sends early, while a loaded
    // machine can bunch the gaps, so the gaps themselves are not compared to the schedule).
    const gaps = summarize(r.stream.gap).count;
    expect(gaps).toBeGreaterThan(0);
    expect(gaps).toBeLessThanOrEqual(r.stream.events - 10);
    expect(summarize(r.stream.total).p50).toBeGreaterThanOrEqual(180);
    expect(progress.at(-1)).toBe(1);
  });

  it('reports a failure of the load itself as an error, not a hang, and takes the next load', async () => {
    await expect(worker.run({ origin: 'not a url', request: chat(), streams: 1, terminalMarkers: [], contentProtocol: 'openai-chat' })).rejects.toThrow(/stream load worker/);
    const r = await worker.run({ origin: fleet.get('openai').url, request: chat(), streams: 2, terminalMarkers: TERMINAL_MARKERS['openai-chat'], contentProtocol: 'openai-chat' });
    expect(r.stream.completed).toBe(2);
  });
});
