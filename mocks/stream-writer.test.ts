/** The encoded form of a stream: byte offsets must hold for any text, not only ASCII. */
import { describe, expect, it } from 'vitest';
import { encodeSse } from '../protocols/sse.js';
import type { LabeledEvent } from '../protocols/types.js';
import { encodeStream } from './stream-writer.js';

describe('encodeStream', () => {
  it('gives each event its exact bytes, and the tokens before it, with multi-byte and multi-line data', () => {
    const events: LabeledEvent[] = [
      { event: 'message_start', data: '{"type":"message_start"}', phase: 'start' },
      { data: '{"delta":"héllo wörld"}', phase: 'content', tokens: 2 },
      { data: '{"delta":"日本語 🚀"}', phase: 'content', tokens: 3 },
      { data: 'line one\nline two', phase: 'content', tokens: 1 },
      { data: '[DONE]', phase: 'terminal' },
    ];
    const { bytes, starts, tokensBefore } = encodeStream(events);
    expect(bytes.toString('utf8')).toBe(events.map(encodeSse).join(''));
    events.forEach((e, i) => expect(bytes.subarray(starts[i], starts[i + 1]).toString('utf8')).toBe(encodeSse(e)));
    expect(starts[events.length]).toBe(bytes.length);
    expect([...tokensBefore]).toEqual([0, 0, 2, 5, 6, 6]);
  });
});
