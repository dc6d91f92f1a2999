/**
 * Mid-stream continuation on the wire: a stream cut mid-text is continued on another endpoint by
 * assistant prefill, and the client reads ONE message (one message_start, the same text block,
 * indexes consistent, one message_stop; chat: one id, one role chunk, one [DONE]), usage the sum
 * of both upstreams'. And where it must not continue: a tool call, a thinking block, a model that
 * refuses prefill, an endpoint out of failover, the switch off: the original cause ends the stream.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { MockFleet } from '../mocks/index.js';
import type { RelayConfig } from './config/schema.js';
import { ask, claudeBody, requestLog, sseEvents, startStack, type TestStack } from './testing.js';

const A = 'sk-ant-api03-cont-test-A-0001';
const B = 'sk-ant-api03-cont-test-B-0002';
const O = 'sk-proj-cont-test-O-0001';
const P = 'sk-proj-cont-test-P-0002';

let stack: TestStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

type Layout = Exclude<RelayConfig['channels'], undefined>[number];
function start(channel: Partial<Layout> = {}, b: object = {}, mocks: { bPrefill?: boolean } = {}, extra: Partial<RelayConfig> = {}) {
  return startStack(
    {
      upstreams: [
        { name: 'a', kind: 'claude', tokens: [A], seed: 5, output: { tokens: 20 } },
        { name: 'b', kind: 'claude', tokens: [B], seed: 6, output: { tokens: 8 }, prefill: mocks.bPrefill ?? true },
        { name: 'o', kind: 'openai', tokens: [O], seed: 5, output: { tokens: 20 } },
        { name: 'p', kind: 'openai', tokens: [P], seed: 6, output: { tokens: 8 } },
      ],
    },
    (m: MockFleet) => ({
      cross_channel_failover: false,
      channels: [
        {
          name: 'main',
          continuation: 'prefill',
          ...channel,
          endpoints: [
            { name: 'A', type: 'claude', base_url: m.get('a').url, token: A, priority: 1 },
            { name: 'B', type: 'claude', base_url: m.get('b').url, token: B, priority: 2, ...b },
            { name: 'O', type: 'openai', base_url: m.get('o').url, token: O, priority: 1 },
            { name: 'P', type: 'openai', base_url: m.get('p').url, token: P, priority: 2, prefill: true },
          ],
        },
      ],
      ...extra,
    }),
  );
}

const cutMidText = { times: 1, action: { cut: { after: 'mid_content' as const, mode: 'fin' as const } } };

function parsed(text: string) {
  return sseEvents(text).map((e) => ({ event: e.event, data: e.data === '[DONE]' ? '[DONE]' : JSON.parse(e.data) }));
}

describe('continuation by prefill', () => {
  it('Anthropic: one message, the same text block goes on, usage summed, both upstreams billed', async () => {
    stack = await start();
    await stack.mocks.control.addRule('a', cutMidText);
    const res = await ask(stack.relay, '/v1/messages', claudeBody({ stream: true }));
    expect(res.status).toBe(200);
    const events = parsed(res.text);
    const types = events.map((e) => e.event);
    expect(types.filter((t) => t === 'message_start')).toHaveLength(1);
    expect(types.filter((t) => t === 'content_block_start')).toHaveLength(1);
    expect(types.filter((t) => t === 'content_block_stop')).toHaveLength(1);
    expect(types.filter((t) => t === 'message_stop')).toHaveLength(1);
    expect(types.at(-1)).toBe('message_stop');
    expect(types).not.toContain('error');
    for (const e of events) if (e.event?.startsWith('content_block')) expect(e.data.index).toBe(0);
    const [first, second] = await stack.mocks.control.journal();
    expect(first.upstream).toBe('a');
    expect(second.upstream).toBe('b');
    // B was asked to go on from exactly what the client had, with nothing else added.
    expect(second.prefill).toBe(first.text);
    const sentA = first.body as { messages: unknown[]; system?: unknown };
    const sentB = second.body as { messages: unknown[]; system?: unknown };
    expect(sentB.messages).toEqual([...sentA.messages, { role: 'assistant', content: first.text }]);
    expect(sentB.system).toEqual(sentA.system);
    const text = events.filter((e) => e.event === 'content_block_delta').map((e) => e.data.delta.text).join('');
    expect(text).toBe(first.text! + second.text!);
    const delta = events.find((e) => e.event === 'message_delta')!.data;
    expect(delta.usage.output_tokens).toBe(first.usage!.outputTokens + second.usage!.outputTokens);
    expect(delta.usage.input_tokens).toBe(first.usage!.inputTokens + second.usage!.inputTokens);
    const [log] = await requestLog(stack.relay, res);
    expect(log.attempts.map((a: { endpoint: string; errorClass?: string }) => `${a.endpoint}:${a.errorClass ?? 'ok'}`)).toEqual(['A:stream_truncated', 'B:ok']);
  });

  it('chat: one completion id, one role chunk, one [DONE], the usage chunk summed', async () => {
    stack = await start();
    await stack.mocks.control.addRule('o', cutMidText);
    const res = await ask(stack.relay, '/v1/chat/completions', { model: 'gpt-4o', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi chat' }] });
    expect(res.status).toBe(200);
    const events = parsed(res.text);
    expect(events.filter((e) => e.data === '[DONE]')).toHaveLength(1);
    const chunks = events.filter((e) => e.data !== '[DONE]').map((e) => e.data);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks.filter((c) => c.choices[0]?.delta?.role)).toHaveLength(1);
    const [first, second] = await stack.mocks.control.journal();
    expect(second.upstream).toBe('p');
    expect((second.body as { messages: unknown[] }).messages.at(-1)).toEqual({ role: 'assistant', content: first.text, prefix: true });
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    expect(text).toBe(first.text! + second.text!);
    const usage = chunks.find((c) => c.usage)!.usage;
    expect(usage.completion_tokens).toBe(first.usage!.outputTokens + second.usage!.outputTokens);
  });

  it('a cut inside a tool call is never continued: the original cause ends the stream', async () => {
    stack = await start();
    // The answer is a short text, then a tool_use block; the cut lands in its arguments.
    await stack.mocks.control.addRule('a', { times: 1, action: { respond: { tool_call: { name: 'get_weather' } }, cut: { after: 'last_content', mode: 'fin' } } });
    const tools = [{ name: 'get_weather', description: 'w', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }];
    const res = await ask(stack.relay, '/v1/messages', claudeBody({ stream: true, tools }));
    const events = parsed(res.text);
    expect(events.at(-1)!.event).toBe('error');
    expect(events.at(-1)!.data.error.message).toContain('upstream stream failed');
    expect((await stack.mocks.control.journal()).map((e) => e.upstream)).toEqual(['a']);
  });

  it('a cut inside a thinking block is never continued: the thinking went out, no text, the original cause ends the stream', async () => {
    stack = await start();
    await stack.mocks.control.addRule('a', { times: 1, action: { cut: { after: 'mid_reasoning', mode: 'fin' } } });
    const res = await ask(stack.relay, '/v1/messages', claudeBody({ stream: true, max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 2048 } }));
    expect(res.status).toBe(200);
    const events = parsed(res.text);
    const deltas = events.filter((e) => e.event === 'content_block_delta').map((e) => e.data.delta.type);
    expect(deltas.length).toBeGreaterThan(0);
    expect(new Set(deltas)).toEqual(new Set(['thinking_delta']));
    expect(events.at(-1)!.event).toBe('error');
    expect(events.at(-1)!.data.error.message).toContain('upstream stream failed');
    expect((await stack.mocks.control.journal()).map((e) => e.upstream)).toEqual(['a']);
    const [log] = await requestLog(stack.relay, res);
    expect(log.attempts.map((a: { endpoint: string }) => a.endpoint)).toEqual(['A']);
  });

  it('a model that refuses prefill is skipped with its 400 never shown; the original cause ends the stream', async () => {
    stack = await start({}, {}, { bPrefill: false });
    await stack.mocks.control.addRule('a', cutMidText);
    const res = await ask(stack.relay, '/v1/messages', claudeBody({ stream: true }));
    expect(res.status).toBe(200);
    const events = parsed(res.text);
    expect(events.at(-1)!.event).toBe('error');
    expect(events.at(-1)!.data.error.message).toContain('upstream stream failed');
    expect(res.text).not.toContain('prefill');
    const [log] = await requestLog(stack.relay, res);
    expect(log.attempts.map((a: { endpoint: string; errorClass?: string }) => `${a.endpoint}:${a.errorClass}`)).toEqual(['A:stream_truncated', 'B:prefill_rejected']);
  });

  it('an endpoint declared prefill: false is never asked; nor is anything when continuation is off or the endpoint is out of failover', async () => {
    for (const [channel, b] of [[{}, { prefill: false }], [{ continuation: 'off' as const }, {}], [{}, { failover_enabled: false }]] as const) {
      stack = await start(channel, b);
      await stack.mocks.control.addRule('a', cutMidText);
      const res = await ask(stack.relay, '/v1/messages', claudeBody({ stream: true }));
      expect(parsed(res.text).at(-1)!.event).toBe('error');
      expect((await stack.mocks.control.journal()).map((e) => e.upstream)).toEqual(['a']);
      await stack.close();
      stack = undefined;
    }
  });

  it('a key can turn continuation on where its channel has it off', async () => {
    stack = await start({ continuation: 'off' }, {}, {}, { keys: [{ key: 'rk-test-client-key-0001', name: 'tester', continuation: 'prefill' }] });
    await stack.mocks.control.addRule('a', cutMidText);
    const res = await ask(stack.relay, '/v1/messages', claudeBody({ stream: true }));
    expect(parsed(res.text).at(-1)!.event).toBe('message_stop');
  });
});
