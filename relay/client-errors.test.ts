/**
 * Bad input and bad upstreams: each gets a clear error in the protocol's own shape, and the
 * relay keeps serving. Plus what real clients rely on: HEAD /, /v1/models, disconnects.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, ask, call, claudeBody, CLIENT_KEY, requestLog, startStack, type TestStack } from './testing.js';

const CLAUDE_TOKEN = 'sk-ant-api03-errors-0000000001';
const OPENAI_TOKEN = 'sk-proj-errors-0000000001';
let stack: TestStack;

beforeAll(async () => {
  stack = await startStack(
    {
      upstreams: [
        { name: 'claude', kind: 'claude', tokens: [CLAUDE_TOKEN], output: { tokens: 40 }, stream: { chunk_delay: '20ms' } },
        { name: 'openai', kind: 'openai', tokens: [OPENAI_TOKEN] },
      ],
    },
    (m) => ({
      retry: { first_byte_timeout: '300ms', upstream_timeout: '600ms' },
      // No cooldown after a timeout here, so one hanging answer does not take the only endpoint away from later tests.
      cooldowns: { timeout: 0 },
      channels: [
        {
          name: 'main',
          endpoints: [
            { name: 'C', type: 'claude', base_url: m.get('claude').url, token: CLAUDE_TOKEN, models: ['claude-sonnet-4-5'] },
            { name: 'O', type: 'openai', base_url: m.get('openai').url, token: OPENAI_TOKEN, models: ['gpt-4o'], model_map: { 'gpt-fast': 'gpt-4o-mini' } },
          ],
        },
      ],
      keys: [
        { key: CLIENT_KEY, name: 'tester' },
        { key: 'rk-limited-key-0001', name: 'limited', models: ['gpt-4o'] },
        { key: 'rk-rate-key-0001', name: 'rated', rate_limit: { requests: 2, per: '1h' } },
      ],
    }),
  );
});
afterAll(() => stack.close());

describe('clear errors in the protocol shape', () => {
  it('malformed JSON: 400 invalid_request_error (Anthropic) / OpenAI error object', async () => {
    const a = await ask(stack.relay, '/v1/messages', '{"model": "claude-sonnet-4-5", ');
    expect(a.status).toBe(400);
    expect(a.json).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    expect(a.json.error.message).toMatch(/not valid JSON/);
    const o = await ask(stack.relay, '/v1/chat/completions', 'not json');
    expect(o.status).toBe(400);
    expect(o.json.error).toMatchObject({ type: 'invalid_request_error' });
    const arr = await ask(stack.relay, '/v1/chat/completions', '[1,2]');
    expect(arr.status).toBe(400);
  });

  it('no model: the relay answers the protocol\'s own 400 and asks no upstream; unknown fields and roles still pass', async () => {
    await stack.mocks.control.resetJournal();
    const a = await ask(stack.relay, '/v1/messages', { max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    expect(a.status).toBe(400);
    expect(a.json).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: 'model: Field required' } });
    const o = await ask(stack.relay, '/v1/chat/completions', { model: null, messages: [{ role: 'user', content: 'hi' }] });
    expect(o.status).toBe(400);
    expect(o.json.error).toMatchObject({ type: 'invalid_request_error', message: 'you must provide a model parameter' });
    const r = await ask(stack.relay, '/v1/responses', { input: 'hi' });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ type: 'invalid_request_error', param: 'model' });
    expect(r.headers['x-request-id']).toBeTruthy();
    expect(await stack.mocks.control.journal()).toHaveLength(0);
    const quirky = await ask(stack.relay, '/v1/messages', claudeBody({ messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }], some_future_field: { on: true } }));
    expect(quirky.status).toBe(200);
  });

    it('unknown or missing key: 401 authentication error, nothing sent upstream', async () => {
    await stack.mocks.control.resetJournal();
    const bad = await call(stack.relay.url, 'POST', '/v1/messages', claudeBody(), { 'x-api-key': 'rk-nope-00000000' });
    expect(bad.status).toBe(401);
    expect(bad.json).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    const none = await call(stack.relay.url, 'POST', '/v1/chat/completions', { model: 'gpt-4o', messages: [] });
    expect(none.status).toBe(401);
    expect(none.json.error.message).toMatch(/missing API key/);
    expect(await stack.mocks.control.journal()).toHaveLength(0);
  });

  it('unknown model: 404 naming the model; a model the key may not use: 403', async () => {
    const res = await ask(stack.relay, '/v1/messages', claudeBody({ model: 'claude-unknown-9' }));
    expect(res.status).toBe(404);
    expect(res.json.error.type).toBe('not_found_error');
    expect(res.json.error.message).toContain('claude-unknown-9');
    const limited = await call(stack.relay.url, 'POST', '/v1/chat/completions', { model: 'gpt-fast', messages: [{ role: 'user', content: 'x' }] }, {
      authorization: 'Bearer rk-limited-key-0001',
    });
    expect(limited.status).toBe(403);
    expect(limited.json.error.code).toBe('model_not_allowed');
  });

  it('rate limit per key: 429 with retry-after', async () => {
    const body = { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] };
    const h = { authorization: 'Bearer rk-rate-key-0001' };
    expect((await call(stack.relay.url, 'POST', '/v1/chat/completions', body, h)).status).toBe(200);
    expect((await call(stack.relay.url, 'POST', '/v1/chat/completions', body, h)).status).toBe(200);
    const third = await call(stack.relay.url, 'POST', '/v1/chat/completions', body, h);
    expect(third.status).toBe(429);
    expect(Number(third.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('model mapping renames the model upstream and leaves the rest of the body alone', async () => {
    await stack.mocks.control.resetJournal();
    const res = await ask(stack.relay, '/v1/chat/completions', { model: 'gpt-fast', messages: [{ role: 'system', content: 's' }, { role: 'user', content: 'x' }], some_new_field: { a: 1 } });
    expect(res.status).toBe(200);
    const [entry] = await stack.mocks.control.journal();
    expect(entry.model).toBe('gpt-4o-mini');
    expect((entry.body as Record<string, unknown>).some_new_field).toEqual({ a: 1 });
  });

  it('a `type,model` prefix forces the endpoint type and is removed upstream', async () => {
    await stack.mocks.control.resetJournal();
    const res = await ask(stack.relay, '/v1/responses', { model: 'openai,gpt-4o', input: 'hello' });
    expect(res.status).toBe(200);
    const [entry] = await stack.mocks.control.journal();
    expect(entry.upstream).toBe('openai');
    expect(entry.path).toBe('/v1/responses');
    expect(entry.model).toBe('gpt-4o');
    const wrong = await ask(stack.relay, '/v1/messages', claudeBody({ model: 'openai,gpt-4o' }));
    expect(wrong.status).toBe(400);
  });

  it('an upstream that hangs: a timeout error in the protocol shape, and the relay keeps serving', async () => {
    await stack.mocks.control.addRule('claude', { match: { stream: true }, times: 1, action: { hang: 'headers' } });
    const started = Date.now();
    const res = await ask(stack.relay, '/v1/messages', claudeBody({ stream: true }));
    expect(res.status).toBe(504);
    expect(res.json).toMatchObject({ type: 'error' });
    expect(Date.now() - started).toBeLessThan(5000);
    await stack.mocks.control.addRule('claude', { match: { stream: false }, times: 1, action: { hang: 'body' } });
    const nonStream = await ask(stack.relay, '/v1/messages', claudeBody());
    expect(nonStream.status).toBe(504);
    expect((await ask(stack.relay, '/v1/messages', claudeBody())).status).toBe(200);
  });

  it('a slow non-stream answer is not cut by the first-byte timeout (only streams are)', async () => {
    await stack.mocks.control.addRule('claude', { match: { stream: false }, times: 1, action: { latency: '450ms' } });
    const slow = await ask(stack.relay, '/v1/messages', claudeBody());
    expect(slow.status).toBe(200);
    expect(slow.json.type).toBe('message');
  });

  it('odd bodies never crash the relay: each gets an answer below 500', async () => {
    const odd: unknown[] = [
      'null',
      '"just a string"',
      '{}',
      { model: 42, messages: 'not a list' },
      { model: 'claude-sonnet-4-5', max_tokens: 'many', messages: [{ role: 'system', content: 'inside messages' }, { role: 'user', content: [{ type: 'new_tool_type', x: 1 }] }] },
      { model: 'claude-sonnet-4-5', max_tokens: 10, stream: 'yes', messages: [{ role: 'user', content: 'x' }] },
      { model: null, messages: [] },
      Buffer.from([0xff, 0xfe, 0x7b]).toString('latin1'),
    ];
    for (const body of odd) {
      const res = await ask(stack.relay, '/v1/messages', body);
      expect(res.status, JSON.stringify(body)).toBeLessThan(500);
      expect(res.json?.type, JSON.stringify(body)).toBe('error');
    }
    expect((await ask(stack.relay, '/v1/messages', claudeBody())).status).toBe(200);
  });

  it('unknown path: 404 in a JSON error shape', async () => {
    const res = await ask(stack.relay, '/v1/nothing-here', {});
    expect(res.status).toBe(404);
    expect(res.json.error).toBeDefined();
  });
});

describe('what real clients rely on', () => {
  it('HEAD / answers at once without auth', async () => {
    const res = await request(stack.relay.url + '/', { method: 'HEAD' });
    await res.body.dump();
    expect(res.statusCode).toBe(200);
  });

  it('GET /v1/models lists the models the key may use, in the caller SDK shape', async () => {
    const all = await call(stack.relay.url, 'GET', '/v1/models', undefined, { authorization: `Bearer ${CLIENT_KEY}` });
    expect(all.json.object).toBe('list');
    expect(all.json.data.map((m: { id: string }) => m.id)).toEqual(['claude-sonnet-4-5', 'gpt-4o', 'gpt-fast']);
    const limited = await call(stack.relay.url, 'GET', '/v1/models', undefined, { 'x-api-key': 'rk-limited-key-0001', 'anthropic-version': '2023-06-01' });
    expect(limited.json.data).toEqual([expect.objectContaining({ type: 'model', id: 'gpt-4o' })]);
  });

  it('Bearer works on Anthropic routes too; the client anthropic-version goes upstream untouched, a missing one as 2023-06-01', async () => {
    await stack.mocks.control.resetJournal();
    const res = await call(stack.relay.url, 'POST', '/v1/messages', claudeBody(), { authorization: `Bearer ${CLIENT_KEY}`, 'anthropic-version': '2026-10-21' });
    expect(res.status).toBe(200);
    // Without one, the upstream still gets a version it accepts.
    await call(stack.relay.url, 'POST', '/v1/messages', claudeBody(), { authorization: `Bearer ${CLIENT_KEY}` });
    // A version the API does not know is the upstream's to refuse, in its own words.
    const unknown = await call(stack.relay.url, 'POST', '/v1/messages', claudeBody(), { authorization: `Bearer ${CLIENT_KEY}`, 'anthropic-version': '2099-01-01' });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error).toMatchObject({ type: 'invalid_request_error', message: 'anthropic-version: "2099-01-01" is not a valid version' });
    const journal = await stack.mocks.control.journal();
    expect(journal.map((e) => e.headers['anthropic-version'])).toEqual(['2026-10-21', '2023-06-01', '2099-01-01']);
    expect(journal.every((e) => e.headers['x-api-key'] === CLAUDE_TOKEN && e.headers.authorization === undefined)).toBe(true);
  });

  it('usage comes from the stream (the relay asks for it when the client did not), else an estimate marked as estimated', async () => {
    const chat = { model: 'gpt-4o', messages: [{ role: 'user', content: 'count my usage' }], stream: true };
    for (const body of [{ ...chat, stream_options: { include_usage: true } }, chat]) {
      const answer = await ask(stack.relay, '/v1/chat/completions', body);
      const reported = (await requestLog(stack.relay, answer))[0];
      const [entry] = (await stack.mocks.control.journal()).slice(-1);
      expect(reported.usage).toEqual(entry.usage);
    }
    // A stream cut mid-way reports no usage: what was delivered is estimated, and says so.
    await stack.mocks.control.addRule('openai', { match: { stream: true }, times: 1, action: { cut: { after: 'mid_content', mode: 'fin' } } });
    const cut = await ask(stack.relay, '/v1/chat/completions', chat);
    const estimated = (await requestLog(stack.relay, cut))[0];
    const [entry] = (await stack.mocks.control.journal()).slice(-1);
    expect(estimated.usage).toMatchObject({ estimated: true, outputTokens: entry.usage!.outputTokens });
    expect(estimated.usage.inputTokens).toBeGreaterThan(0);
  });

  it('a client that disconnects mid-stream aborts the upstream request at once', async () => {
    await stack.mocks.control.resetJournal();
    const res = await request(stack.relay.url + '/v1/messages', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': CLIENT_KEY },
      body: JSON.stringify(claudeBody({ stream: true })),
    });
    expect(res.statusCode).toBe(200);
    for await (const _chunk of res.body) break; // first bytes, then hang up
    res.body.destroy();
    let entries = await stack.mocks.control.journal();
    for (let i = 0; i < 50 && entries.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      entries = await stack.mocks.control.journal();
    }
    expect(entries).toHaveLength(1);
    expect(entries[0].clientAborted).toBe(true);
    // 40 tokens at 20 ms each would take 800 ms; the upstream saw the abort long before.
    expect(entries[0].durationMs).toBeLessThan(600);
    const log = (await requestLog(stack.relay, String(res.headers['x-request-id'])))[0];
    expect(log.outcome).toBe('client_abort');
  });
});
