/**
 * Translation through the relay (relay/translate, an endpoint's `translate_from`): routing keeps
 * native endpoints first and leaves layouts without the opt-in as they were; a translated attempt
 * fails over, is recorded and billed once from the upstream's usage; stream and not, errors in
 * the client's shape. The official Anthropic SDK streams through a Chat upstream to the end.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Billing, SettleInput } from './billing/types.js';
import { ask, claudeBody, CLIENT_KEY, requestLog, sseEvents, startStack, type TestStack } from './testing.js';
import { relayConfigSchema } from './config/schema.js';

const C1 = 'sk-ant-api03-translate-c1-000001';
const C2 = 'sk-ant-api03-translate-c2-000002';
const O1 = 'sk-proj-translate-o1-000001';

/** Records what the relay charges: each request once, with the usage the upstream reported. */
class RecordingBilling implements Billing {
  readonly charges: SettleInput[] = [];
  async precharge() {
    return { ok: true as const };
  }
  async settle(i: SettleInput) {
    this.charges.push(i);
  }
  async chargeComplete(i: SettleInput) {
    this.charges.push(i);
    return { settled: Promise.resolve() };
  }
}

let stack: TestStack;
const billing = new RecordingBilling();

beforeAll(async () => {
  stack = await startStack(
    {
      upstreams: [
        { name: 'claude', kind: 'claude', tokens: [C1, C2], output: { tokens: 8 } },
        { name: 'openai', kind: 'openai', tokens: [O1], output: { tokens: 8 } },
      ],
    },
    (m) => ({
      cooldowns: { server_error: 0, rate_limited: 0, retry_after_cap: 0 },
      retry: { same_endpoint_retries: 0 },
      sticky: { enabled: false },
      channels: [
        {
          name: 'main',
          // Priority decides for translated endpoints as for native ones: Anthropic clients try
          // c1, o1 (translated), c2; Chat clients o1, c2 (translated).
          endpoints: [
            { name: 'c1', type: 'claude', base_url: m.get('claude').url, token: C1, priority: 1 },
            { name: 'o1', type: 'openai', base_url: m.get('openai').url, token: O1, priority: 2, translate_from: ['anthropic'] },
            { name: 'c2', type: 'claude', base_url: m.get('claude').url, token: C2, priority: 3, translate_from: ['openai-chat'] },
          ],
        },
      ],
    }),
    { billing, redisUrl: '', mysqlUrl: '' },
  );
});
afterAll(() => stack.close());
afterEach(async () => {
  await stack.mocks.control.reset();
  billing.charges.length = 0;
});

const chatBody = (extra: Record<string, unknown> = {}) => ({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi there' }], ...extra });

describe('routing', () => {
  it('a native endpoint keeps its place: Anthropic requests go to claude, Chat requests to openai, untranslated', async () => {
    const a = await ask(stack.relay, '/v1/messages', claudeBody());
    const c = await ask(stack.relay, '/v1/chat/completions', chatBody());
    expect([a.status, c.status]).toEqual([200, 200]);
    const journal = await stack.mocks.control.journal();
    expect(journal.map((j) => `${j.upstream} ${j.path}`)).toEqual(['claude /v1/messages', 'openai /v1/chat/completions']);
    const log = await requestLog(stack.relay, c, 2);
    expect(log.flatMap((e) => e.attempts.map((t: { translated?: string }) => t.translated ?? 'native'))).toEqual(['native', 'native']);
  });

  it('the native endpoint fails: the request fails over to the translating one, recorded as translated and charged once from its usage', async () => {
    await stack.mocks.control.addRule('claude', { match: { token: C1 }, action: { status: 500 } });
    const res = await ask(stack.relay, '/v1/messages', claudeBody({ stream: true }));
    expect(res.status).toBe(200);
    const events = sseEvents(res.text);
    expect(events[0].event).toBe('message_start');
    expect(events[events.length - 1].event).toBe('message_stop');
    const [, chat] = await stack.mocks.control.journal();
    expect(chat).toMatchObject({ upstream: 'openai', path: '/v1/chat/completions', credential: O1, status: 200 });
    expect(chat.body).toMatchObject({ stream: true, stream_options: { include_usage: true }, max_tokens: 100 });
    const [entry] = await requestLog(stack.relay, res);
    expect(entry.attempts.map((a: { endpoint: string; status: number; translated?: string }) => [a.endpoint, a.status, a.translated])).toEqual([
      ['c1', 500, undefined],
      ['o1', 200, 'anthropic>openai-chat'],
    ]);
    await expect.poll(() => billing.charges.length).toBe(1);
    expect(billing.charges[0]).toMatchObject({ endpoint: 'o1', outcome: 'success', usage: { inputTokens: chat.usage!.inputTokens, outputTokens: chat.usage!.outputTokens } });
    expect(billing.charges[0].usage?.estimated).toBeUndefined();
  });

  it('count_tokens never goes to a translating endpoint', async () => {
    await stack.mocks.control.addRule('claude', { action: { status: 503 } });
    await ask(stack.relay, '/v1/messages/count_tokens', { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }] });
    expect((await stack.mocks.control.journal()).map((j) => j.upstream)).not.toContain('openai');
  });
});

describe('translated answers', () => {
  it('a Chat client non-stream on a claude upstream: the upstream text and usage, charged from the upstream usage', async () => {
    await stack.mocks.control.addRule('openai', { action: { status: 500 } });
    const res = await ask(stack.relay, '/v1/chat/completions', chatBody({ max_tokens: 50 }));
    expect(res.status).toBe(200);
    const [, claude] = await stack.mocks.control.journal();
    expect(claude).toMatchObject({ upstream: 'claude', path: '/v1/messages', credential: C2 });
    expect(claude.headers['anthropic-version']).toBe('2023-06-01');
    expect(res.json).toMatchObject({ object: 'chat.completion', choices: [{ message: { role: 'assistant', content: claude.text }, finish_reason: 'stop' }] });
    expect(res.json.usage).toMatchObject({ prompt_tokens: claude.usage!.inputTokens, completion_tokens: claude.usage!.outputTokens });
    await expect.poll(() => billing.charges.length).toBe(1);
    expect(billing.charges[0].usage).toMatchObject({ inputTokens: claude.usage!.inputTokens, outputTokens: claude.usage!.outputTokens });
  });

  it('a Chat client stream that did not ask for usage never sees the usage chunk the relay bills from', async () => {
    await stack.mocks.control.addRule('openai', { action: { status: 500 } });
    const res = await ask(stack.relay, '/v1/chat/completions', chatBody({ stream: true }));
    const chunks = sseEvents(res.text);
    expect(chunks[chunks.length - 1].data).toBe('[DONE]');
    expect(chunks.some((c) => c.data.includes('"usage"'))).toBe(false);
    const [, claude] = await stack.mocks.control.journal();
    await expect.poll(() => billing.charges.length).toBe(1);
    expect(billing.charges[0].usage).toMatchObject({ inputTokens: claude.usage!.inputTokens, outputTokens: claude.usage!.outputTokens });
  });

  it("a translated upstream's 429 on the last candidate reaches the client in its own protocol's shape, status and retry-after kept", async () => {
    await stack.mocks.control.addRule('openai', { action: { status: 500 } });
    await stack.mocks.control.addRule('claude', { match: { token: C2 }, action: { status: 429, retry_after: 7 } });
    const res = await ask(stack.relay, '/v1/chat/completions', chatBody());
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('7');
    expect(res.json).toMatchObject({ error: { type: 'requests', code: 'rate_limit_exceeded' } });
    expect(res.json.error.message).not.toBe('');
  });
});

describe('opt-in', () => {
  it('without translate_from an Anthropic request never reaches an openai endpoint (404, as before)', async () => {
    const s = await startStack({ upstreams: [{ name: 'openai', kind: 'openai', tokens: [O1] }] }, (m) => ({
      channels: [{ name: 'main', endpoints: [{ name: 'o1', type: 'openai', base_url: m.get('openai').url, token: O1 }] }],
    }), { redisUrl: '', mysqlUrl: '' });
    try {
      const res = await ask(s.relay, '/v1/messages', claudeBody());
      expect(res.status).toBe(404);
      expect(await s.mocks.control.journal()).toEqual([]);
    } finally {
      await s.close();
    }
  });

  it('translate_from names only what the endpoint type can translate', () => {
    const layout = (type: string, from: string[]) => ({ channels: [{ name: 'm', endpoints: [{ name: 'e', type, base_url: 'http://127.0.0.1:1', token: 't', translate_from: from }] }] });
    expect(relayConfigSchema.safeParse(layout('openai', ['anthropic'])).success).toBe(true);
    expect(relayConfigSchema.safeParse(layout('claude', ['openai-chat'])).success).toBe(true);
    const wrong = relayConfigSchema.safeParse(layout('claude', ['anthropic']));
    expect(wrong.success).toBe(false);
    expect(wrong.error!.issues[0].path.join('.')).toBe('channels.0.endpoints.0.translate_from.0');
    expect(relayConfigSchema.safeParse(layout('openai-responses', ['anthropic'])).success).toBe(false);
  });
});

describe('a translated stream that breaks', () => {
  it("is never continued, even where continuation is on: the client's stream ends with its protocol's error event", async () => {
    const s = await startStack(
      { upstreams: [{ name: 'openai', kind: 'openai', tokens: [O1], output: { tokens: 12 } }, { name: 'claude', kind: 'claude', tokens: [C1] }] },
      (m) => ({
        sticky: { enabled: false },
        channels: [
          {
            name: 'main',
            continuation: 'prefill',
            endpoints: [
              { name: 'o1', type: 'openai', base_url: m.get('openai').url, token: O1, priority: 1, translate_from: ['anthropic'] },
              // Takes a prefill: it would continue a native Anthropic stream.
              { name: 'c1', type: 'claude', base_url: m.get('claude').url, token: C1, priority: 2 },
            ],
          },
        ],
      }),
      { redisUrl: '', mysqlUrl: '' },
    );
    try {
      await s.mocks.control.addRule('openai', { times: 1, action: { cut: { after: 'mid_content', mode: 'fin' } } });
      const res = await ask(s.relay, '/v1/messages', claudeBody({ stream: true }));
      const events = sseEvents(res.text);
      expect(events[0].event).toBe('message_start');
      expect(events.some((e) => e.event === 'content_block_delta')).toBe(true);
      expect(events[events.length - 1].event).toBe('error');
      expect((await s.mocks.control.journal()).map((j) => j.upstream)).toEqual(['openai']);
    } finally {
      await s.close();
    }
  });
});

describe('official SDKs through a translation', () => {
  it('@anthropic-ai/sdk streams from a Chat upstream to the end: text, stop reason and usage', async () => {
    await stack.mocks.control.addRule('claude', { match: { token: C1 }, action: { status: 500 } });
    const client = new Anthropic({ apiKey: CLIENT_KEY, baseURL: stack.relay.url, maxRetries: 0 });
    const stream = client.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'question for a chat upstream' }] });
    let text = '';
    stream.on('text', (t) => (text += t));
    const final = await stream.finalMessage();
    const [, chat] = await stack.mocks.control.journal();
    expect(chat.upstream).toBe('openai');
    expect(text).toBe(chat.text);
    expect(text.length).toBeGreaterThan(0);
    expect(final.stop_reason).toBe('end_turn');
    expect(final.usage).toMatchObject({ input_tokens: chat.usage!.inputTokens, output_tokens: chat.usage!.outputTokens });
  });

  it('openai streams a tool call from a claude upstream', async () => {
    await stack.mocks.control.addRule('openai', { action: { status: 500 } });
    const client = new OpenAI({ apiKey: CLIENT_KEY, baseURL: `${stack.relay.url}/v1`, maxRetries: 0 });
    const stream = client.chat.completions.stream({
      model: 'claude-sonnet-4-5',
      messages: [{ role: 'user', content: 'Weather in Lisbon? relaylab:tool_call=get_weather' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
      stream_options: { include_usage: true },
    });
    const final = await stream.finalChatCompletion();
    expect(final.choices[0].finish_reason).toBe('tool_calls');
    const call = final.choices[0].message.tool_calls?.[0];
    expect(call?.type === 'function' && call.function.name).toBe('get_weather');
    expect(() => JSON.parse(call?.type === 'function' ? call.function.arguments : '')).not.toThrow();
    expect(final.usage?.completion_tokens).toBeGreaterThan(0);
  });
});
