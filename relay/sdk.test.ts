/**
 * The official SDKs pointed at the relay (fronting the mocks) behave as against the mocks
 * directly: stream and not, typed errors per status, failover invisible.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CLIENT_KEY, startStack, type TestStack } from './testing.js';

const C1 = 'sk-ant-api03-sdk-one-0000000001';
const C2 = 'sk-ant-api03-sdk-two-0000000002';
const O1 = 'sk-proj-sdk-one-0000000001';
const O2 = 'sk-proj-sdk-two-0000000002';
const R1 = 'sk-proj-sdk-resp-0000000001';

let stack: TestStack;
let anthropic: Anthropic;
let openai: OpenAI;

beforeAll(async () => {
  stack = await startStack(
    {
      upstreams: [
        { name: 'claude', kind: 'claude', tokens: [C1, C2], output: { tokens: 10 } },
        { name: 'openai', kind: 'openai', tokens: [O1, O2], output: { tokens: 10 } },
        { name: 'responses', kind: 'openai-responses', tokens: [R1], output: { tokens: 10 } },
      ],
    },
    (m) => ({
      // Only the error tests would cool endpoints; keep each test independent of the others.
      cooldowns: { server_error: 0, rate_limited: 0, retry_after_cap: 0, overloaded: 0 },
      breaker: { failures: 1000 },
      channels: [
        {
          name: 'main',
          endpoints: [
            { name: 'c1', type: 'claude', base_url: m.get('claude').url, token: C1, priority: 1 },
            { name: 'c2', type: 'claude', base_url: m.get('claude').url, token: C2, priority: 2 },
            { name: 'o1', type: 'openai', base_url: m.get('openai').url, token: O1, priority: 1 },
            { name: 'o2', type: 'openai', base_url: m.get('openai').url, token: O2, priority: 2 },
            { name: 'r1', type: 'openai-responses', base_url: m.get('responses').url, token: R1, priority: 3 },
          ],
        },
      ],
    }),
  );
  anthropic = new Anthropic({ apiKey: CLIENT_KEY, baseURL: stack.relay.url, maxRetries: 0 });
  openai = new OpenAI({ apiKey: CLIENT_KEY, baseURL: `${stack.relay.url}/v1`, maxRetries: 0 });
});
afterAll(() => stack.close());
beforeEach(() => stack.mocks.control.reset());

const msg = (n: number) => ({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user' as const, content: `question ${n}` }] });
const chat = (n: number) => ({ model: 'gpt-4o', messages: [{ role: 'user' as const, content: `question ${n}` }] });

describe('@anthropic-ai/sdk through the relay', () => {
  it('non-stream and stream', async () => {
    const m = await anthropic.messages.create(msg(1));
    expect(m.type).toBe('message');
    expect(m.usage.output_tokens).toBe(10);
    const stream = anthropic.messages.stream(msg(2));
    let text = '';
    stream.on('text', (t) => (text += t));
    const final = await stream.finalMessage();
    expect(text).toBe((final.content[0] as Anthropic.TextBlock).text);
    expect(final.stop_reason).toBe('end_turn');
  });

  it('a failover is invisible: stream and not', async () => {
    await stack.mocks.control.addRule('claude', { match: { token: C1 }, action: { status: 529, retry_after: 1 } });
    const m = await anthropic.messages.create(msg(3));
    expect(m.content.length).toBeGreaterThan(0);
    const final = await anthropic.messages.stream(msg(4)).finalMessage();
    expect(final.usage.output_tokens).toBe(10);
    expect((await stack.mocks.control.journal()).map((e) => e.credential)).toEqual([C1, C2, C1, C2]);
  });

  it('each error status arrives as the SDK typed error', async () => {
    const cases: Array<[number, new (...a: never[]) => Error]> = [
      [400, Anthropic.BadRequestError],
      [404, Anthropic.NotFoundError],
      [429, Anthropic.RateLimitError],
      [500, Anthropic.InternalServerError],
      [529, Anthropic.APIError],
    ];
    for (const [status, type] of cases) {
      await stack.mocks.control.setRules('claude', [{ action: { status } }]);
      const err = await anthropic.messages.create(msg(status)).catch((e: unknown) => e);
      expect(err, String(status)).toBeInstanceOf(type);
      expect((err as InstanceType<typeof Anthropic.APIError>).status).toBe(status);
    }
    // Relay's own errors too: a bad key is an AuthenticationError.
    const bad = new Anthropic({ apiKey: 'rk-wrong-key-000000', baseURL: stack.relay.url, maxRetries: 0 });
    await expect(bad.messages.create(msg(9))).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
  });

  it('a stream cut after the commit point surfaces as an error, not a clean end', async () => {
    await stack.mocks.control.setRules('claude', [{ action: { cut: { after: 'mid_content', mode: 'rst' } } }]);
    const err = await anthropic.messages.stream(msg(10)).finalMessage().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((await stack.mocks.control.journal()).length).toBe(1);
  });
});

describe('openai SDK through the relay', () => {
  it('chat completions: non-stream, stream with usage, failover invisible', async () => {
    const c = await openai.chat.completions.create(chat(1));
    expect(c.choices[0].message.content?.length).toBeGreaterThan(0);
    await stack.mocks.control.addRule('openai', { match: { token: O1 }, action: { status: 503 } });
    const stream = await openai.chat.completions.create({ ...chat(2), stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text.length).toBeGreaterThan(0);
    expect(usage?.completion_tokens).toBe(10);
    const journal = await stack.mocks.control.journal();
    // O1's first 503 is retried once on O1, then the stream moves to O2.
    expect(journal.map((e) => e.credential)).toEqual([O1, O1, O1, O2]);
    // The Authorization header itself changed with the endpoint; the client's key never went upstream.
    expect(journal.map((e) => e.headers.authorization)).toEqual([`Bearer ${O1}`, `Bearer ${O1}`, `Bearer ${O1}`, `Bearer ${O2}`]);
  });

  it('typed errors', async () => {
    const cases: Array<[number, new (...a: never[]) => Error]> = [
      [400, OpenAI.BadRequestError],
      [404, OpenAI.NotFoundError],
      [429, OpenAI.RateLimitError],
      [500, OpenAI.InternalServerError],
    ];
    for (const [status, type] of cases) {
      await stack.mocks.control.setRules('openai', [{ action: { status } }]);
      const err = await openai.chat.completions.create(chat(status)).catch((e: unknown) => e);
      expect(err, String(status)).toBeInstanceOf(type);
    }
    const bad = new OpenAI({ apiKey: 'rk-wrong-key-000000', baseURL: `${stack.relay.url}/v1`, maxRetries: 0 });
    await expect(bad.chat.completions.create(chat(1))).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('responses: non-stream and stream, served by openai or openai-responses endpoints', async () => {
    const r = await openai.responses.create({ model: 'gpt-4o', input: 'hello' });
    expect(r.output_text.length).toBeGreaterThan(0);
    const stream = await openai.responses.create({ model: 'gpt-4o', input: 'hello again', stream: true });
    const types: string[] = [];
    for await (const ev of stream) types.push(ev.type);
    expect(types.at(-1)).toBe('response.completed');
    // With both openai endpoints failing, the openai-responses endpoint answers.
    await stack.mocks.control.setRules('openai', [{ action: { status: 502 } }]);
    const fallback = await openai.responses.create({ model: 'gpt-4o', input: 'third' });
    expect(fallback.status).toBe('completed');
    const journal = await stack.mocks.control.journal();
    expect(journal.at(-1)?.upstream).toBe('responses');
  });
});
