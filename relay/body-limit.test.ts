/** A chunked upload (no content-length) over the body limit gets a 413 in the protocol's shape, not a reset. */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MockFleet } from '../mocks/index.js';
import { ask, CLIENT_KEY, claudeBody, startStack, type TestStack } from './testing.js';

const TOKEN = 'sk-ant-api03-body-limit-00000001';
let stack: TestStack;
beforeAll(async () => {
  stack = await startStack(
    { upstreams: [{ name: 'claude', kind: 'claude', tokens: [TOKEN] }, { name: 'openai', kind: 'openai', tokens: [TOKEN] }] },
    (m: MockFleet) => ({
      channels: [
        {
          name: 'main',
          endpoints: [
            { name: 'C', type: 'claude', base_url: m.get('claude').url, token: TOKEN },
            { name: 'O', type: 'openai', base_url: m.get('openai').url, token: TOKEN },
          ],
        },
      ],
    }),
    { limits: { maxBodyBytes: 2048 } },
  );
});
afterAll(() => stack.close());

/** POSTs `pieces` chunks of `size` bytes with Transfer-Encoding: chunked; resolves with the answer. */
function chunkedUpload(path: string, headers: Record<string, string>, pieces: number, size: number) {
  const url = new URL(stack.relay.url);
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method: 'POST', path, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.write('{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"');
    let i = 0;
    const next = () => {
      if (i++ >= pieces) return req.end('"}]}');
      req.write('x'.repeat(size), next);
    };
    next();
  });
}

describe('body limit on chunked uploads', () => {
  it('answers 413 in the Anthropic and OpenAI shapes, asks no upstream, and keeps serving', async () => {
    const a = await chunkedUpload('/v1/messages', { 'x-api-key': CLIENT_KEY }, 64, 1024);
    expect(a.status).toBe(413);
    expect(JSON.parse(a.body)).toMatchObject({ type: 'error', error: { type: 'request_too_large', message: expect.stringContaining('2048') } });
    const o = await chunkedUpload('/v1/chat/completions', { authorization: `Bearer ${CLIENT_KEY}` }, 64, 1024);
    expect(o.status).toBe(413);
    expect(JSON.parse(o.body).error.message).toContain('2048');
    expect(await stack.mocks.control.journal()).toHaveLength(0);
    expect((await ask(stack.relay, '/v1/messages', claudeBody())).status).toBe(200);
  });
});
