import { describe, expect, it } from 'vitest';
import { CONTENT_TESTS, FirstContentDetector, type ContentProtocol } from './first-content.js';

const CHAT = [
  'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null}}]}\n\n',
  ': keep-alive\n\n',
  'data: {"choices":[{"index":0,"delta":{"content":"Hello"}}]}\n\n',
  'data: {"choices":[{"index":0,"delta":{"content":" world"}}]}\n\n',
  'data: [DONE]\n\n',
];

const MESSAGES = [
  'event: message_start\ndata: {"type":"message_start","message":{"content":[]}}\n\n',
  'event: content_block_start\r\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\r\n\r\n',
  'event: ping\ndata: {"type":"ping"}\n\n',
  'event: content_block_delta\r\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}\r\n\r\n',
  'event: message_stop\ndata: {"type":"message_stop"}\n\n',
];

const RESPONSES = [
  'event: response.created\ndata: {"type":"response.created"}\n\n',
  'event: response.in_progress\ndata: {"type":"response.in_progress"}\n\n',
  'event: response.output_item.added\ndata: {"type":"response.output_item.added"}\n\n',
  'event: response.content_part.added\ndata: {"type":"response.content_part.added"}\n\n',
  'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"Hi"}\n\n',
  'event: response.completed\ndata: {"type":"response.completed"}\n\n',
];

/** Feeds `events` joined and cut at `cuts`; returns the index of the push that reported the first content (-1: none). */
function feed(protocol: ContentProtocol, text: string, cuts: number[]): number {
  const d = new FirstContentDetector(CONTENT_TESTS[protocol]);
  const buf = Buffer.from(text);
  let from = 0;
  let at = -1;
  [...cuts, buf.length].forEach((to, i) => {
    if (d.push(buf.subarray(from, to)) && at === -1) at = i;
    else if (at !== -1) expect(d.push(Buffer.alloc(0))).toBe(false);
    from = to;
  });
  return at;
}

describe('FirstContentDetector', () => {
  it.each([
    ['openai-chat', CHAT, 2],
    ['anthropic', MESSAGES, 3],
    ['openai-responses', RESPONSES, 4],
  ] as const)('%s: the start events, pings and comments are not content; the first delta is', (protocol, events, index) => {
    // One event per chunk: the push of the content event is the one that reports it.
    const cuts = events.slice(0, -1).reduce<number[]>((acc, e) => [...acc, (acc.at(-1) ?? 0) + Buffer.byteLength(e)], []);
    expect(feed(protocol, events.join(''), cuts)).toBe(index);
  });

  it.each([['openai-chat', CHAT, 2], ['anthropic', MESSAGES, 3], ['openai-responses', RESPONSES, 4]] as const)(
    '%s: cut at every byte, the content event is reported by the chunk that ends it',
    (protocol, events, index) => {
      const text = events.join('');
      const contentEnds = Buffer.byteLength(events.slice(0, index + 1).join(''));
      for (let cut = 1; cut < Buffer.byteLength(text); cut++) {
        // Two chunks: the first holds the content event's end or it does not.
        const expected = cut >= contentEnds ? 0 : 1;
        // A chunk ending in a CR: the detector waits for the next byte to tell a CR line end from half a CRLF.
        const endsInCr = text[cut - 1] === '\r' && cut === contentEnds - 1;
        expect(feed(protocol, text, [cut]), `cut at ${cut}`).toBe(endsInCr ? 1 : expected);
      }
    },
  );

  it('reads the type from the data when the event has no name, and multi-byte text cut mid-character', () => {
    const unnamed = 'data: {"type":"message_start"}\n\ndata: {"type":"content_block_delta","delta":{"text":"é"}}\n\n';
    const buf = Buffer.from(unnamed);
    const mid = buf.indexOf(Buffer.from('é')) + 1;
    expect(feed('anthropic', unnamed, [mid])).toBe(1);
  });

  it('a chat tool call is content; a chunk with only a finish reason or usage is not', () => {
    const test = CONTENT_TESTS['openai-chat'];
    expect(test(undefined, '{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":""}}]}}]}')).toBe(true);
    expect(test(undefined, '{"choices":[{"delta":{},"finish_reason":"stop"}]}')).toBe(false);
    expect(test(undefined, '{"choices":[],"usage":{"total_tokens":3}}')).toBe(false);
    expect(test(undefined, '[DONE]')).toBe(false);
  });
});
