/** The encoded form of a stream: byte offsets must hold for any text, not only ASCII. */
import { describe, expect, it } from 'vitest';
import { encodeSse } from '../protocols/sse.js';
import type { LabeledEvent } from '../protocols/types.js';
import { encodeStream } from './stream-writer.js';

describe('encodeStream', () => {
  it('gives each event its exact bytes, and the output tokens before it (tokensForChars of the characters sent), with multi-byte and multi-line data', () => {
    const events: LabeledEvent[] = [
      { event: 'message_start', data: '{"type":"message_start"}', phase: 'start' },
      { data: '{"delta":"héllo wörld"}', phase: 'content', chars: 11 },
      { data: '{"delta":"日本語 🚀"}', phase: 'content', chars: 6 },
      { data: 'line one\nline two', phase: 'content', chars: 17 },
      { data: '[DONE]', phase: 'terminal' },
    ];
    const { bytes, starts, tokensBefore } = encodeStream(events);
    expect(bytes.toString('utf8')).toBe(events.map(encodeSse).join(''));
    events.forEach((e, i) => expect(bytes.subarray(starts[i], starts[i + 1]).toString('utf8')).toBe(encodeSse(e)));
    expect(starts[events.length]).toBe(bytes.length);
    expect([...tokensBefore]).toEqual([0, 0, 3, 5, 9, 9]);
  });
});
