/**
 * Assistant prefill on the mocks: a request that ends with the start of the assistant's answer
 * (Anthropic: a trailing assistant message; chat: one with `prefix: true`) is continued from it,
 * mid-sentence, and journaled with its prefill and the text sent; an upstream configured with
 * `prefill: false` refuses it with the real API's 400.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startMocks, type MockFleet } from './index.js';

const ANT = 'sk-ant-api03-prefill-test-A-0001';
const OAI = 'sk-proj-prefill-test-O-0001';
let fleet: MockFleet;

beforeAll(async () => {
  fleet = await startMocks({
    upstreams: [
      { name: 'a', kind: 'claude', tokens: [ANT], seed: 3, output: { tokens: 6 } },
      { name: 'a-no', kind: 'claude', tokens: [ANT], prefill: false },
      { name: 'o', kind: 'openai', tokens: [OAI], seed: 3, output: { tokens: 6 } },
      { name: 'o-no', kind: 'openai', tokens: [OAI], prefill: false },
    ],
  });
});
afterAll(() => fleet.close());
beforeEach(() => fleet.control.reset());

const anthropic = (name: string) => new Anthropic({ apiKey: ANT, baseURL: fleet.get(name).url, maxRetries: 0 });
const openai = (name: string) => new OpenAI({ apiKey: OAI, baseURL: `${fleet.get(name).url}/v1`, maxRetries: 0 });

describe('assistant prefill', () => {
  it('Anthropic: a trailing assistant message is continued mid-sentence, journaled with the prefill and the text sent', async () => {
    const stream = anthropic('a').messages.stream({
      model: 'claude-sonnet-4-6',
      max_tokens: 100,
      messages: [
        { role: 'user', content: 'Say something' },
        { role: 'assistant', content: 'Once upon' },
      ],
    });
    const final = await stream.finalMessage();
    const text = (final.content[0] as Anthropic.TextBlock).text;
    // Goes on after "Once upon": a space, then a lower-case word; the prefill itself is not repeated.
    expect(text).toMatch(/^ [a-z]/);
    expect(text.startsWith('Once')).toBe(false);
    const [entry] = await fleet.control.journal({ upstream: 'a' });
    expect(entry.prefill).toBe('Once upon');
    expect(entry.text).toBe(text);
  });

  it('a request without a prefill starts its answer afresh and is journaled with prefill null', async () => {
    const msg = await anthropic('a').messages.create({ model: 'claude-sonnet-4-6', max_tokens: 100, messages: [{ role: 'user', content: 'Say something' }] });
    expect((msg.content[0] as Anthropic.TextBlock).text).toMatch(/^[A-Z]/);
    const [entry] = await fleet.control.journal({ upstream: 'a' });
    expect(entry.prefill).toBeNull();
  });

  it('Anthropic with prefill: false: 400 invalid_request_error in the real wording', async () => {
    const err = await anthropic('a-no')
      .messages.create({ model: 'claude-opus-4-6', max_tokens: 10, messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: 'y' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    const body = (err as InstanceType<typeof Anthropic.BadRequestError>).error as { error: { type: string; message: string } };
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toBe('This model does not support assistant message prefill. The conversation must end with a user message.');
  });

  it('chat: a trailing assistant message with prefix: true is continued; without the flag it is not a prefill', async () => {
    const messages = [
      { role: 'user' as const, content: 'Say something' },
      { role: 'assistant' as const, content: 'Once upon', prefix: true },
    ];
    const stream = await openai('o').chat.completions.create({ model: 'gpt-4o', stream: true, messages } as OpenAI.ChatCompletionCreateParamsStreaming);
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toMatch(/^ [a-z]/);
    const [entry] = await fleet.control.journal({ upstream: 'o' });
    expect(entry.prefill).toBe('Once upon');
    expect(entry.text).toBe(text);

    await fleet.control.resetJournal();
    await openai('o').chat.completions.create({ model: 'gpt-4o', messages: [messages[0], { role: 'assistant', content: 'Once upon' }] });
    const [plain] = await fleet.control.journal({ upstream: 'o' });
    expect(plain.prefill).toBeNull();
  });

  it('chat with prefill: false: a 400 in the OpenAI error shape', async () => {
    const err = await openai('o-no')
      .chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: 'y', prefix: true }] } as OpenAI.ChatCompletionCreateParamsNonStreaming)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).message).toContain('does not support assistant message prefill');
  });

  it('a stream cut mid-content journals the text it sent, not the whole answer', async () => {
    await fleet.control.setRules('a', [{ times: 1, action: { cut: { after: 3, mode: 'end' } } }]);
    const res = await fetch(`${fleet.get('a').url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': ANT, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-sonnet-4-6', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'Say something' }] }),
    });
    await res.text();
    const [entry] = await fleet.control.journal({ upstream: 'a' });
    // message_start, content_block_start, ping: the cut comes before any delta.
    expect(entry.text).toBe('');
    await fleet.control.setRules('a', [{ times: 1, action: { cut: { after: 5, mode: 'end' } } }]);
    await fetch(`${fleet.get('a').url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': ANT, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-sonnet-4-6', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'Say something' }] }),
    }).then((r) => r.text());
    const entries = await fleet.control.journal({ upstream: 'a' });
    const cut = entries.at(-1)!;
    // Two text deltas went out (message_start, content_block_start, ping, then two).
    expect(cut.text!.trim().split(' ')).toHaveLength(2);
    expect(cut.usage?.outputTokens).toBeGreaterThan(0);
  });
});
