/**
 * Counts SSE events in a byte stream without decoding them, and tells when the terminal event
 * (recognised by marker bytes such as `data: [DONE]`) has ended. The streaming load client runs
 * thousands of streams in one process and must cost far less than what it measures; decoding
 * every event (protocols/sse.ts, which everything else uses) cost it a third of its CPU.
 *
 * An event ends at an empty line; lines end with LF or CRLF (a lone CR, legal but unused by any
 * upstream, is not recognised). A blank line with no line before it dispatches nothing and is not
 * counted, as in the SSE specification.
 */
const LF = 0x0a;
const CR = 0x0d;
const NO_MARKER = Number.POSITIVE_INFINITY;

export class SseEventCounter {
  private readonly markers: Buffer[];
  private readonly overlap: number;
  /** Bytes of the line in progress that arrived in earlier chunks. */
  private carried = 0;
  /** The single carried byte is a CR (so "\r" + "\n" is an empty CRLF line). */
  private carriedCr = false;
  private eventHasLines = false;
  /** The terminal marker was seen in the event in progress. */
  private terminalPending = false;
  private tail: Buffer = Buffer.alloc(0);
  /** The terminal event has ended. */
  terminal = false;

  constructor(terminalMarkers: readonly string[]) {
    this.markers = terminalMarkers.map((m) => Buffer.from(m));
    this.overlap = Math.max(0, ...this.markers.map((m) => m.length - 1));
  }

  /** Feeds a chunk; returns the number of events it completed. */
  push(chunk: Buffer): number {
    const marker = this.terminal ? NO_MARKER : this.findMarker(chunk);
    let events = 0;
    let start = 0;
    /** Where the event in progress began in this chunk (0: in an earlier chunk). */
    let eventStart = 0;
    for (let i = chunk.indexOf(LF); i !== -1; i = chunk.indexOf(LF, i + 1)) {
      const inChunk = i - start;
      const length = inChunk + this.carried;
      const onlyCr = inChunk === 1 ? chunk[start] === CR : inChunk === 0 && this.carriedCr;
      if (length === 0 || (length === 1 && onlyCr)) {
        if (this.eventHasLines) {
          events++;
          if (this.terminalPending || marker < i) this.terminal = true;
          this.terminalPending = false;
        }
        this.eventHasLines = false;
        eventStart = i + 1;
      } else {
        this.eventHasLines = true;
      }
      this.carried = 0;
      this.carriedCr = false;
      start = i + 1;
    }
    const rest = chunk.length - start;
    if (rest > 0) {
      this.carriedCr = this.carried === 0 && rest === 1 && chunk[start] === CR;
      this.carried += rest;
    }
    // A marker in the event still in progress: that event ends in a later chunk.
    if (!this.terminal && marker !== NO_MARKER && (marker >= eventStart || marker < 0)) this.terminalPending = true;
    return events;
  }

  /**
   * Index of the first terminal marker in this chunk; -1 when one straddles the previous chunk's
   * end (it starts before anything in this chunk); NO_MARKER when there is none.
   */
  private findMarker(chunk: Buffer): number {
    let at = NO_MARKER;
    for (const m of this.markers) {
      const i = chunk.indexOf(m);
      if (i !== -1 && i < at) at = i;
    }
    if (at === NO_MARKER && this.tail.length > 0) {
      const joined = Buffer.concat([this.tail, chunk.subarray(0, this.overlap)]);
      for (const m of this.markers) if (joined.indexOf(m) !== -1) at = -1;
    }
    if (this.overlap > 0) {
      const tail = chunk.length >= this.overlap ? chunk.subarray(chunk.length - this.overlap) : Buffer.concat([this.tail, chunk]).subarray(-this.overlap);
      // A copy: a view would keep the whole chunk alive.
      this.tail = Buffer.from(tail);
    }
    return at;
  }
}
