import { describe, expect, it } from 'vitest';
import { PROTOCOL_IDS, protocolFor, protocolForKind, UPSTREAM_KINDS } from './index.js';

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
