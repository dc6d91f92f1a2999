/**
 * The ceiling: a minimal node:http server that does the least an upstream can do.
 * - Non-stream requests get one fixed JSON body.
 * - Stream requests (`"stream":true`) get fixed SSE events, as many and about as large as the
 *   mock's, on the mock's schedule (first content event after `ttft`, one more every `chunkDelay`,
 *   `tokens` of them, the closing events with the last one), paced by the mock's own shared timer
 *   and caught up the way the mock catches up: the floor for "keep the schedule" on this machine.
 *   Like the mock it measures how late its timed writes left (`GET` / `DELETE /__mock/stats`).
 * Benchmarks measure mocks and relays against it in the same run, on the same cores, so the
 * figures read as ratios (or differences) that survive a noisy machine.
 *
 *   tsx bench/bare-server.ts [--port n] [--ttft ms] [--chunk-delay ms] [--tokens n]
 *   prints "bare listening http://127.0.0.1:<port>"
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { SystemClock } from '../lib/clock.js';
import { isMain } from '../lib/main.js';
import { Pacer } from '../mocks/pacer.js';
import { ScheduleStats } from '../mocks/stats.js';
import { encodeSseAll } from '../protocols/sse.js';

const BODY = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-bare',
    object: 'chat.completion',
    created: 0,
    model: 'bare',
    choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the bare server.' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 8, completion_tokens: 6, total_tokens: 14 },
  }),
);

export interface BarePacing {
  /** ms from the headers to the first content event. */
  ttft: number;
  /** ms between content events. */
  chunkDelay: number;
  /** Content events per stream (fewer when the request's max_tokens is lower). */
  tokens: number;
}

/** A stream's fixed bytes: what goes with the headers, one content event, what ends it. */
interface StreamShape {
  head: Buffer;
  content: Buffer;
  tail: Buffer;
}

const sse = (events: Array<[event: string | undefined, data: unknown]>): Buffer =>
  Buffer.from(encodeSseAll(events.map(([event, d]) => ({ event, data: typeof d === 'string' ? d : JSON.stringify(d) }))));

/** Chat Completions chunks, the mock's sequence for a request with include_usage, ending with `data: [DONE]`. */
const chatChunk = (choices: unknown[], usage: unknown = null) => ({
  id: 'chatcmpl-bare',
  object: 'chat.completion.chunk',
  created: 0,
  model: 'bare',
  service_tier: 'default',
  system_fingerprint: 'fp_bare',
  choices,
  usage,
});
const CHAT: StreamShape = {
  head: sse([[undefined, chatChunk([{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }])]]),
  content: sse([[undefined, chatChunk([{ index: 0, delta: { content: ' word' }, logprobs: null, finish_reason: null }])]]),
  tail: sse([
    [undefined, chatChunk([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }])],
    [undefined, chatChunk([], { prompt_tokens: 8, completion_tokens: 40, total_tokens: 48 })],
    [undefined, '[DONE]'],
  ]),
};

/** Anthropic Messages events, the mock's sequence, ending with `event: message_stop`. */
const MESSAGES: StreamShape = {
  head: sse([
    ['message_start', { type: 'message_start', message: { id: 'msg_bare', type: 'message', role: 'assistant', model: 'bare', content: [], usage: { input_tokens: 8, output_tokens: 1 } } }],
    ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
    ['ping', { type: 'ping' }],
  ]),
  content: sse([['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ' word' } }]]),
  tail: sse([
    ['content_block_stop', { type: 'content_block_stop', index: 0 }],
    ['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 40 } }],
    ['message_stop', { type: 'message_stop' }],
  ]),
};

const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };

/**
 * The bench's requests are compact JSON (JSON.stringify), so a stream request carries these exact
 * bytes. Looking for them keeps the non-stream answer as cheap as before streams existed here: the
 * body is parsed only when they are present.
 */
const STREAM_MARK = Buffer.from('"stream":true');

/** Content events for a stream request: max_tokens caps them as in the mock (a negative or absent one does not). */
export function streamTokens(body: Buffer, configured: number): number {
  let max = Number.POSITIVE_INFINITY;
  try {
    const v = (JSON.parse(body.toString('utf8')) as { max_tokens?: unknown }).max_tokens;
    if (typeof v === 'number' && v >= 0) max = v;
  } catch {
    // Unreadable: no limit.
  }
  return Math.max(0, Math.floor(Math.min(configured, max)));
}

/** The one timer and clock all streams share, and the record of how late their writes left. */
interface Scheduler {
  pacing: BarePacing;
  pacer: Pacer;
  clock: SystemClock;
  stats: ScheduleStats;
}

/**
 * Writes one paced stream: content event k (from 0) is due at start + ttft + k * chunkDelay, and
 * the closing events leave with the last one. As in the mock, a timer that fires late sends every
 * event due by then in one write, and only the event it was set for counts as a timed write.
 */
function paceStream(res: ServerResponse, shape: StreamShape, tokens: number, sched: Scheduler): void {
  const { pacing, pacer, clock, stats } = sched;
  const start = clock.now();
  const dueAt = (k: number) => start + pacing.ttft + k * pacing.chunkDelay;
  stats.activeStreams++;
  stats.streamsStarted++;
  res.once('close', () => stats.activeStreams--);
  res.writeHead(200, SSE_HEADERS);
  if (tokens === 0) {
    res.end(Buffer.concat([shape.head, shape.tail]));
    return;
  }
  res.write(shape.head);
  let sent = 0;
  const next = (): void => {
    if (res.destroyed) return;
    const now = clock.now();
    stats.record(now - dueAt(sent));
    let due = 1;
    while (sent + due < tokens && dueAt(sent + due) <= now) due++;
    sent += due;
    const events = due === 1 ? shape.content : Buffer.concat(new Array<Buffer>(due).fill(shape.content));
    if (sent === tokens) {
      res.end(Buffer.concat([events, shape.tail]));
      return;
    }
    res.write(events);
    pacer.at(dueAt(sent), next);
  };
  pacer.at(dueAt(0), next);
}

export function startBareServer(port = 0, host = '127.0.0.1', pacing: BarePacing = { ttft: 0, chunkDelay: 0, tokens: 16 }): Promise<{ server: Server; url: string }> {
  const clock = new SystemClock();
  const sched: Scheduler = { pacing, pacer: new Pacer(clock), clock, stats: new ScheduleStats() };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/__mock/stats') return answerStats(req, res, sched.stats);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      if (body.includes(STREAM_MARK)) {
        paceStream(res, req.url?.startsWith('/v1/messages') ? MESSAGES : CHAT, streamTokens(body, pacing.tokens), sched);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': BODY.length });
      res.end(BODY);
    });
  });
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const addr = server.address();
      const actual = typeof addr === 'object' && addr ? addr.port : port;
      resolve({ server, url: `http://${host}:${actual}` });
    });
  });
}

/** The mock's stats route, so a benchmark reads the bare server's lateness the same way. */
function answerStats(req: IncomingMessage, res: ServerResponse, stats: ScheduleStats): void {
  req.resume();
  if (req.method === 'DELETE') stats.reset();
  else if (req.method !== 'GET') {
    res.writeHead(405, { allow: 'GET, DELETE' }).end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats.snapshot()));
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({ options: { port: { type: 'string' }, ttft: { type: 'string' }, 'chunk-delay': { type: 'string' }, tokens: { type: 'string' } } });
  const port = Number(values.port ?? process.env.PORT ?? 0);
  const pacing: BarePacing = { ttft: Number(values.ttft ?? 0), chunkDelay: Number(values['chunk-delay'] ?? 0), tokens: Number(values.tokens ?? 16) };
  const { url, server } = await startBareServer(port, '127.0.0.1', pacing);
  process.stdout.write(`bare listening ${url}\n`);
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
