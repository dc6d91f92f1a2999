/**
 * Reasoning as the real APIs answer it, read by the official SDKs: Anthropic `thinking` (a
 * thinking block before the text: thinking_delta events, then one signature_delta, stream and
 * non-stream; `display: omitted` keeps the text out and the signature in), Responses `reasoning`
 * (a reasoning item before the message, its summary streamed when asked for, encrypted content
 * when included, `output_tokens_details.reasoning_tokens`), Chat `reasoning_effort`
 * (`completion_tokens_details.reasoning_tokens`). Reasoning tokens are output tokens: the usage
 * the mock bills counts them. A stream can be cut inside the thinking block (`mid_reasoning`).
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { ResponseStreamParams } from 'openai/lib/responses/ResponseStream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MOCK_WORDS } from './content.js';
import { startMocks, type MockFleet } from './index.js';

const KEY = 'sk-reasoning-test-0001';
/** Text words and reasoning tokens at medium effort (the config below). */
const TEXT = 6;
const REASONING = 8;
let fleet: MockFleet;
let claude: Anthropic;
let chat: OpenAI;
let responses: OpenAI;

beforeAll(async () => {
  fleet = await startMocks({
    upstreams: [
      { name: 'claude', kind: 'claude', tokens: [KEY], seed: 21, output: { tokens: TEXT, reasoning_tokens: REASONING } },
      { name: 'chat', kind: 'openai', tokens: [KEY], seed: 22, output: { tokens: TEXT, reasoning_tokens: REASONING } },
      { name: 'responses', kind: 'openai-responses', tokens: [KEY], seed: 23, output: { tokens: TEXT, reasoning_tokens: REASONING } },
    ],
  });
  claude = new Anthropic({ apiKey: KEY, baseURL: fleet.get('claude').url, maxRetries: 0 });
  chat = new OpenAI({ apiKey: KEY, baseURL: `${fleet.get('chat').url}/v1`, maxRetries: 0 });
  responses = new OpenAI({ apiKey: KEY, baseURL: `${fleet.get('responses').url}/v1`, maxRetries: 0 });
});
afterAll(() => fleet.close());
beforeEach(() => fleet.control.reset());

const words = (text: string) => text.replace(/\.$/, '').trim().split(' ');
function expectMockWords(text: string, count: number): void {
  const ws = words(text);
  expect(ws).toHaveLength(count);
  for (const w of ws) expect(MOCK_WORDS).toContain(w.charAt(0).toLowerCase() + w.slice(1));
}
async function lastUsage(upstream: string) {
  const entries = await fleet.control.journal({ upstream });
  return entries.at(-1)!.usage!;
}

const thinkingAsk = (thinking: Record<string, unknown>) =>
  ({ model: 'claude-sonnet-4-5', max_tokens: 4096, thinking, messages: [{ role: 'user' as const, content: 'think first' }] }) as unknown as Anthropic.MessageCreateParamsNonStreaming;

describe('Anthropic thinking', () => {
  it('streams the thinking block first: thinking_delta events, one signature_delta just before its stop, then the text', async () => {
    const stream = claude.messages.stream(thinkingAsk({ type: 'enabled', budget_tokens: 2048 }));
    const seen: string[] = [];
    stream.on('streamEvent', (e) => {
      if (e.type === 'content_block_start') seen.push(`start:${e.content_block.type}`);
      else if (e.type === 'content_block_delta') seen.push(e.delta.type);
      else if (e.type === 'content_block_stop') seen.push('stop');
      else seen.push(e.type);
    });
    const final = await stream.finalMessage();
    expect(seen).toEqual([
      'message_start',
      'start:thinking',
      ...Array(REASONING).fill('thinking_delta'),
      'signature_delta',
      'stop',
      'start:text',
      ...Array(TEXT).fill('text_delta'),
      'stop',
      'message_delta',
      'message_stop',
    ]);
    expect(final.content.map((b) => b.type)).toEqual(['thinking', 'text']);
    const thinking = final.content[0] as Anthropic.ThinkingBlock;
    expectMockWords(thinking.thinking, REASONING);
    expect(thinking.signature.length).toBeGreaterThan(100);
    expect(final.stop_reason).toBe('end_turn');
    // Thinking is billed as output: the answer's usage and the mock's journal agree.
    expect(final.usage.output_tokens).toBe(REASONING + TEXT);
    expect(await lastUsage('claude')).toMatchObject({ outputTokens: REASONING + TEXT, reasoningTokens: REASONING });
  });

  it('answers non-stream with the same blocks, and the same content for the same request number', async () => {
    const streamed = await claude.messages.stream(thinkingAsk({ type: 'adaptive' })).finalMessage();
    await fleet.control.reset();
    const plain = await claude.messages.create(thinkingAsk({ type: 'adaptive' }));
    expect(plain.content).toEqual(streamed.content);
    expect(plain.usage.output_tokens).toBe(REASONING + TEXT);
  });

  it('display omitted: an empty thinking text, the signature still sent, the thinking still billed', async () => {
    const types: string[] = [];
    const stream = claude.messages.stream(thinkingAsk({ type: 'adaptive', display: 'omitted' }));
    stream.on('streamEvent', (e) => e.type === 'content_block_delta' && types.push(e.delta.type));
    const final = await stream.finalMessage();
    expect(types.filter((t) => t !== 'text_delta')).toEqual(['signature_delta']);
    expect(final.content[0]).toMatchObject({ type: 'thinking', thinking: '' });
    expect((final.content[0] as Anthropic.ThinkingBlock).signature.length).toBeGreaterThan(100);
    expect(final.usage.output_tokens).toBe(REASONING + TEXT);
  });

  it('scales with the effort, stays within budget_tokens and max_tokens; no thinking asked, no block', async () => {
    const high = await claude.messages.create({ ...thinkingAsk({ type: 'adaptive' }), output_config: { effort: 'high' } } as Anthropic.MessageCreateParamsNonStreaming);
    expectMockWords((high.content[0] as Anthropic.ThinkingBlock).thinking, 2 * REASONING);
    const budget = await claude.messages.create(thinkingAsk({ type: 'enabled', budget_tokens: 3 }));
    expectMockWords((budget.content[0] as Anthropic.ThinkingBlock).thinking, 3);
    const tight = await claude.messages.create({ ...thinkingAsk({ type: 'enabled', budget_tokens: 2048 }), max_tokens: REASONING + 2 });
    expect([tight.stop_reason, tight.usage.output_tokens]).toEqual(['max_tokens', REASONING + 2]);
    const none = await claude.messages.create({ ...thinkingAsk({ type: 'disabled' }) });
    expect(none.content.map((b) => b.type)).toEqual(['text']);
    expect(none.usage.output_tokens).toBe(TEXT);
  });

  it('a cut inside the thinking block (mid_reasoning) bills the thinking sent so far; the SDK sees no finished message', async () => {
    await fleet.control.setRules('claude', [{ name: 'cut-thinking', action: { cut: { after: 'mid_reasoning', mode: 'rst' } } }]);
    const stream = claude.messages.stream(thinkingAsk({ type: 'enabled', budget_tokens: 2048 }));
    const types: string[] = [];
    let thought = '';
    stream.on('streamEvent', (e) => {
      if (e.type !== 'content_block_delta') return;
      types.push(e.delta.type);
      if (e.delta.type === 'thinking_delta') thought += e.delta.thinking;
    });
    await expect(stream.finalMessage()).rejects.toThrow();
    expect(types).toEqual(Array(REASONING / 2 + 1).fill('thinking_delta'));
    const [entry] = await fleet.control.journal({ upstream: 'claude' });
    expect([entry.rule, entry.disconnect]).toEqual(['cut-thinking', 'rst']);
    // A cut stream is billed by characters: the thinking delivered, at four characters a token.
    expect(thought.length).toBeGreaterThan(0);
    expect(entry.usage).toMatchObject({ outputTokens: Math.ceil(thought.length / 4) });
    expect(entry.usage!.reasoningTokens).toBeUndefined();
  });
});

describe('Responses reasoning', () => {
  const ask = (reasoning: Record<string, unknown>, include: OpenAI.Responses.ResponseIncludable[] = []) =>
    ({ model: 'gpt-5', input: 'think first', reasoning, include }) as OpenAI.Responses.ResponseCreateParamsNonStreaming & ResponseStreamParams;

  it('streams a reasoning item before the message: summary part and text events when a summary is asked, encrypted content when included', async () => {
    const stream = responses.responses.stream(ask({ effort: 'medium', summary: 'auto' }, ['reasoning.encrypted_content']));
    const seen: string[] = [];
    let sequence = -1;
    stream.on('event', (e) => {
      expect(e.sequence_number).toBe(++sequence);
      if (e.type !== 'response.reasoning_summary_text.delta' && e.type !== 'response.output_text.delta') seen.push(e.type);
      else if (seen.at(-1) !== `${e.type}*`) seen.push(`${e.type}*`);
    });
    const final = await stream.finalResponse();
    expect(seen).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.reasoning_summary_part.added',
      'response.reasoning_summary_text.delta*',
      'response.reasoning_summary_text.done',
      'response.reasoning_summary_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta*',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(final.output.map((o) => o.type)).toEqual(['reasoning', 'message']);
    const item = final.output[0] as OpenAI.Responses.ResponseReasoningItem;
    expect(item.id).toMatch(/^rs_/);
    expect(item.summary).toHaveLength(1);
    expectMockWords(item.summary[0].text, REASONING);
    expect(item.encrypted_content).toMatch(/^gAAAAA/);
    expectMockWords(final.output_text, TEXT);
    expect(final.usage).toMatchObject({ output_tokens: REASONING + TEXT, output_tokens_details: { reasoning_tokens: REASONING } });
    expect(await lastUsage('responses')).toMatchObject({ outputTokens: REASONING + TEXT, reasoningTokens: REASONING });
  });

  it('without a summary the item has none and streams no summary events; the tokens are billed all the same; non-stream matches', async () => {
    const types: string[] = [];
    const stream = responses.responses.stream(ask({ effort: 'high' }));
    stream.on('event', (e) => types.push(e.type));
    const final = await stream.finalResponse();
    expect(types.some((t) => t.startsWith('response.reasoning_summary'))).toBe(false);
    expect(final.output[0]).toEqual({ id: expect.stringMatching(/^rs_/), type: 'reasoning', summary: [] });
    expect(final.usage).toMatchObject({ output_tokens: 2 * REASONING + TEXT, output_tokens_details: { reasoning_tokens: 2 * REASONING } });
    await fleet.control.reset();
    const plain = await responses.responses.create(ask({ effort: 'high' }));
    expect(plain.output[0]).toEqual(final.output[0]);
    expect(plain.output_text).toBe(final.output_text);
    expect(plain.usage).toEqual(final.usage);
  });

  it("effort none asks for no reasoning: no item, reasoning_tokens 0", async () => {
    const res = await responses.responses.create(ask({ effort: 'none' }));
    expect(res.output.map((o) => o.type)).toEqual(['message']);
    expect(res.usage).toMatchObject({ output_tokens: TEXT, output_tokens_details: { reasoning_tokens: 0 } });
  });
});

describe('Chat reasoning_effort', () => {
  it('reports completion_tokens_details.reasoning_tokens, counted in completion_tokens, with no reasoning text; stream and non-stream', async () => {
    const body = { model: 'gpt-5', reasoning_effort: 'low' as const, messages: [{ role: 'user' as const, content: 'think first' }] };
    const plain = await chat.chat.completions.create(body);
    expectMockWords(plain.choices[0].message.content!, TEXT);
    expect(plain.usage).toMatchObject({ completion_tokens: REASONING / 2 + TEXT, completion_tokens_details: { reasoning_tokens: REASONING / 2 } });
    let usage: OpenAI.CompletionUsage | undefined;
    let text = '';
    for await (const chunk of await chat.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } })) {
      text += chunk.choices[0]?.delta?.content ?? '';
      usage = chunk.usage ?? usage;
    }
    expectMockWords(text, TEXT);
    expect(usage).toMatchObject({ completion_tokens: REASONING / 2 + TEXT, completion_tokens_details: { reasoning_tokens: REASONING / 2 } });
    const none = await chat.chat.completions.create({ ...body, reasoning_effort: 'none' as never });
    expect(none.usage).toMatchObject({ completion_tokens: TEXT, completion_tokens_details: { reasoning_tokens: 0 } });
  });
});
