/**
 * An upstream event stream read through a translator: the upstream's bytes are decoded into
 * whole events, each becomes the client protocol's events, and those are handed on encoded, so
 * everything downstream (the relay's framing, commit point, observer, repair, error events,
 * billing) works on the client's protocol as if an upstream had spoken it. A partial event at a
 * cut never reaches the translator (nor the client), nor does one at a clean end (SSE never
 * dispatches an event without its blank line); on a clean end the translator's closing events go
 * out before the end.
 */
import { encodeSse, SseDecoder } from '../../protocols/sse.js';
import type { EventStreamReader } from '../proxy/upstream-request.js';
import type { EventTranslator } from './event-translator.js';

/** What the relay reads an upstream stream through (relay/proxy/upstream-request.ts UpstreamEventStream). */
export interface EventSource {
  read(reader: EventStreamReader): void;
  pause(): void;
  resume(): void;
  destroy(err?: Error): void;
}

export class TranslatedEventStream implements EventSource {
  private readonly decoder = new SseDecoder();

  constructor(
    private readonly upstream: EventSource,
    private readonly translator: EventTranslator,
  ) {}

  read(reader: EventStreamReader): void {
    let failed = false;
    /** A translator that throws is the relay's bug: the attempt fails like a broken upstream. */
    const guard = (fn: () => void) => {
      if (failed) return;
      try {
        fn();
      } catch (err) {
        failed = true;
        this.upstream.destroy();
        reader.error(err as Error);
      }
    };
    this.upstream.read({
      data: (chunk) =>
        guard(() => {
          let out = '';
          for (const ev of this.decoder.push(chunk)) for (const e of this.translator.push(ev)) out += encodeSse(e);
          if (out !== '') reader.data(Buffer.from(out));
        }),
      end: () =>
        guard(() => {
          let out = '';
          for (const ev of this.decoder.flush()) for (const e of this.translator.push(ev)) out += encodeSse(e);
          for (const e of this.translator.end()) out += encodeSse(e);
          if (out !== '') reader.data(Buffer.from(out));
          reader.end();
        }),
      error: (err) => {
        if (!failed) reader.error(err);
      },
    });
  }

  pause(): void {
    this.upstream.pause();
  }

  resume(): void {
    this.upstream.resume();
  }

  destroy(err?: Error): void {
    this.upstream.destroy(err);
  }
}
