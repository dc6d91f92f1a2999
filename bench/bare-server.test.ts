/**
 * The bare server is the floor the mock is measured against, so it must answer what the bench
 * sends: the fixed JSON body for non-stream requests, and for stream requests complete SSE streams
 * with the mock's event count, on the mock's schedule, caught up the way the mock catches up.
 */
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBareServer, streamTokens, type BarePacing } from './bare-server.js';
import type { BenchConfig } from './config.js';
import { summarize } from './histogram.js';
import { buildRequest, TERMINAL_MARKERS } from './requests.js';
import { barePacing } from './stack.js';
import { runStreamLoad } from './stream-client.js';

const servers: Server[] = [];
async function bare(pacing: BarePacing): Promise<string> {
  const { server, url } = await startBareServer(0, '127.0.0.1', pacing);
  servers.push(server);
  return url;
}
let url: string;

beforeAll(async () => {
  url = await bare({ ttft: 20, chunkDelay: 20, tokens: 10 });
});
afterAll(() => Promise.all(servers.map((s) => new Promise<void>((done) => s.close(() => done())))));

const stats = async (origin: string) => (await (await fetch(origin + '/__mock/stats')).json()) as { pacedWrites: number; streamsStarted: number; activeStreams: number };

describe('bare server', () => {
  it('answers a non-stream request with its fixed JSON body', async () => {
    const spec = buildRequest('chat', { credential: 'x' });
    const res = await fetch(url + spec.path, { method: 'POST', headers: spec.headers, body: spec.body });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(((await res.json()) as { object: string }).object).toBe('chat.completion');
  });

  it("streams as many chat events as the mock: role chunk, one per token, finish, usage, [DONE]", async () => {
    await fetch(url + '/__mock/stats', { method: 'DELETE' });
    const r = await runStreamLoad({ origin: url, request: buildRequest('chat-stream', { credential: 'x', maxTokens: 64 }), streams: 10, terminalMarkers: TERMINAL_MARKERS['openai-chat'], contentProtocol: 'openai-chat' });
    expect(r.stream).toMatchObject({ completed: 10, incomplete: 0, stalls: 0, events: 10 * (1 + 10 + 3) });
    const gap = summarize(r.stream.gap);
    // Paced, not sent at once: no earlier than the schedule. Above it by no more than the server's
    // own lateness and this thread's (server and client share it), which a loaded machine stretches.
    const late = ((await stats(url)) as unknown as { latenessMs: { p99: number } }).latenessMs.p99;
    expect(gap.p50).toBeGreaterThan(15);
    expect(gap.p50).toBeLessThan(40 + late + r.stream.loopDelay.p99);
  });

  it('sends the closing events with the last content event, not a chunk delay later', async () => {
    const slow = await bare({ ttft: 0, chunkDelay: 300, tokens: 2 });
    const r = await runStreamLoad({ origin: slow, request: buildRequest('chat-stream', { credential: 'x', maxTokens: 64 }), streams: 2, terminalMarkers: TERMINAL_MARKERS['openai-chat'], contentProtocol: 'openai-chat' });
    expect(r.stream.completed).toBe(2);
    // The second token is due 300 ms in and [DONE] leaves with it.
    expect(summarize(r.stream.total).min).toBeGreaterThanOrEqual(295);
    // With it, in the same write (one read here), whatever the machine's load: a tail paced on its
    // own would come 300 ms after the last content event, in a read of its own.
    const spec = buildRequest('chat-stream', { credential: 'x', maxTokens: 64 });
    const res = await fetch(slow + spec.path, { method: 'POST', headers: spec.headers, body: spec.body });
    const reads: string[] = [];
    const decoder = new TextDecoder();
    for await (const chunk of res.body!) reads.push(decoder.decode(chunk as Uint8Array, { stream: true }));
    const last = [...reads].reverse().find((t) => t.includes('"content":" word"'))!;
    expect(last).toContain('data: [DONE]');
    expect(last).toContain('"finish_reason":"stop"');
  });

  it('emits no more content events than max_tokens asks for, and ends whatever max_tokens says', async () => {
    const r = await runStreamLoad({ origin: url, request: buildRequest('chat-stream', { credential: 'x', maxTokens: 3 }), streams: 2, terminalMarkers: TERMINAL_MARKERS['openai-chat'], contentProtocol: 'openai-chat' });
    expect(r.stream).toMatchObject({ completed: 2, events: 2 * (1 + 3 + 3) });
    const body = (max: unknown) => Buffer.from(JSON.stringify({ stream: true, max_tokens: max }));
    expect(streamTokens(body(2.5), 10)).toBe(2);
    expect(streamTokens(body(-1), 10)).toBe(10);
    expect(streamTokens(body(0), 10)).toBe(0);
    expect(streamTokens(Buffer.from('{"stream":true'), 10)).toBe(10);
    const none = await runStreamLoad({ origin: url, request: buildRequest('chat-stream', { credential: 'x', maxTokens: 0 }), streams: 1, terminalMarkers: TERMINAL_MARKERS['openai-chat'], contentProtocol: 'openai-chat' });
    expect(none.stream).toMatchObject({ completed: 1, events: 1 + 3 });
  });

  it('catches up like the mock: events overdue when the timer fires leave in one write, one timed write counted', async () => {
    const origin = await bare({ ttft: 0, chunkDelay: 20, tokens: 10 });
    const spec = buildRequest('chat-stream', { credential: 'x', maxTokens: 64 });
    const res = await fetch(origin + spec.path, { method: 'POST', headers: spec.headers, body: spec.body });
    const reader = res.body!.getReader();
    let text = '';
    const decoder = new TextDecoder();
    // Wait for the first content event, then hold this thread (the server's too) for 110 ms.
    while ((text.match(/"content":" word"/g) ?? []).length < 1) text += decoder.decode((await reader.read()).value);
    const until = performance.now() + 110;
    while (performance.now() < until);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    expect((text.match(/"content":" word"/g) ?? []).length).toBe(10);
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    const s = await stats(origin);
    expect(s.streamsStarted).toBe(1);
    // Ten events, of which at least five were overdue together after the pause.
    expect(s.pacedWrites).toBeLessThanOrEqual(6);
    expect(s.pacedWrites).toBeGreaterThanOrEqual(2);
  });

  it('reports its streams and timed writes like the mock, and resets on DELETE', async () => {
    await fetch(url + '/__mock/stats', { method: 'DELETE' });
    await runStreamLoad({ origin: url, request: buildRequest('chat-stream', { credential: 'x', maxTokens: 4 }), streams: 3, terminalMarkers: TERMINAL_MARKERS['openai-chat'], contentProtocol: 'openai-chat' });
    const s = await stats(url);
    expect(s).toMatchObject({ streamsStarted: 3, activeStreams: 0 });
    expect(s.pacedWrites).toBeGreaterThanOrEqual(3);
    expect(s.pacedWrites).toBeLessThanOrEqual(3 * 4);
    await fetch(url + '/__mock/stats', { method: 'DELETE' });
    expect(await stats(url)).toMatchObject({ streamsStarted: 0, pacedWrites: 0 });
  });

  it('streams Anthropic events to message_stop on /v1/messages, as many as the mock', async () => {
    const r = await runStreamLoad({ origin: url, request: buildRequest('messages-stream', { credential: 'x', maxTokens: 64 }), streams: 3, terminalMarkers: TERMINAL_MARKERS.anthropic, contentProtocol: 'anthropic' });
    expect(r.stream).toMatchObject({ completed: 3, incomplete: 0, events: 3 * (3 + 10 + 3) });
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
