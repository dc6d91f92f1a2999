import { describe, expect, it } from 'vitest';
import { encodeSse, encodeSseAll, isDone, SseDecoder } from './sse.js';
import type { SseEvent } from './types.js';

const EVENTS: SseEvent[] = [
  { event: 'message_start', data: '{"type":"message_start","x":"ünïcødé 🌍"}' },
  { data: '{"a":1}' },
  { event: 'multi', data: 'line one\nline two', id: '7' },
  { data: '[DONE]' },
];

describe('encodeSse', () => {
  it('writes event, id and one data line per data line, ending with a blank line', () => {
    expect(encodeSse({ event: 'ping', data: '{"type":"ping"}' })).toBe('event: ping\ndata: {"type":"ping"}\n\n');
    expect(encodeSse({ data: 'a\nb', id: '1' })).toBe('id: 1\ndata: a\ndata: b\n\n');
    expect(encodeSse({ data: '[DONE]' })).toBe('data: [DONE]\n\n');
  });
});

describe('SseDecoder', () => {
  it('decodes what encodeSse wrote, in one chunk', () => {
    const d = new SseDecoder();
    expect(d.push(encodeSseAll(EVENTS))).toEqual(EVENTS);
    expect(d.malformed).toBe(false);
  });

  it('is exact when the bytes are split at every single byte (multi-byte characters included)', () => {
    const bytes = Buffer.from(encodeSseAll(EVENTS), 'utf8');
    const d = new SseDecoder();
    const out: SseEvent[] = [];
    for (let i = 0; i < bytes.length; i++) out.push(...d.push(bytes.subarray(i, i + 1)));
    out.push(...d.flush());
    expect(out).toEqual(EVENTS);
  });

  it('handles CRLF split between chunks byte by byte', () => {
    const wire = 'event: a\r\ndata: 1\r\n\r\ndata: [DONE]\r\n\r\n';
    const d = new SseDecoder();
    const out: SseEvent[] = [];
    for (const ch of wire) out.push(...d.push(ch));
    expect(out).toEqual([{ event: 'a', data: '1' }, { data: '[DONE]' }]);
  });

  it('handles CRLF line endings and comments', () => {
    const d = new SseDecoder();
    expect(d.push(': keep-alive\r\n\r\nevent: x\r\ndata: 1\r\n\r\n')).toEqual([{ event: 'x', data: '1' }]);
    expect(d.comments).toBe(1);
  });

  it('signals malformed lines instead of throwing, and keeps decoding', () => {
    const d = new SseDecoder();
    const out = d.push('bogus line without colon\ndata: ok\n\n');
    expect(out).toEqual([{ data: 'ok' }]);
    expect(d.malformed).toBe(true);
    expect(d.problems[0].type).toBe('unknown-field');
  });

  it('does not dispatch a half event at end of stream', () => {
    const d = new SseDecoder();
    expect(d.push('data: {"cut":')).toEqual([]);
    expect(d.flush()).toEqual([]);
  });

  it('recognises [DONE]', () => {
    expect(isDone({ data: '[DONE]' })).toBe(true);
    expect(isDone({ data: '{}' })).toBe(false);
  });
});
