/**
 * The openai and openai-responses kinds through the official `openai` SDK: Chat Completions and
 * Responses, stream and not, typed errors, mid-stream disconnects and in-stream Responses errors.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { countTextTokens } from '../protocols/tokens.js';
import { startMocks, type MockFleet } from './index.js';

const KEY = 'sk-proj-test-openai-key-0001';
let fleet: MockFleet;

beforeAll(async () => {
  fleet = await startMocks({
    upstreams: [
      { name: 'openai', kind: 'openai', tokens: [KEY], seed: 3, output: { tokens: 10 } },
      { name: 'responses', kind: 'openai-responses', tokens: [KEY], seed: 4, output: { tokens: 10 } },
    ],
  });
});
afterAll(() => fleet.close());
beforeEach(() => fleet.control.reset());

const clientFor = (name: string, apiKey = KEY) => new OpenAI({ apiKey, baseURL: `${fleet.get(name).url}/v1`, maxRetries: 0 });
const chatAsk = { model: 'gpt-5', messages: [{ role: 'user' as const, content: 'Hello there, mock' }] };

describe.each(['openai', 'responses'])('%s kind with the openai SDK', (name) => {
  it('answers a non-stream chat completion with honest usage', async () => {
    const res = await clientFor(name).chat.completions.create(chatAsk);
    const text = res.choices[0].message.content!;
    expect(text.split(' ')).toHaveLength(10);
    expect(res.usage).toMatchObject({ prompt_tokens: Math.ceil('Hello there, mock'.length / 4), completion_tokens: 10 });
    expect(res.choices[0].finish_reason).toBe('stop');
  });

  it('streams chat chunks ending with [DONE], with a usage chunk when asked', async () => {
    const stream = await clientFor(name).chat.completions.create({ ...chatAsk, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text.split(' ')).toHaveLength(10);
    expect(usage?.completion_tokens).toBe(10);
    const [entry] = await fleet.control.journal({ upstream: name });
    expect(entry.usage?.outputTokens).toBe(10);
    expect(entry.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  it('answers Responses non-stream and stream; the stream parses to a completed response', async () => {
    const client = clientFor(name);
    const plain = await client.responses.create({ model: 'gpt-5', input: 'Write a line' });
    expect(plain.status).toBe('completed');
    expect(plain.output_text.split(' ')).toHaveLength(10);
    let deltas = '';
    const stream = client.responses.stream({ model: 'gpt-5', input: 'Write a line' });
    stream.on('response.output_text.delta', (e) => (deltas += e.delta));
    const final = await stream.finalResponse();
    expect(final.status).toBe('completed');
    expect(deltas).toBe(final.output_text);
    expect(final.usage?.output_tokens).toBe(10);
  });

  it.each([
    [400, OpenAI.BadRequestError],
    [401, OpenAI.AuthenticationError],
    [403, OpenAI.PermissionDeniedError],
    [429, OpenAI.RateLimitError],
    [500, OpenAI.InternalServerError],
    [502, OpenAI.InternalServerError],
    [503, OpenAI.InternalServerError],
    [529, OpenAI.InternalServerError],
  ])('a %i rule surfaces as the SDK typed error with that status', async (status, type) => {
    await fleet.control.setRules(name, [{ match: { path: '/v1/chat/completions' }, action: { status, retry_after: 2 }, times: 1 }]);
    const err = await clientFor(name)
      .chat.completions.create(chatAsk)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(type);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(status);
    if (status === 429) {
      const h = (err as InstanceType<typeof OpenAI.APIError>).headers;
      expect(h?.get('retry-after')).toBe('2');
      expect(h?.get('x-ratelimit-remaining-requests')).toBe('0');
    }
    await expect(clientFor(name).chat.completions.create(chatAsk)).resolves.toBeTruthy();
  });

  it('answers an unknown key with invalid_api_key 401', async () => {
    const err = await clientFor(name, 'sk-nope')
      .chat.completions.create(chatAsk)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('invalid_api_key');
  });

  it('a mid-stream FIN surfaces as a stream error', async () => {
    await fleet.control.setRules(name, [{ action: { cut: { after: 5, mode: 'fin' } } }]);
    const stream = await clientFor(name).chat.completions.create({ ...chatAsk, stream: true });
    let received = '';
    const consume = async () => {
      for await (const chunk of stream) received += chunk.choices[0]?.delta?.content ?? '';
    };
    await expect(consume()).rejects.toThrow();
    const [entry] = await fleet.control.journal({ upstream: name });
    expect(entry.eventsSent).toBe(5);
    expect(entry.disconnect).toBe('fin');
    // role chunk + 4 content chunks, billed by the token rule over their text
    expect(received.split(' ').filter(Boolean)).toHaveLength(4);
    expect(entry.usage?.outputTokens).toBe(countTextTokens(received));
  });
});

describe('Responses in-stream errors', () => {
  it('response.incomplete carries the usage emitted so far and the journal bills exactly that', async () => {
    await fleet.control.setRules('responses', [{ action: { stream_error: { kind: 'incomplete', after: 'mid_content' } } }]);
    const client = clientFor('responses');
    const events: string[] = [];
    const stream = await client.responses.create({ model: 'gpt-5', input: 'Write a line', stream: true });
    let usage: OpenAI.Responses.ResponseUsage | undefined;
    let received = '';
    for await (const e of stream) {
      events.push(e.type);
      if (e.type === 'response.output_text.delta') received += e.delta;
      if (e.type === 'response.incomplete') usage = e.response.usage ?? undefined;
    }
    expect(events.at(-1)).toBe('response.incomplete');
    // Five words emitted, reported and billed by the token rule over their text.
    expect(received.split(' ').filter(Boolean)).toHaveLength(5);
    expect(usage?.output_tokens).toBe(countTextTokens(received));
    const [entry] = await fleet.control.journal({ upstream: 'responses' });
    expect(entry.usage?.outputTokens).toBe(countTextTokens(received));
  });

  it('response.failed ends the stream with an error the SDK reports', async () => {
    await fleet.control.setRules('responses', [{ action: { stream_error: { kind: 'failed', after: 'first_content' } } }]);
    const events: string[] = [];
    const stream = await clientFor('responses').responses.create({ model: 'gpt-5', input: 'x', stream: true });
    for await (const e of stream) events.push(e.type);
    expect(events.at(-1)).toBe('response.failed');
    // The helper stream resolves with the failed response and its error.
    const final = await clientFor('responses').responses.stream({ model: 'gpt-5', input: 'x' }).finalResponse();
    expect(final.status).toBe('failed');
    expect(final.error?.code).toBe('server_error');
  });

  it('lists models', async () => {
    const list = await clientFor('openai').models.list();
    expect(list.data.map((m) => m.id)).toContain('gpt-5');
  });
});
