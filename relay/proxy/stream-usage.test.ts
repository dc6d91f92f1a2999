/**
 * A chat stream whose client did not ask for usage is still billed from the upstream's usage:
 * the relay asks the upstream for the usage chunk (stream_options.include_usage) and keeps that
 * chunk from the client. A client that asked gets it, unchanged.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { admin, ask, CLIENT_KEY, sseEvents, startStack, type TestStack } from '../testing.js';

const TOKEN = 'sk-proj-stream-usage-0000001';
let stack: TestStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function start(): Promise<TestStack> {
  stack = await startStack({ upstreams: [{ name: 'openai', kind: 'openai', tokens: [TOKEN], output: { tokens: 12 } }] }, (m) => ({
    keys: [{ key: CLIENT_KEY, name: 'tester' }],
    channels: [{ name: 'main', endpoints: [{ name: 'O', type: 'openai', base_url: m.get('openai').url, token: TOKEN }] }],
    billing: { balances: { tester: 5 }, prices: { 'gpt-4o-mini': { input: 0.15, output: 0.6 } } },
  }), { redisUrl: '', mysqlUrl: '' });
  return stack;
}

const body = (extra: Record<string, unknown> = {}) => ({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'count to twelve' }], ...extra });

async function settledRow(s: TestStack, requestId: string): Promise<{ usage: { outputTokens: number; inputTokens: number; estimated?: boolean } }> {
  for (let i = 0; i < 100; i++) {
    const { rows } = (await admin(s.relay, 'GET', `/admin/billing/ledger?request_id=${encodeURIComponent(requestId)}`)).json;
    const row = rows.find((r: { kind: string }) => r.kind === 'settle');
    if (row) return row;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no settle row for ${requestId}`);
}

describe('chat streams are billed from the upstream usage chunk', () => {
  it('asks the upstream for it, hides it from a client that did not ask, and bills the reported usage', async () => {
    const s = await start();
    const answer = await ask(s.relay, '/v1/chat/completions', body());
    expect(answer.status).toBe(200);
    const events = sseEvents(answer.text);
    expect(events.at(-1)?.data).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.data));
    // No usage chunk for this client; the answer itself is whole.
    expect(chunks.some((c) => Array.isArray(c.choices) && c.choices.length === 0)).toBe(false);
    expect(chunks.filter((c) => c.usage)).toEqual([]);
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('').length).toBeGreaterThan(0);
    expect(chunks.at(-1).choices[0].finish_reason).toBe('stop');

    const [sent] = await s.mocks.control.journal();
    expect((sent.body as { stream_options?: unknown }).stream_options).toEqual({ include_usage: true });
    const row = await settledRow(s, String(answer.headers['x-request-id']));
    expect(row.usage).toMatchObject({ inputTokens: sent.usage!.inputTokens, outputTokens: sent.usage!.outputTokens });
    expect(row.usage.estimated).toBeUndefined();
  });

  it('hides it when the upstream writes its events split across reads at any byte (the rest goes on as its bytes)', async () => {
    const s = await start();
    await s.mocks.control.addRule('openai', { action: { drip: { bytes: 7, every: '1ms' } } });
    const answer = await ask(s.relay, '/v1/chat/completions', body());
    const events = sseEvents(answer.text);
    expect(events.at(-1)?.data).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.data));
    expect(chunks.filter((c) => c.usage || c.choices.length === 0)).toEqual([]);
    expect(chunks.at(-1).choices[0].finish_reason).toBe('stop');
    expect((await settledRow(s, String(answer.headers['x-request-id']))).usage.outputTokens).toBe(12);
  });

  it('passes the usage chunk to a client that asked for it, body unchanged', async () => {
    const s = await start();
    const asked = body({ stream_options: { include_usage: true } });
    const answer = await ask(s.relay, '/v1/chat/completions', asked);
    const chunks = sseEvents(answer.text).slice(0, -1).map((e) => JSON.parse(e.data));
    const usageChunk = chunks.find((c) => c.choices.length === 0);
    expect(usageChunk?.usage?.completion_tokens).toBe(12);
    const [sent] = await s.mocks.control.journal();
    expect(sent.body).toEqual(asked);
    expect((await settledRow(s, String(answer.headers['x-request-id']))).usage.outputTokens).toBe(12);
  });
});
