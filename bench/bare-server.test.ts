/**
 * The bare server is the floor the mock is measured against, so it must answer what the bench
 * sends: the fixed JSON body for non-stream requests, and for stream requests complete SSE streams
 * on the configured schedule that the streaming load client counts to their terminal event.
 */
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBareServer } from './bare-server.js';
import type { BenchConfig } from './config.js';
import { summarize } from './histogram.js';
import { buildRequest, TERMINAL_MARKERS } from './requests.js';
import { barePacing } from './stack.js';
import { runStreamLoad } from './stream-client.js';

let server: Server;
let url: string;

beforeAll(async () => {
  ({ server, url } = await startBareServer(0, '127.0.0.1', { ttft: 20, chunkDelay: 20, tokens: 10 }));
});
afterAll(() => new Promise<void>((done) => server.close(() => done())));

describe('bare server', () => {
  it('answers a non-stream request with its fixed JSON body', async () => {
    const spec = buildRequest('chat', { credential: 'x' });
    const res = await fetch(url + spec.path, { method: 'POST', headers: spec.headers, body: spec.body });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(((await res.json()) as { object: string }).object).toBe('chat.completion');
  });

  it('streams chat chunks on the schedule: role chunk, one chunk per token every chunk delay, finish, [DONE]', async () => {
    const r = await runStreamLoad({ origin: url, request: buildRequest('chat-stream', { credential: 'x', maxTokens: 64 }), streams: 10, terminalMarkers: TERMINAL_MARKERS['openai-chat'] });
    expect(r.stream).toMatchObject({ completed: 10, incomplete: 0, stalls: 0, events: 10 * (1 + 10 + 2) });
    const gap = summarize(r.stream.gap);
    expect(gap.p50).toBeGreaterThan(15);
    expect(gap.p50).toBeLessThan(40);
    // Ten tokens: the first after 20 ms, the last 9 x 20 ms later.
    expect(summarize(r.stream.total).p50).toBeGreaterThanOrEqual(195);
  });

  it('emits no more content events than max_tokens asks for', async () => {
    const r = await runStreamLoad({ origin: url, request: buildRequest('chat-stream', { credential: 'x', maxTokens: 3 }), streams: 2, terminalMarkers: TERMINAL_MARKERS['openai-chat'] });
    expect(r.stream).toMatchObject({ completed: 2, events: 2 * (1 + 3 + 2) });
  });

  it('reports how late its paced writes left, like the mock, and resets on DELETE', async () => {
    await fetch(url + '/__mock/stats', { method: 'DELETE' });
    await runStreamLoad({ origin: url, request: buildRequest('chat-stream', { credential: 'x', maxTokens: 4 }), streams: 3, terminalMarkers: TERMINAL_MARKERS['openai-chat'] });
    const stats = (await (await fetch(url + '/__mock/stats')).json()) as { pacedWrites: number; latenessMs: { p99: number } };
    expect(stats.pacedWrites).toBe(3 * 4);
    expect(stats.latenessMs.p99).toBeGreaterThanOrEqual(0);
    await fetch(url + '/__mock/stats', { method: 'DELETE' });
    expect(((await (await fetch(url + '/__mock/stats')).json()) as { pacedWrites: number }).pacedWrites).toBe(0);
  });

  it('streams Anthropic events to message_stop on /v1/messages', async () => {
    const r = await runStreamLoad({ origin: url, request: buildRequest('messages-stream', { credential: 'x', maxTokens: 64 }), streams: 3, terminalMarkers: TERMINAL_MARKERS.anthropic });
    expect(r.stream).toMatchObject({ completed: 3, incomplete: 0, events: 3 * (2 + 10 + 3) });
  });
});

describe('barePacing', () => {
  const config = (upstreams: unknown[]) => ({ upstreams }) as unknown as BenchConfig;

  it('takes the schedule and token count of the first chat or messages upstream', () => {
    const pacing = barePacing(
      config([
        { name: 'pass', kind: 'custom-pass' },
        { name: 'openai', kind: 'openai', output: { tokens: 40 }, stream: { ttft: '50ms', chunk_delay: '50ms' } },
        { name: 'claude', kind: 'claude', output: { tokens: 8 }, stream: { ttft: '5ms', chunk_delay: '5ms' } },
      ]),
    );
    expect(pacing).toEqual({ ttft: 50, chunkDelay: 50, tokens: 40 });
  });

  it('turns tokens per second into a chunk delay and fills in the mock defaults', () => {
    expect(barePacing(config([{ name: 'c', kind: 'claude', stream: { tokens_per_second: 40 } }]))).toEqual({ ttft: 0, chunkDelay: 25, tokens: 16 });
  });
});
