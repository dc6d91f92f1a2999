/**
 * The independent fake upstream and stream floor: the least a `node:http` server can do to answer
 * what the benchmark sends, written with node built-ins only (nothing from mocks/, relay/,
 * protocols/ or lib/), so a benchmark that measures the mock or a relay against it compares them
 * with something they share no code with.
 * - Non-stream requests get one fixed JSON body (a Chat Completions answer with usage).
 * - Stream requests (`"stream":true`) get fixed SSE events, as many and about as large as the
 *   mock's, on the mock's schedule (first content event after `ttft`, one more every `chunkDelay`,
 *   `tokens` of them, the closing events with the last one), each stream paced by its own node
 *   timer. A timer that fires late sends every event due by then in one write and counts one
 *   timed write, as the mock does; how late timed writes left is answered on the mock's stats
 *   route (`GET` / `DELETE /__mock/stats`), so a benchmark reads both the same way.
 *
 *   tsx bench/bare-server.ts [--port n] [--ttft ms] [--chunk-delay ms] [--tokens n]
 *   prints "bare listening http://127.0.0.1:<port>"
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

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

/** SSE framing by hand: `event:` when named, one `data:` line, a blank line. */
const sse = (events: Array<[event: string | undefined, data: unknown]>): Buffer =>
  Buffer.from(events.map(([event, d]) => `${event ? `event: ${event}\n` : ''}data: ${typeof d === 'string' ? d : JSON.stringify(d)}\n\n`).join(''));

/** Chat Completions chunks as the mock sends them for a request with include_usage, ending with `data: [DONE]`. */
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

/** Anthropic Messages events in the API's order, ending with `event: message_stop`. */
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
 * bytes. Looking for them keeps the non-stream answer as cheap as a fixed body can be: the body is
 * parsed only when they are present.
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

/** How late timed writes left (ms), in a fixed ring: recording one costs one store. */
export class Lateness {
  private static readonly SIZE = 1 << 17;
  private readonly values = new Float64Array(Lateness.SIZE);
  private count = 0;
  activeStreams = 0;
  streamsStarted = 0;

  record(lateMs: number): void {
    this.values[this.count % Lateness.SIZE] = lateMs;
    this.count++;
  }

  reset(): void {
    this.count = 0;
    this.streamsStarted = 0;
  }

  /** The mock's stats shape: what `GET /__mock/stats` answers there. */
  snapshot(): { activeStreams: number; streamsStarted: number; pacedWrites: number; latenessMs: { p50: number; p99: number; max: number } } {
    const n = Math.min(this.count, Lateness.SIZE);
    const sorted = this.values.slice(0, n).sort();
    const round = (x: number) => Math.round(x * 100) / 100;
    const q = (p: number) => (n === 0 ? 0 : round(sorted[Math.min(n - 1, Math.floor(n * p))]));
    return {
      activeStreams: this.activeStreams,
      streamsStarted: this.streamsStarted,
      pacedWrites: this.count,
      latenessMs: { p50: q(0.5), p99: q(0.99), max: n === 0 ? 0 : round(sorted[n - 1]) },
    };
  }
}

/**
 * Writes one paced stream: content event k (from 0) is due at start + ttft + k * chunkDelay, and
 * the closing events leave with the last one. Each stream waits on its own `setTimeout`.
 */
function paceStream(res: ServerResponse, shape: StreamShape, tokens: number, pacing: BarePacing, stats: Lateness): void {
  const start = performance.now();
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
  const wait = (k: number) => setTimeout(next, Math.max(0, dueAt(k) - performance.now()));
  const next = (): void => {
    if (res.destroyed) return;
    const now = performance.now();
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
    wait(sent);
  };
  wait(0);
}

export function startBareServer(port = 0, host = '127.0.0.1', pacing: BarePacing = { ttft: 0, chunkDelay: 0, tokens: 16 }): Promise<{ server: Server; url: string }> {
  const stats = new Lateness();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/__mock/stats') return answerStats(req, res, stats);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      if (body.includes(STREAM_MARK)) {
        paceStream(res, req.url?.startsWith('/v1/messages') ? MESSAGES : CHAT, streamTokens(body, pacing.tokens), pacing, stats);
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

function answerStats(req: IncomingMessage, res: ServerResponse, stats: Lateness): void {
  req.resume();
  if (req.method === 'DELETE') stats.reset();
  else if (req.method !== 'GET') {
    res.writeHead(405, { allow: 'GET, DELETE' }).end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats.snapshot()));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const { values } = parseArgs({ options: { port: { type: 'string' }, ttft: { type: 'string' }, 'chunk-delay': { type: 'string' }, tokens: { type: 'string' } } });
  const port = Number(values.port ?? process.env.PORT ?? 0);
  const pacing: BarePacing = { ttft: Number(values.ttft ?? 0), chunkDelay: Number(values['chunk-delay'] ?? 0), tokens: Number(values.tokens ?? 16) };
  const { url, server } = await startBareServer(port, '127.0.0.1', pacing);
  process.stdout.write(`bare listening ${url}\n`);
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
