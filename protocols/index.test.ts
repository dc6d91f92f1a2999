import { describe, expect, it } from 'vitest';
import { PROTOCOL_IDS, protocolFor, protocolForKind, UPSTREAM_KINDS } from './index.js';
import { IDS, TEXT, TOOL, USAGE } from './test-fixtures.js';

describe('protocol lookup', () => {
  it('maps kinds to wire protocols', () => {
    expect(protocolForKind('claude').id).toBe('anthropic');
    expect(protocolForKind('openai').id).toBe('openai-chat');
    expect(protocolForKind('openai-responses').id).toBe('openai-responses');
    expect(protocolForKind('chatgpt-oauth').id).toBe('openai-responses');
    expect(protocolForKind('custom-pass').id).toBe('custom-pass');
    for (const id of PROTOCOL_IDS) expect(protocolFor(id).id).toBe(id);
    expect(UPSTREAM_KINDS).toHaveLength(5);
    expect(() => protocolFor('nope' as never)).toThrow(/unknown protocol/);
    expect(() => protocolForKind('nope' as never)).toThrow(/unknown upstream kind/);
  });
});

describe('observers that only count', () => {
  const bodies: Record<string, unknown> = {
    anthropic: { model: 'claude-sonnet-4-6', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'Hello there' }] },
    'openai-chat': { model: 'gpt-4o', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Hi' }] },
    'openai-responses': { model: 'gpt-5', stream: true, input: 'fix it' },
  };
  for (const [id, body] of Object.entries(bodies)) {
    it(`${id}: { text: false } keeps no text and observes the rest as with it`, () => {
      const protocol = protocolFor(id as never);
      for (const content of [TEXT, TOOL]) {
        const events = protocol.buildStream(protocol.requestInfo(body), body, content, USAGE, IDS);
        const full = protocol.createObserver();
        const counting = protocol.createObserver({ text: false });
        for (const e of events) expect(counting.push(e)).toBe(full.push(e));
        if (content === TEXT) expect(full.text.length).toBeGreaterThan(0);
        expect(counting.text).toBe('');
        const rest = (o: object) => ({ ...o, text: undefined, keepText: undefined });
        expect(rest(counting)).toEqual(rest(full));
        expect(counting.contentTokens).toBe(full.contentTokens);
      }
    });
  }
});
