import { describe, expect, it } from 'vitest';
import { SseDecoder } from '../protocols/sse.js';
import { SseEventCounter } from './sse-counter.js';

const CHAT = [
  'data: {"choices":[{"delta":{"role":"assistant","content":""}}]}\n\n',
  ': keep-alive comment\n\n',
  'data: {"choices":[{"delta":{"content":"Hello"}}]}\n\n',
  'data: {"choices":[{"delta":{"content":" world"}}]}\n\n',
  'data: [DONE]\n\n',
].join('');

const MESSAGES = [
  'event: message_start\ndata: {"type":"message_start"}\n\n',
  'event: content_block_delta\r\ndata: {"type":"content_block_delta"}\r\n\r\n',
  'event: message_delta\ndata: {"type":"message_delta"}\n\n',
  'event: message_stop\ndata: {"type":"message_stop"}\n\n',
].join('');

/** Feeds `text` cut at the given positions; returns events per push and whether it ended. */
function feed(text: string, cuts: number[], markers: string[]) {
  const counter = new SseEventCounter(markers);
  const buf = Buffer.from(text);
  const counts: number[] = [];
  let from = 0;
  for (const to of [...cuts, buf.length]) {
    counts.push(counter.push(buf.subarray(from, to)));
    from = to;
  }
  return { total: counts.reduce((a, b) => a + b, 0), counts, terminal: counter.terminal };
}

/** What the real decoder sees, for comparison (comments and blank lines dispatch nothing). */
function decoded(text: string): number {
  return new SseDecoder().push(Buffer.from(text)).length;
}

describe('SseEventCounter', () => {
  it('counts what the SSE decoder decodes, however the bytes are split', () => {
    for (const [text, markers] of [
      [CHAT, ['data: [DONE]']],
      [MESSAGES, ['event: message_stop']],
    ] as const) {
      const expected = decoded(text) + (text.includes(': keep-alive') ? 1 : 0);
      for (let cut = 0; cut <= text.length; cut++) {
        const r = feed(text, [cut], [...markers]);
        expect(r.total, `cut at ${cut}`).toBe(expected);
        expect(r.terminal, `cut at ${cut}`).toBe(true);
      }
      // One byte at a time.
      const bytes = Array.from({ length: Buffer.byteLength(text) - 1 }, (_, i) => i + 1);
      expect(feed(text, bytes, [...markers])).toMatchObject({ total: expected, terminal: true });
    }
  });

  it('reports the terminal event only once that event has ended', () => {
    const upToMarker = CHAT.indexOf('data: [DONE]') + 'data: [DONE]'.length;
    const r = feed(CHAT, [upToMarker], ['data: [DONE]']);
    expect(r.counts[0]).toBe(4);
    expect(r.counts[1]).toBe(1);
    const partial = new SseEventCounter(['data: [DONE]']);
    partial.push(Buffer.from(CHAT.slice(0, upToMarker)));
    expect(partial.terminal).toBe(false);
  });

  it('a stream cut before its terminal event is not terminal', () => {
    const cut = CHAT.slice(0, CHAT.indexOf('data: [DONE]'));
    expect(feed(cut, [10, 40], ['data: [DONE]'])).toMatchObject({ total: 4, terminal: false });
    expect(feed(MESSAGES.replace('event: message_stop', 'event: ping'), [], ['event: message_stop']).terminal).toBe(false);
  });

  it('accepts any of several markers (relays that write data:[DONE] without the space)', () => {
    expect(feed('data: {"a":1}\n\ndata:[DONE]\n\n', [], ['data: [DONE]', 'data:[DONE]'])).toMatchObject({ total: 2, terminal: true });
  });

  it('blank lines with no event before them dispatch nothing', () => {
    expect(feed('\n\n\r\n', [], []).total).toBe(0);
    expect(feed('data: x\n\n\n\n', [], []).total).toBe(1);
  });
});
