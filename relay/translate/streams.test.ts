/**
 * Stream translation both ways, from the mocks' own stream builders (protocols/) through the
 * translator into the client protocol's observer: the text, usage, stop reason and tool call the
 * client reads are the upstream's, in the client protocol's event order.
 */
import { describe, expect, it } from 'vitest';
import { anthropic } from '../../protocols/anthropic.js';
import { openaiChat } from '../../protocols/openai-chat.js';
import { DONE_DATA } from '../../protocols/sse.js';
import { IDS, TEXT, TOOL, USAGE } from '../../protocols/test-fixtures.js';
import type { GeneratedContent, Protocol, SseEvent, StreamObserver } from '../../protocols/types.js';
import { isObject, tryParse } from '../../protocols/util.js';
import { AnthropicToChatStream } from './anthropic-stream-to-chat.js';
import { ChatToAnthropicStream } from './chat-stream-to-anthropic.js';
import type { EventTranslator } from './event-translator.js';

const CHAT_STREAM_BODY = { model: 'gpt-4o', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] };
const ANTHROPIC_STREAM_BODY = { model: 'claude-sonnet-4-5', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'hi' }] };

function chatStream(content: GeneratedContent, body: object = CHAT_STREAM_BODY): SseEvent[] {
  return openaiChat.buildStream(openaiChat.requestInfo(body), body, content, USAGE, IDS).map(({ phase: _p, chars: _c, ...ev }) => ev);
}
function anthropicStream(content: GeneratedContent): SseEvent[] {
  return anthropic.buildStream(anthropic.requestInfo(ANTHROPIC_STREAM_BODY), ANTHROPIC_STREAM_BODY, content, USAGE, IDS).map(({ phase: _p, chars: _c, reasoning: _r, ...ev }) => ev);
}
function run(t: EventTranslator, events: SseEvent[], clean = true): SseEvent[] {
  const out = events.flatMap((e) => t.push(e));
  return clean ? [...out, ...t.end()] : out;
}
function types(events: SseEvent[]): string[] {
  return events.map((e) => {
    const d = tryParse(e.data);
    return isObject(d) && typeof d.type === 'string' ? d.type : e.data === DONE_DATA ? '[DONE]' : 'chunk';
  });
}
function data(e: SseEvent): Record<string, unknown> {
  return tryParse(e.data) as Record<string, unknown>;
}
/** What the client protocol's own observer reads from the translated events. */
function observed(protocol: Pick<Protocol, 'createObserver'>, events: SseEvent[]): StreamObserver {
  const obs = protocol.createObserver();
  for (const e of events) obs.push(e);
  return obs;
}

describe('Chat stream -> Anthropic events', () => {
  const translate = (events: SseEvent[], clean = true) => run(new ChatToAnthropicStream({ estimatedInputTokens: 99 }), events, clean);

  it('text: the Messages event order, the upstream text, usage and end_turn', () => {
    const out = translate(chatStream(TEXT));
    expect(types(out)).toEqual(['message_start', 'content_block_start', ...TEXT.tokens.map(() => 'content_block_delta'), 'content_block_stop', 'message_delta', 'message_stop']);
    expect(out.every((e) => e.event === data(e).type)).toBe(true);
    const obs = observed(anthropic, out);
    expect(obs.text).toBe(TEXT.tokens.join(''));
    expect(obs.usage).toEqual(USAGE);
    expect(obs.stopReason).toBe('end_turn');
    expect(obs.complete).toBe(true);
  });

  it('a tool call: the text block stops, a tool_use block streams its input JSON, stop_reason tool_use', () => {
    const out = translate(chatStream(TOOL));
    const starts = out.filter((e) => e.event === 'content_block_start').map((e) => data(e));
    expect(starts).toEqual([
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'call_tc1', name: 'get_weather', input: {} } },
    ]);
    const json = out
      .map((e) => data(e))
      .filter((d) => d.type === 'content_block_delta' && (d.delta as { type: string }).type === 'input_json_delta')
      .map((d) => (d.delta as { partial_json: string }).partial_json)
      .join('');
    expect(JSON.parse(json)).toEqual(TOOL.toolCall!.input);
    expect(out.filter((e) => e.event === 'content_block_stop').map((e) => data(e).index)).toEqual([0, 1]);
    const obs = observed(anthropic, out);
    expect(obs.stopReason).toBe('tool_use');
  });

  it('length reads as max_tokens', () => {
    const obs = observed(anthropic, translate(chatStream({ ...TEXT, stopReason: 'max_tokens' })));
    expect(obs.stopReason).toBe('max_tokens');
  });

  it('message_delta waits for the usage chunk that follows the finish', () => {
    const events = chatStream(TEXT);
    const t = new ChatToAnthropicStream({ estimatedInputTokens: 99 });
    const finish = events.findIndex((e) => (data(e).choices as Array<{ finish_reason: unknown }>)?.[0]?.finish_reason);
    const upToFinish = events.slice(0, finish + 1).flatMap((e) => t.push(e));
    expect(types(upToFinish)).not.toContain('message_delta');
    expect(types(t.push(events[finish + 1]))).toEqual(['message_delta']);
  });

  it('an upstream without usage: message_delta at [DONE] carries the estimate', () => {
    const out = translate(chatStream(TEXT, { ...CHAT_STREAM_BODY, stream_options: undefined }));
    const delta = data(out.find((e) => e.event === 'message_delta')!);
    expect(delta.usage).toMatchObject({ input_tokens: 99 });
    expect((delta.usage as { output_tokens: number }).output_tokens).toBeGreaterThan(0);
    expect(types(out).slice(-2)).toEqual(['message_delta', 'message_stop']);
  });

  it('a stream that ends after the finish without [DONE] gets message_delta, never message_stop (the relay repairs it)', () => {
    const events = chatStream(TEXT).filter((e) => e.data !== DONE_DATA);
    const out = translate(events);
    expect(types(out).slice(-2)).toEqual(['content_block_stop', 'message_delta']);
  });

  it('a stream cut before the finish ends with no finish of its own', () => {
    const events = chatStream(TEXT).slice(0, 4);
    const out = translate(events);
    const obs = observed(anthropic, out);
    expect(obs.finished).toBe(false);
    expect(types(out)).not.toContain('message_delta');
  });

  it('an error chunk becomes an Anthropic error event (an overload stays one)', () => {
    const t = new ChatToAnthropicStream({ estimatedInputTokens: 0 });
    const [ev] = t.push({ data: JSON.stringify({ error: { message: 'The server is overloaded', type: 'server_error', code: 'overloaded' } }) });
    expect(ev.event).toBe('error');
    expect(data(ev)).toEqual({ type: 'error', error: { type: 'overloaded_error', message: 'The server is overloaded' } });
  });
});

describe('Anthropic events -> Chat stream', () => {
  const translate = (events: SseEvent[], includeUsage = true, clean = true) => run(new AnthropicToChatStream({ created: 1_700_000_000, includeUsage }), events, clean);

  it('text: role chunk, content chunks, finish chunk, usage chunk, [DONE]; one id, created and model', () => {
    const out = translate(anthropicStream(TEXT));
    expect(out[0].data).toContain('"role":"assistant"');
    expect(out[out.length - 1].data).toBe(DONE_DATA);
    const chunks = out.slice(0, -1).map(data);
    expect(new Set(chunks.map((c) => `${c.id} ${c.created} ${c.model}`)).size).toBe(1);
    expect(chunks[0]).toMatchObject({ object: 'chat.completion.chunk', created: 1_700_000_000, model: 'claude-sonnet-4-5' });
    expect(chunks[chunks.length - 1]).toMatchObject({ choices: [] });
    const obs = observed(openaiChat, out);
    expect(obs.text).toBe(TEXT.tokens.join(''));
    expect(obs.usage).toEqual(USAGE);
    expect(obs.stopReason).toBe('stop');
    expect(obs.complete).toBe(true);
  });

  it('with include_usage every other chunk carries usage: null; without, none does', () => {
    expect(translate(anthropicStream(TEXT), true).slice(0, -2).every((e) => data(e).usage === null)).toBe(true);
    expect(translate(anthropicStream(TEXT), false).slice(0, -2).every((e) => !('usage' in data(e)))).toBe(true);
  });

  it('a tool_use block: one tool call (index 0, id, name), its arguments in pieces, finish tool_calls', () => {
    const out = translate(anthropicStream(TOOL));
    const calls = out
      .slice(0, -1)
      .map(data)
      .flatMap((c) => ((c.choices as Array<{ delta: { tool_calls?: Array<Record<string, unknown>> } }>)[0]?.delta.tool_calls ?? []));
    expect(calls[0]).toEqual({ index: 0, id: 'toolu_tc1', type: 'function', function: { name: 'get_weather', arguments: '' } });
    expect(JSON.parse(calls.slice(1).map((c) => (c.function as { arguments: string }).arguments).join(''))).toEqual(TOOL.toolCall!.input);
    const obs = observed(openaiChat, out);
    expect(obs.stopReason).toBe('tool_calls');
  });

  it('max_tokens reads as length', () => {
    const obs = observed(openaiChat, translate(anthropicStream({ ...TEXT, stopReason: 'max_tokens' })));
    expect(obs.stopReason).toBe('length');
  });

  it('an error event becomes an error chunk that keeps its type', () => {
    const out = translate([anthropic.streamErrorEvents('Overloaded', 'overloaded_error')[0]]);
    expect(data(out[0])).toEqual({ error: { message: 'Overloaded', type: 'overloaded_error', param: null, code: null } });
    const obs = observed(openaiChat, [out[0]]);
    expect(obs.error).toEqual({ type: 'overloaded_error', message: 'Overloaded' });
  });

  it('thinking goes on as reasoning_content; pings are dropped', () => {
    const t = new AnthropicToChatStream({ created: 0, includeUsage: false });
    expect(t.push({ event: 'ping', data: '{"type":"ping"}' })).toEqual([]);
    const [ev] = t.push({ event: 'content_block_delta', data: JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'hmm' } }) });
    expect(data(ev).choices).toEqual([{ index: 0, delta: { reasoning_content: 'hmm' }, logprobs: null, finish_reason: null }]);
  });
});
