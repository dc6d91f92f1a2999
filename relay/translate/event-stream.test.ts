/** The translated stream: whole events only, however the upstream's bytes are split; clean end vs failure. */
import { describe, expect, it } from 'vitest';
import { encodeSseAll, SseDecoder } from '../../protocols/sse.js';
import type { SseEvent } from '../../protocols/types.js';
import type { EventStreamReader } from '../proxy/upstream-request.js';
import { TranslatedEventStream, type EventSource } from './event-stream.js';
import type { EventTranslator } from './event-translator.js';

/** An upstream whose reader the test drives by hand. */
class FakeSource implements EventSource {
  reader: EventStreamReader | undefined;
  destroyed = false;
  read(reader: EventStreamReader): void {
    this.reader = reader;
  }
  pause(): void {}
  resume(): void {}
  destroy(): void {
    this.destroyed = true;
  }
}

/** Upper-cases each event's data; says `closing` at a clean end. */
const upper: EventTranslator = {
  push: (ev) => (ev.data === 'boom' ? (() => { throw new Error('translator bug'); })() : [{ event: ev.event, data: ev.data.toUpperCase() }]),
  end: () => [{ data: 'closing' }],
};

function collect(stream: TranslatedEventStream) {
  const got = { chunks: [] as Buffer[], ended: false, error: undefined as Error | undefined };
  stream.read({ data: (c) => got.chunks.push(c), end: () => (got.ended = true), error: (e) => (got.error = e) });
  const events = (): SseEvent[] => new SseDecoder().push(Buffer.concat(got.chunks));
  return { got, events };
}

describe('TranslatedEventStream', () => {
  it('hands on only whole translated events, however the bytes are split, then the closing events at a clean end', () => {
    const src = new FakeSource();
    const { got, events } = collect(new TranslatedEventStream(src, upper));
    const bytes = Buffer.from(encodeSseAll([{ event: 'a', data: 'one' }, { data: 'two' }]) + 'data: thr\n');
    for (let i = 0; i < bytes.length; i++) src.reader!.data(bytes.subarray(i, i + 1));
    // Every chunk handed on ends at an event boundary.
    expect(got.chunks.every((c) => c.toString().endsWith('\n\n'))).toBe(true);
    expect(events()).toEqual([{ event: 'a', data: 'ONE' }, { data: 'TWO' }]);
    // A clean end: an event without its blank line is never dispatched (SSE), the translator's closing events follow.
    src.reader!.end();
    expect(got.ended).toBe(true);
    expect(events()).toEqual([{ event: 'a', data: 'ONE' }, { data: 'TWO' }, { data: 'closing' }]);
  });

  it('a failure is passed on as is: no partial event, no closing events', () => {
    const src = new FakeSource();
    const { got, events } = collect(new TranslatedEventStream(src, upper));
    src.reader!.data(Buffer.from('data: one\n\ndata: tw'));
    src.reader!.error(new Error('reset'));
    expect(got.error?.message).toBe('reset');
    expect(got.ended).toBe(false);
    expect(events()).toEqual([{ data: 'ONE' }]);
  });

  it('a translator that throws fails the stream and stops the upstream', () => {
    const src = new FakeSource();
    const { got } = collect(new TranslatedEventStream(src, upper));
    src.reader!.data(Buffer.from('data: boom\n\n'));
    expect(got.error?.message).toBe('translator bug');
    expect(src.destroyed).toBe(true);
    src.reader!.data(Buffer.from('data: later\n\n'));
    expect(got.chunks).toEqual([]);
  });
});
