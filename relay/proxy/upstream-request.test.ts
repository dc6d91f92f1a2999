import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttemptSignal } from './attempt-signal.js';
import { requestUpstream } from './upstream-request.js';

let server: Server;
let pool: Pool;
const sockets = new Set<import('node:net').Socket>();

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    if (req.url === '/json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    } else if (req.url === '/big-error') {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.write(Buffer.alloc(3000, 'a'));
      res.write(Buffer.alloc(3000, 'b'));
      // Never ends: the client must stop reading at its limit and close the connection.
    } else if (req.url === '/stream') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let n = 0;
      const timer = setInterval(() => {
        res.write(`data: ${n}\n\n`);
        if (++n === 5) {
          clearInterval(timer);
          res.end();
        }
      }, 5);
    } else if (req.url === '/hang-head') {
      // Answers nothing.
    } else if (req.url === '/hang-body') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"partial":');
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { headersTimeout: 0, bodyTimeout: 0 });
});

afterAll(async () => {
  await pool.destroy();
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => server.close(resolve));
});

const post = (path: string, signal = new AttemptSignal(), limit = 1 << 20) =>
  requestUpstream(pool, { method: 'POST', path, headers: { 'content-type': 'application/json' }, body: '{}' }, signal, limit);

describe('requestUpstream', () => {
  it('collects a JSON answer into one Buffer', async () => {
    const r = await post('/json');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.stream).toBeUndefined();
    expect((await r.body!).toString()).toBe('{"ok":true}');
  });

  it('cuts an error body at its limit and closes that connection', async () => {
    const r = await post('/big-error', new AttemptSignal(), 4000);
    expect(r.statusCode).toBe(500);
    const body = await r.body!;
    expect(body.length).toBe(4000);
    expect(body.subarray(2999, 3001).toString()).toBe('ab');
  });

  it('hands an event stream to its reader chunk by chunk, including what came before the reader', async () => {
    const r = await post('/stream');
    expect(r.body).toBeUndefined();
    // Attach late: chunks that arrived meanwhile are replayed in order.
    await new Promise((resolve) => setTimeout(resolve, 30));
    const text = await new Promise<string>((resolve, reject) => {
      let out = '';
      r.stream!.read({ data: (c) => (out += c.toString()), end: () => resolve(out), error: reject });
    });
    expect(text).toBe('data: 0\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\n');
  });

  it('pauses the upstream while its reader is behind, and fails the stream with the signal\'s reason', async () => {
    const signal = new AttemptSignal();
    const r = await post('/stream', signal);
    const seen: string[] = [];
    const failed = new Promise<Error>((resolve) => {
      r.stream!.read({
        data: (c) => {
          seen.push(c.toString());
          r.stream!.pause();
        },
        end: () => resolve(new Error('ended')),
        error: resolve,
      });
    });
    await new Promise((resolve) => setTimeout(resolve, 60));
    // Paused after the first chunk (one more may already have been read): the five chunks
    // written 5 ms apart did not all arrive, and none came after the end.
    expect(seen.length).toBeLessThanOrEqual(2);
    expect(seen.join('')).not.toContain('data: 4');
    signal.abort(new Error('client disconnected'));
    expect((await failed).message).toBe('client disconnected');
  });

  it('fails with the signal\'s reason when aborted before the head', async () => {
    const signal = new AttemptSignal();
    const pending = post('/hang-head', signal);
    setTimeout(() => signal.abort(new Error('upstream timeout')), 20);
    await expect(pending).rejects.toThrow('upstream timeout');
  });

  it('fails the body with the signal\'s reason when aborted after the head', async () => {
    const signal = new AttemptSignal();
    const r = await post('/hang-body', signal);
    setTimeout(() => signal.abort(new Error('client disconnected')), 20);
    await expect(r.body!).rejects.toThrow('client disconnected');
  });

  it('fails at once on a signal aborted before sending', async () => {
    const signal = new AttemptSignal();
    signal.abort(new Error('client disconnected'));
    await expect(post('/json', signal)).rejects.toThrow('client disconnected');
  });
});
