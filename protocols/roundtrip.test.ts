/**
 * builder -> encodeSse -> SseDecoder (byte by byte) -> observer, for every streaming protocol:
 * the text, usage, phases and terminal read back are exactly what was built.
 */
import { describe, expect, it } from 'vitest';
import { protocolFor } from './index.js';
import { encodeSseAll, SseDecoder } from './sse.js';
import { countTextTokens, generatedOutputTokens } from './tokens.js';
import { IDS, TEXT, TOOL, TOOLS_ANTHROPIC, TOOLS_OPENAI, TOOLS_RESPONSES, USAGE } from './test-fixtures.js';
import type { GeneratedContent, LabeledEvent, ProtocolId, SseEvent, StreamObserver } from './types.js';

const BODIES: Record<Exclude<ProtocolId, 'custom-pass'>, { plain: object; tools: object }> = {
  anthropic: {
    plain: { model: 'claude-sonnet-4-6', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'hi' }] },
    tools: { model: 'claude-sonnet-4-6', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'hi' }], tools: TOOLS_ANTHROPIC },
  },
  'openai-chat': {
    plain: { model: 'gpt-4o', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] },
    tools: { model: 'gpt-4o', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }], tools: TOOLS_OPENAI },
  },
  'openai-responses': {
    plain: { model: 'gpt-5', stream: true, input: 'hi' },
    tools: { model: 'gpt-5', stream: true, input: 'hi', tools: TOOLS_RESPONSES },
  },
};

/** The stop reason as each protocol words it: Anthropic's stop_reason, Chat's finish_reason. */
const STOP_WORDS: Partial<Record<ProtocolId, Record<GeneratedContent['stopReason'], string>>> = {
  anthropic: { end_turn: 'end_turn', max_tokens: 'max_tokens', tool_use: 'tool_use' },
  'openai-chat': { end_turn: 'stop', max_tokens: 'length', tool_use: 'tool_calls' },
};

function decodeByteByByte(events: SseEvent[]): SseEvent[] {
  const bytes = Buffer.from(encodeSseAll(events), 'utf8');
  const d = new SseDecoder();
  const out: SseEvent[] = [];
  for (let i = 0; i < bytes.length; i++) out.push(...d.push(bytes.subarray(i, i + 1)));
  expect(d.malformed).toBe(false);
  return out;
}

function observe(id: ProtocolId, events: SseEvent[]): { obs: StreamObserver; phases: string[] } {
  const obs = protocolFor(id).createObserver();
  return { obs, phases: events.map((e) => obs.push(e)) };
}

const strip = (events: LabeledEvent[]): SseEvent[] => events.map(({ event, data, id }) => (event === undefined ? { data, id } : { event, data, id })).map((e) => JSON.parse(JSON.stringify(e)));

describe.each(Object.keys(BODIES) as Array<keyof typeof BODIES>)('%s stream round trip', (id) => {
  const p = protocolFor(id);

  for (const [label, content, bodyKey] of [
    ['text', TEXT, 'plain'],
    ['tool call', TOOL, 'tools'],
  ] as Array<[string, GeneratedContent, 'plain' | 'tools']>) {
    it(`${label}: text, usage, phases and terminal survive the wire`, () => {
      const body = BODIES[id][bodyKey];
      const req = p.requestInfo(body);
      const usage = { ...USAGE, outputTokens: generatedOutputTokens(content) };
      const built = p.buildStream(req, body, content, usage, IDS);
      const wire = decodeByteByByte(built);
      expect(wire).toEqual(strip(built));
      const { obs, phases } = observe(id, wire);
      expect(phases).toEqual(built.map((e) => e.phase));
      expect(obs.text).toBe(content.tokens.join(''));
      expect(obs.usage).toEqual(usage);
      expect(obs.complete).toBe(true);
      expect(obs.error).toBeUndefined();
      expect(obs.malformed).toBe(0);
      expect(obs.contentEvents).toBe(generatedOutputTokens(content));
      // Content events are labelled with the output characters they carry, and the observer
      // counts the same characters: both estimate a cut stream with the one rule (tokensForChars).
      const delivered = content.tokens.join('') + (content.toolCall?.argumentChunks.join('') ?? '');
      expect(built.reduce((n, e) => n + (e.chars ?? 0), 0)).toBe(delivered.length);
      expect(obs.contentTokens).toBe(countTextTokens(delivered));
      expect(built.at(-1)!.phase).toBe('terminal');
      // The stop reason in the protocol's own words (Responses has none).
      expect(obs.stopReason).toBe(STOP_WORDS[id]?.[content.stopReason]);
      expect(p.stopReasonFromBody?.(p.buildResponse(req, body, content, usage, IDS))).toBe(STOP_WORDS[id]?.[content.stopReason]);
    });
  }

  it('non-stream body: usage and text read back', () => {
    const body = BODIES[id].plain;
    const res = p.buildResponse(p.requestInfo(body), body, TEXT, USAGE, IDS);
    expect(p.usageFromBody(res)).toEqual(USAGE);
    expect(p.textFromBody(res)).toBe(TEXT.tokens.join(''));
  });

  it('in-stream errors are recognised after a delivered prefix', () => {
    const body = BODIES[id].plain;
    const built = p.buildStream(p.requestInfo(body), body, TEXT, USAGE, IDS);
    const prefix = built.slice(0, built.findIndex((e) => e.phase === 'content') + 2);
    for (const kind of ['overloaded', 'failed'] as const) {
      const errs = p.buildStreamError(kind, { ...USAGE, outputTokens: 2 }, IDS, { sequenceNumber: prefix.length });
      expect(errs.every((e) => e.phase === 'error')).toBe(true);
      const { obs, phases } = observe(id, decodeByteByByte([...prefix, ...errs]));
      expect(phases.at(-1)).toBe('error');
      expect(obs.error).toBeDefined();
      expect(obs.complete).toBe(false);
      expect(obs.contentEvents).toBe(2);
      expect(obs.text).toBe(TEXT.tokens.slice(0, 2).join(''));
    }
    const relayEnd = p.streamErrorEvents('upstream went away');
    const { obs } = observe(id, decodeByteByByte([...prefix, ...relayEnd]));
    expect(obs.error?.message).toBe('upstream went away');
    expect(obs.complete).toBe(false);
  });

  it('classifies malformed data without throwing', () => {
    const obs = p.createObserver();
    expect(() => obs.push({ data: '{not json' })).not.toThrow();
    expect(obs.malformed).toBe(1);
  });

  it('a cut stream reports what it saw and is not complete', () => {
    const body = BODIES[id].plain;
    const built = p.buildStream(p.requestInfo(body), body, TEXT, USAGE, IDS);
    const cut = built.slice(0, built.findIndex((e) => e.phase === 'terminal' || e.phase === 'usage'));
    const { obs } = observe(id, cut);
    expect(obs.complete).toBe(false);
    expect(obs.text).toBe(TEXT.tokens.join(''));
  });
});

describe('errorFromBody reads every protocol’s own error replies', () => {
  it.each(['anthropic', 'openai-chat', 'openai-responses', 'custom-pass'] as ProtocolId[])('%s', (id) => {
    const p = protocolFor(id);
    for (const status of [400, 401, 429, 500, 529]) {
      const reply = p.errorReply(status, `m${status}`, { code: status === 429 && id !== 'anthropic' ? 'insufficient_quota' : undefined });
      const e = p.errorFromBody(reply.body);
      expect(e?.message).toBe(`m${status}`);
      if (id === 'anthropic') expect((reply.body as any).error.type).toBe(e?.type);
      if (id.startsWith('openai') && status === 429) expect(e).toMatchObject({ type: 'insufficient_quota', code: 'insufficient_quota' });
    }
    expect(p.errorFromBody(p.buildResponse(p.requestInfo({ model: 'm' }), { model: 'm' }, { tokens: ['x'], stopReason: 'end_turn' }, { inputTokens: 1, outputTokens: 1, cacheReadTokens: 0, cacheWriteTokens: 0 }, { id: 'i', created: 1 }))).toBeUndefined();
    expect(p.errorFromBody('nope')).toBeUndefined();
  });
  it('reads the Codex backend detail form', () => {
    expect(protocolFor('openai-responses').errorFromBody({ detail: 'Unauthorized' })).toEqual({ type: 'error', code: null, message: 'Unauthorized' });
  });
});
