/**
 * Reasoning through the relay: Anthropic thinking blocks, Responses reasoning items and Chat
 * reasoning_tokens reach the client byte for byte as the upstream sent them (the same request
 * straight to the mock, after a reset that replays the same content, gives the same bytes), and
 * the ledger charges the reasoning tokens, which are output tokens. A stream cut inside the
 * thinking block ends as an error for the client, charged for what the upstream billed.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { admin, ask, call, sseEvents, startStack, type HttpAnswer, type TestStack } from '../testing.js';

const TOKENS = { claude: 'sk-ant-api03-reasoning-0001', openai: 'sk-proj-reasoning-openai-0001' };
const TEXT = 6;
const REASONING = 8;
/** Dollars per million tokens: output priced apart from input so the charge shows the output count. */
const PRICE = { input: 1, output: 100 };
let stack: TestStack;

beforeAll(async () => {
  const output = { tokens: TEXT, reasoning_tokens: REASONING };
  stack = await startStack(
    {
      upstreams: [
        { name: 'claude', kind: 'claude', tokens: [TOKENS.claude], seed: 31, output },
        // One OpenAI upstream answers both Chat Completions and Responses.
        { name: 'openai', kind: 'openai', tokens: [TOKENS.openai], seed: 32, output },
      ],
    },
    (m) => ({
      channels: [
        { name: 'claude', endpoints: [{ name: 'C', type: 'claude', base_url: m.get('claude').url, token: TOKENS.claude }] },
        { name: 'openai', endpoints: [{ name: 'O', type: 'openai', base_url: m.get('openai').url, token: TOKENS.openai }] },
      ],
      billing: { balances: { tester: 100 }, prices: { 'claude-*': PRICE, 'gpt-*': PRICE } },
    }),
    { redisUrl: '', mysqlUrl: '' },
  );
});
afterAll(() => stack.close());
beforeEach(() => stack.mocks.control.reset());

/** Response bodies compared as bytes, but for the second the answer was made in (`created`, `created_at`). */
const sameSecond = (text: string) => text.replace(/"(created|created_at|completed_at)":\d+/g, '"$1":0');

interface Case {
  name: string;
  path: string;
  upstream: keyof typeof TOKENS;
  body: Record<string, unknown>;
  headers: Record<string, string>;
  /** Reasoning tokens the request asks for (the mock's count scaled by the effort). */
  reasoning: number;
  /** What the client must see of the reasoning. */
  expectReasoning(answer: HttpAnswer): void;
}

const anthropicHeaders = { 'x-api-key': TOKENS.claude, 'anthropic-version': '2023-06-01' };
const openAiHeaders = (token: string) => ({ authorization: `Bearer ${token}` });

const CASES: Case[] = [
  {
    name: 'Anthropic thinking, stream',
    path: '/v1/messages',
    upstream: 'claude',
    body: { model: 'claude-sonnet-4-5', max_tokens: 2048, stream: true, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [{ role: 'user', content: 'think' }] },
    headers: anthropicHeaders,
    reasoning: REASONING,
    expectReasoning: (a) => {
      const deltas = sseEvents(a.text).filter((e) => e.event === 'content_block_delta').map((e) => JSON.parse(e.data).delta.type);
      expect(deltas.slice(0, REASONING + 1)).toEqual([...Array(REASONING).fill('thinking_delta'), 'signature_delta']);
    },
  },
  {
    name: 'Anthropic thinking, non-stream',
    path: '/v1/messages',
    upstream: 'claude',
    body: { model: 'claude-sonnet-4-5', max_tokens: 2048, thinking: { type: 'adaptive' }, messages: [{ role: 'user', content: 'think' }] },
    headers: anthropicHeaders,
    reasoning: REASONING,
    expectReasoning: (a) => expect(a.json.content.map((b: { type: string }) => b.type)).toEqual(['thinking', 'text']),
  },
  {
    name: 'Responses reasoning with a summary, stream',
    path: '/v1/responses',
    upstream: 'openai',
    body: { model: 'gpt-5', stream: true, input: 'think', reasoning: { effort: 'high', summary: 'auto' }, include: ['reasoning.encrypted_content'] },
    headers: openAiHeaders(TOKENS.openai),
    reasoning: 2 * REASONING,
    expectReasoning: (a) => {
      const events = sseEvents(a.text);
      expect(events.filter((e) => e.event === 'response.reasoning_summary_text.delta')).toHaveLength(2 * REASONING);
      const done = JSON.parse(events.at(-1)!.data).response;
      expect(done.output[0]).toMatchObject({ type: 'reasoning', encrypted_content: expect.stringMatching(/^gAAAAA/) });
      expect(done.usage.output_tokens_details.reasoning_tokens).toBe(2 * REASONING);
    },
  },
  {
    name: 'Responses reasoning, non-stream',
    path: '/v1/responses',
    upstream: 'openai',
    body: { model: 'gpt-5', input: 'think', reasoning: { effort: 'medium' } },
    headers: openAiHeaders(TOKENS.openai),
    reasoning: REASONING,
    expectReasoning: (a) => {
      expect(a.json.output[0]).toMatchObject({ type: 'reasoning', summary: [] });
      expect(a.json.usage.output_tokens_details.reasoning_tokens).toBe(REASONING);
    },
  },
  {
    name: 'Chat reasoning_effort, stream with usage',
    path: '/v1/chat/completions',
    upstream: 'openai',
    body: { model: 'gpt-5', stream: true, stream_options: { include_usage: true }, reasoning_effort: 'high', messages: [{ role: 'user', content: 'think' }] },
    headers: openAiHeaders(TOKENS.openai),
    reasoning: 2 * REASONING,
    expectReasoning: (a) => {
      const usage = sseEvents(a.text).slice(0, -1).map((e) => JSON.parse(e.data)).find((c) => c.usage)!.usage;
      expect(usage.completion_tokens_details.reasoning_tokens).toBe(2 * REASONING);
    },
  },
  {
    name: 'Chat reasoning_effort, non-stream',
    path: '/v1/chat/completions',
    upstream: 'openai',
    body: { model: 'gpt-5', reasoning_effort: 'low', messages: [{ role: 'user', content: 'think' }] },
    headers: openAiHeaders(TOKENS.openai),
    reasoning: REASONING / 2,
    expectReasoning: (a) => expect(a.json.usage.completion_tokens_details.reasoning_tokens).toBe(REASONING / 2),
  },
];

/** The request's closing ledger row (the charge before release, or the settle after the answer). */
async function closingRow(requestId: string): Promise<{ kind: string; cost: number; usage: { inputTokens: number; outputTokens: number } }> {
  for (let i = 0; i < 150; i++) {
    const { rows } = (await admin(stack.relay, 'GET', `/admin/billing/ledger?request_id=${encodeURIComponent(requestId)}`)).json;
    const row = rows.find((r: { kind: string }) => r.kind === 'settle' || r.kind === 'charge');
    if (row) return row;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no closing ledger row for ${requestId}`);
}

describe('reasoning through the relay', () => {
  it.each(CASES)('$name: the client gets the upstream bytes untouched, and the ledger charges the reasoning tokens', async (c) => {
    const relayed = await ask(stack.relay, c.path, c.body);
    expect(relayed.status).toBe(200);
    c.expectReasoning(relayed);
    const [sent] = await stack.mocks.control.journal({ upstream: c.upstream });
    expect(sent.usage).toMatchObject({ outputTokens: c.reasoning + TEXT, reasoningTokens: c.reasoning });

    // The same request straight to the mock, replayed from the same request number.
    await stack.mocks.control.reset();
    const direct = await call(stack.mocks.get(c.upstream).url, 'POST', c.path, c.body, c.headers);
    expect(direct.status).toBe(200);
    expect(sameSecond(relayed.text)).toBe(sameSecond(direct.text));

    const row = await closingRow(String(relayed.headers['x-request-id']));
    expect(row.usage.outputTokens).toBe(c.reasoning + TEXT);
    expect(row.usage.inputTokens).toBe(sent.usage!.inputTokens);
    // Prices are per million tokens and costs in micro-dollars: a token costs its price.
    expect(row.cost).toBeCloseTo(sent.usage!.inputTokens * PRICE.input + (c.reasoning + TEXT) * PRICE.output, 6);
  });

  it('a stream cut inside the thinking block is an error for the client, charged for the thinking the upstream billed', async () => {
    await stack.mocks.control.setRules('claude', [{ name: 'cut-thinking', times: 1, action: { cut: { after: 'mid_reasoning', mode: 'rst' } } }]);
    const answer = await ask(stack.relay, '/v1/messages', CASES[0].body);
    const events = sseEvents(answer.text);
    // The thinking went out, no text did, and the stream ends with the protocol's error event.
    expect(events.some((e) => e.event === 'content_block_delta' && JSON.parse(e.data).delta.type === 'thinking_delta')).toBe(true);
    expect(events.some((e) => e.event === 'content_block_delta' && JSON.parse(e.data).delta.type === 'text_delta')).toBe(false);
    expect(events.at(-1)!.event).toBe('error');
    const [cut] = await stack.mocks.control.journal({ upstream: 'claude' });
    expect([cut.rule, cut.disconnect]).toEqual(['cut-thinking', 'rst']);
    const row = await closingRow(String(answer.headers['x-request-id']));
    // Both bill by characters (four a token) the thinking the client got; the signature never came.
    const thought = events
      .filter((e) => e.event === 'content_block_delta')
      .map((e) => JSON.parse(e.data).delta)
      .reduce((n: number, d: { type: string; thinking?: string }) => n + (d.type === 'thinking_delta' ? d.thinking!.length : 0), 0);
    expect(thought).toBeGreaterThan(0);
    expect(cut.usage!.outputTokens).toBe(Math.ceil(thought / 4));
    expect(row.usage.outputTokens).toBe(cut.usage!.outputTokens);
  });
});
