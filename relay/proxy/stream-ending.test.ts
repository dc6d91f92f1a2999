import { describe, expect, it } from 'vitest';
import { protocolFor } from '../../protocols/index.js';
import { encodeSseAll } from '../../protocols/sse.js';
import type { ProtocolId, SseEvent } from '../../protocols/types.js';
import { streamEnding } from './stream-ending.js';

/** The mock's own stream for a protocol, as the relay's observer reads it, up to `keep` events. */
function observe(id: ProtocolId, keep: (phases: string[]) => number) {
  const p = protocolFor(id);
  const info = p.requestInfo({ model: 'm', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }], input: 'hi' });
  const events = p.buildStream(info, {}, { tokens: ['a', ' b'], stopReason: 'end_turn' }, { inputTokens: 3, outputTokens: 2, cacheWriteTokens: 0, cacheReadTokens: 0 }, { id: 'x', created: 1 });
  const n = keep(events.map((e) => e.phase));
  const o = p.createObserver();
  for (const e of events.slice(0, n)) o.push(e);
  return o;
}
const all = (phases: string[]) => phases.length;
const beforeTerminal = (phases: string[]) => phases.indexOf('terminal');
const afterContent = (phases: string[]) => phases.lastIndexOf('content') + 1;

describe('streamEnding: completion by meaning', () => {
  it('a whole stream is complete, for every protocol', () => {
    for (const id of ['anthropic', 'openai-chat', 'openai-responses'] as const) expect(streamEnding(observe(id, all))).toBe('complete');
  });

  it('Anthropic after message_delta (stop_reason) and chat after the finish_reason and usage chunks: the model finished, only the sentinel is missing', () => {
    expect(streamEnding(observe('anthropic', beforeTerminal))).toBe('repair');
    expect(streamEnding(observe('openai-chat', beforeTerminal))).toBe('repair');
  });

  it('Responses has no sentinel apart from the finish: without response.completed the answer is cut', () => {
    expect(streamEnding(observe('openai-responses', beforeTerminal))).toBe('cut');
  });

  it('a stream that stops after the last text but before the model finished is cut', () => {
    for (const id of ['anthropic', 'openai-chat', 'openai-responses'] as const) expect(streamEnding(observe(id, afterContent))).toBe('cut');
  });

  it("the repair is the protocol's own sentinel, which completes the observer", () => {
    for (const id of ['anthropic', 'openai-chat'] as const) {
      const o = observe(id, beforeTerminal);
      for (const e of protocolFor(id).terminalEvents()) o.push(e);
      expect(o.complete).toBe(true);
      expect(streamEnding(o)).toBe('complete');
    }
    expect(encodeSseAll(protocolFor('anthropic').terminalEvents())).toBe('event: message_stop\ndata: {"type":"message_stop"}\n\n');
    expect(encodeSseAll(protocolFor('openai-chat').terminalEvents())).toBe('data: [DONE]\n\n');
  });

  it('an upstream error event ends as failed, a Responses response.incomplete as complete', () => {
    expect(streamEnding({ complete: false, finished: false, error: { type: 'overloaded_error', message: '' } })).toBe('failed');
    expect(streamEnding({ complete: true, finished: true, error: { type: 'incomplete', message: '', incomplete: true } })).toBe('complete');
  });

  it('chat with n > 1: finished once every choice carried its finish_reason', () => {
    const o = protocolFor('openai-chat').createObserver();
    const chunk = (index: number, finish: string | null): SseEvent => ({ data: JSON.stringify({ choices: [{ index, delta: finish ? {} : { content: 'x' }, finish_reason: finish }] }) });
    for (const e of [chunk(0, null), chunk(1, null), chunk(0, 'stop')]) o.push(e);
    expect(o.finished).toBe(false);
    o.push(chunk(1, 'stop'));
    expect(o.finished).toBe(true);
  });
});
