/**
 * The bare proxy is the ceiling every relay figure is divided by, so it must do the work a relay
 * cannot skip (parse the body, swap the credential, forward, pipe back, pass SSE through as it
 * arrives) and share no code with what it is compared against.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBareProxy } from './bare-proxy.js';

let upstream: Server;
let upstreamUrl: string;
let seen: Array<{ url: string; headers: IncomingHttpHeaders; body: string }> = [];
let proxy: Awaited<ReturnType<typeof startBareProxy>>;
let markFirstEventRead: () => void = () => {};
const firstEventRead = new Promise<void>((ok) => (markFirstEventRead = ok));

beforeAll(async () => {
  upstream = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      seen.push({ url: req.url!, headers: req.headers, body });
      if (body.includes('"stream":true')) {
        // The rest is sent only once the client has read the first event: a proxy that buffers
        // the stream never delivers the first one and the test times out (no clock involved, so
        // a loaded machine cannot fail it).
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: {"n":1}\n\n');
        void firstEventRead.then(() => res.end('data: {"n":2}\n\ndata: [DONE]\n\n'));
        return;
      }
      res.writeHead(201, { 'content-type': 'application/json', 'x-upstream': 'yes' });
      res.end(JSON.stringify({ ok: true }));
    });
  });
  await new Promise<void>((ok) => upstream.listen(0, '127.0.0.1', () => ok()));
  const addr = upstream.address();
  upstreamUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  proxy = await startBareProxy({ openai: { origin: upstreamUrl, token: 'sk-upstream-openai' }, claude: { origin: upstreamUrl, token: 'sk-upstream-claude' } });
});
afterAll(async () => {
  await proxy.close();
  await new Promise<void>((ok) => upstream.close(() => ok()));
});

describe('bare undici proxy', () => {
  it("forwards the parsed body with the upstream's credential in place of the client's, and the answer back", async () => {
    seen = [];
    const res = await fetch(`${proxy.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer rk-client' },
      body: JSON.stringify({ model: 'm', messages: [] }),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-upstream')).toBe('yes');
    expect(await res.json()).toEqual({ ok: true });
    expect(seen[0].url).toBe('/v1/chat/completions');
    expect(seen[0].headers.authorization).toBe('Bearer sk-upstream-openai');
    expect(JSON.parse(seen[0].body)).toEqual({ model: 'm', messages: [] });
  });

  it('sends /v1/messages with the claude token as x-api-key and keeps anthropic-version', async () => {
    seen = [];
    await (await fetch(`${proxy.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': 'rk-client', 'anthropic-version': '2023-06-01' }, body: '{"max_tokens":1}' })).text();
    expect(seen[0].headers['x-api-key']).toBe('sk-upstream-claude');
    expect(seen[0].headers['anthropic-version']).toBe('2023-06-01');
    expect(seen[0].headers.authorization).toBeUndefined();
  });

  it('passes an SSE stream through event by event', async () => {
    const res = await fetch(`${proxy.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer x' }, body: '{"stream":true}' });
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    markFirstEventRead();
    let rest = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    expect(first).toBe('data: {"n":1}\n\n');
    expect(rest).toBe('data: {"n":2}\n\ndata: [DONE]\n\n');
  });

  it('answers a body that is not JSON with 400, without calling the upstream', async () => {
    seen = [];
    const res = await fetch(`${proxy.url}/v1/chat/completions`, { method: 'POST', body: '{nope' });
    expect(res.status).toBe(400);
    expect(seen).toEqual([]);
  });
});

describe('the ceilings are independent', () => {
  /** Every module a file imports (static and dynamic), as written. */
  const importsOf = (file: string): string[] => {
    const text = readFileSync(join(import.meta.dirname, file), 'utf8');
    return [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm)].map((m) => m[1] ?? m[2] ?? m[3]);
  };

  it.each(['bare-server.ts', 'bare-proxy.ts'])('%s imports only node built-ins and undici', (file) => {
    const imports = importsOf(file);
    expect(imports.length).toBeGreaterThan(0);
    for (const spec of imports) expect(spec, `${file} imports ${spec}`).toMatch(/^(node:[a-z_/]+|undici)$/);
  });

  it('the import check sees a relative import when there is one', () => {
    expect(importsOf('stack.ts').some((s) => s.startsWith('../mocks/'))).toBe(true);
  });
});
