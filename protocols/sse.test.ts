import { describe, expect, it } from 'vitest';
import { encodeSse, encodeSseAll, isDone, SseDecoder, SseFramer, wholeEventsEnd } from './sse.js';
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

describe('wholeEventsEnd and SseFramer: whole events only', () => {
  const end = (s: string) => wholeEventsEnd(Buffer.from(s));

  it('finds the end of the last whole event for \\n, \\r\\n and \\r line ends', () => {
    expect(end('data: 1\n\n')).toBe(9);
    expect(end('data: 1\n\ndata: 2')).toBe(9);
    expect(end('data: 1\n\nevent: x\ndata: 2\n')).toBe(9);
    expect(end('data: 1\r\n\r\ndata: 2\r\n')).toBe(11);
    expect(end('data: 1\r\rdata')).toBe(9);
    expect(end('data: 1\n')).toBe(0);
    expect(end('data: 1')).toBe(0);
    expect(end('')).toBe(0);
  });

  it('forwards, split at every byte, exactly the bytes of whole events, and nothing of a partial one', () => {
    // Split after the \r of a last \r\n, the event ends there (a bare \r ends a line too) and the \n goes with what follows.
    const cases: Array<[string, string, string[]]> = [
      ['event: a\ndata: {"x":1}\n\nevent: b\ndata: {"y":2}\n\n', 'event: c\ndata: {"z"', ['a', 'b']],
      ['event: a\r\ndata: 1\r\n\r\ndata: [DONE]\r\n\r', '\ndata: 3\r\n', ['a', '[DONE]']],
    ];
    for (const [whole, partial, names] of cases) {
      const wire = whole + partial;
      const bytes = Buffer.from(wire);
      const framer = new SseFramer();
      let out = '';
      for (let i = 0; i < bytes.length; i++) out += framer.take(bytes.subarray(i, i + 1)).toString();
      expect(out).toBe(whole);
      expect(framer.partialBytes).toBe(partial.length);
      // What the client got, followed by what a relay writes next (an error event), decodes to whole events.
      const d = new SseDecoder();
      const next = encodeSse({ event: 'error', data: '{"type":"error"}' });
      expect([...d.push(out), ...d.push(next)].map((e) => e.event ?? e.data)).toEqual([...names, 'error']);
      expect(d.malformed).toBe(false);
    }
  });

  it('passes a chunk that ends on a boundary through as the same buffer (no copy on the hot path)', () => {
    const framer = new SseFramer();
    const chunk = Buffer.from('data: 1\n\ndata: 2\n\n');
    expect(framer.take(chunk)).toBe(chunk);
    expect(framer.partialBytes).toBe(0);
  });

  it('does not count the rest of a \\r\\n split after its \\r as a partial event', () => {
    const framer = new SseFramer();
    expect(framer.take(Buffer.from('data: 1\r\n\r')).toString()).toBe('data: 1\r\n\r');
    expect(framer.take(Buffer.from('\n')).toString()).toBe('');
    expect(framer.partialBytes).toBe(0);
  });
});
