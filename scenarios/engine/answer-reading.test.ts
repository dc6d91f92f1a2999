/**
 * What the engine's client reads from a stream beyond text and usage: the event order
 * (event-order.ts) and the answer's parts (answer-parts.ts), on streams the protocols' own
 * builders write, and on the misordered or invented ones a translating relay might write.
 */
import { describe, expect, it } from 'vitest';
import { protocolFor } from '../../protocols/index.js';
import { IDS, TEXT, TOOL, TOOLS_ANTHROPIC, TOOLS_OPENAI, USAGE } from '../../protocols/test-fixtures.js';
import type { ProtocolId, SseEvent } from '../../protocols/types.js';
import { blockTypesFromBody, StreamParts, toolCallsFromBody } from './answer-parts.js';
import { eventOrderCheck } from './event-order.js';

const BODY: Record<'anthropic' | 'openai-chat', object> = {
  anthropic: { model: 'claude-sonnet-4-6', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'hi' }], tools: TOOLS_ANTHROPIC },
  'openai-chat': { model: 'gpt-4o', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }], tools: TOOLS_OPENAI },
};

function built(id: 'anthropic' | 'openai-chat', content = TOOL): SseEvent[] {
  const p = protocolFor(id);
  return p.buildStream(p.requestInfo(BODY[id]), BODY[id], content, USAGE, IDS).map(({ event, data }) => (event === undefined ? { data } : { event, data }));
}

function order(id: ProtocolId, events: SseEvent[]): string[] {
  const check = eventOrderCheck(id)!;
  for (const e of events) check.push(e);
  return check.end();
}

const ev = (type: string, extra: object = {}): SseEvent => ({ event: type, data: JSON.stringify({ type, ...extra }) });

describe('event order', () => {
  it.each(['anthropic', 'openai-chat'] as const)('%s: the builders\u2019 streams are in order, text and tool call alike', (id) => {
    expect(order(id, built(id, TEXT))).toEqual([]);
    expect(order(id, built(id, TOOL))).toEqual([]);
  });

  it('anthropic: a message_delta inside an open block, a skipped index and a missing message_stop are named', () => {
    const events = [
      ev('message_start', { message: {} }),
      ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
      ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'a' } }),
      ev('message_delta', { delta: { stop_reason: 'end_turn' } }),
      ev('content_block_start', { index: 2, content_block: { type: 'text', text: '' } }),
    ];
    const problems = order('anthropic', events);
    expect(problems).toEqual([
      'event 4: message_delta while block 0 is open',
      'event 5: content_block_start after message_delta',
      'event 5: no message_stop (nor error) at the end',
    ]);
    expect(order('anthropic', [ev('content_block_start', { index: 0 }), ev('message_stop')])[0]).toBe('event 1: content_block_start before message_start');
    // An error event ends a stream wherever it comes.
    expect(order('anthropic', [ev('message_start'), ev('error', { error: { type: 'overloaded_error' } })])).toEqual([]);
  });

  it('openai-chat: content after the finish_reason, usage before it and a missing [DONE] are named', () => {
    const chunk = (choices: object[], extra: object = {}): SseEvent => ({ data: JSON.stringify({ object: 'chat.completion.chunk', choices, ...extra }) });
    const problems = order('openai-chat', [
      chunk([], { usage: { prompt_tokens: 1, completion_tokens: 1 } }),
      chunk([{ index: 0, delta: { content: 'a' }, finish_reason: null }]),
      chunk([], { usage: { prompt_tokens: 1, completion_tokens: 1 } }),
      chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]),
      chunk([{ index: 0, delta: { content: 'late' }, finish_reason: null }]),
    ]);
    expect(problems).toEqual(['event 3: the usage chunk before every choice finished', 'event 5: choice 0 goes on after its finish_reason', 'event 5: no [DONE] at the end']);
    expect(order('openai-chat', [{ data: JSON.stringify({ object: 'chat.completion', choices: [] }) }, { data: '[DONE]' }])[0]).toMatch(/expected "chat.completion.chunk"/);
  });

  it('has no rules for Responses (the check then cannot pass)', () => {
    expect(eventOrderCheck('openai-responses')).toBeUndefined();
  });
});

describe('answer parts', () => {
  it.each(['anthropic', 'openai-chat'] as const)('%s: the tool call of a stream and of a body, with its input parsed', (id) => {
    const parts = new StreamParts(id);
    for (const e of built(id)) parts.push(e);
    const want = [{ name: TOOL.toolCall!.name, input: TOOL.toolCall!.input }];
    expect(parts.calls).toEqual(want);
    const p = protocolFor(id);
    const body = p.buildResponse(p.requestInfo(BODY[id]), BODY[id], TOOL, USAGE, IDS);
    expect(toolCallsFromBody(id, body)).toEqual(want);
  });

  it('anthropic: the block types, so an invented block shows', () => {
    const parts = new StreamParts('anthropic');
    for (const e of built('anthropic')) parts.push(e);
    expect(parts.blockTypes).toEqual(['text', 'tool_use']);
    expect(blockTypesFromBody('anthropic', { content: [{ type: 'server_tool_use' }, { type: 'text', text: 'x' }] })).toEqual(['server_tool_use', 'text']);
    expect(new StreamParts('openai-chat').blockTypes).toBeUndefined();
  });

  it('a call whose arguments are not a JSON object keeps no input', () => {
    const body = { choices: [{ message: { tool_calls: [{ type: 'function', function: { name: 'f', arguments: '{"a":' } }] } }] };
    expect(toolCallsFromBody('openai-chat', body)).toEqual([{ name: 'f', input: undefined }]);
  });
});
