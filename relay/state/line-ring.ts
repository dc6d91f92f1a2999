/**
 * The newest request-log entries as UTF-8 JSON lines in one buffer allocated once, outside the
 * JavaScript heap, with the lines not yet written to disk handed out as bytes.
 *
 * Why not an array of strings: a busy relay appends a line per request and drops the oldest, so
 * an array of 10,000 strings turned the heap's old generation over at the request rate (each
 * line survived two young collections, was copied twice, promoted, and died there later): old-
 * generation garbage at ~0.7 MB/s at 1,000 req/s, collected by full collections whose pauses
 * were the relay's latency outliers, and a heap that grew for minutes before it settled. Here a
 * line is copied into the buffer once and its string is young garbage; the ring holds no object
 * per entry (offsets in typed arrays), so the collector has nothing of it to trace or move.
 *
 * The buffer is resident from construction (its pages written once), so the process's RSS shows
 * the ring's whole bound at start and does not rise while the head first runs through it.
 *
 * Bounded twice: at most `capacity` entries and `byteCapacity` bytes; the oldest go first. Each
 * line is stored followed by "\n", so the unsaved ones are the bytes of a JSON-lines file as they
 * stand. Lines not yet taken by `takeUnsaved` are never lost: one that must make room is copied
 * out first and handed out with the rest.
 */
const NEWLINE = 0x0a;

export class LineRing {
  private readonly buf: Buffer;
  /** Byte offset and length (without the newline) of each slot's line. */
  private readonly starts: Int32Array;
  private readonly lengths: Int32Array;
  /** Slot of the oldest entry. */
  private first = 0;
  private count = 0;
  /** Where the next line goes. */
  private head = 0;
  /** The newest `unsaved` entries have not been taken by takeUnsaved. */
  private unsaved = 0;
  /** Unsaved lines that had to make room, in order, each with its newline. */
  private spilled: Buffer[] = [];
  private spilledEntries = 0;

  constructor(
    readonly capacity: number,
    readonly byteCapacity: number = 8 * 1024 * 1024,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`ring capacity must be a positive integer, got ${capacity}`);
    if (!Number.isInteger(byteCapacity) || byteCapacity < 1) throw new Error(`ring byte capacity must be a positive integer, got ${byteCapacity}`);
    // Resident from the start: every page written once, here. Left untouched (allocUnsafeSlow
    // alone, or Buffer.alloc, which maps zero pages lazily) the buffer became resident as the
    // head first went through it, 8 MiB over the first ~16,000 lines of ~500 bytes: at 20 req/s
    // of coding-agent requests, RSS rose by 8 MB across the whole 10-minute resources-agents
    // window, which judges growth, so a buffer filling up read as a leak. Its size is a bound the
    // relay reaches after its first wrap and keeps; better shown at start than as growth.
    this.buf = Buffer.allocUnsafeSlow(byteCapacity).fill(0);
    this.starts = new Int32Array(capacity);
    this.lengths = new Int32Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Entries not yet taken by takeUnsaved (spilled ones included). */
  get unsavedEntries(): number {
    return this.unsaved + this.spilledEntries;
  }

  /** Bytes takeUnsaved would return. */
  get unsavedBytes(): number {
    let n = 0;
    for (const b of this.spilled) n += b.length;
    for (let i = this.count - this.unsaved; i < this.count; i++) n += this.lengths[this.slot(i)] + 1;
    return n;
  }

  /** Appends a line (no newline in it); `saved`: it is on disk already (read back at start). */
  push(line: string, saved = false): void {
    // Room for the worst case (3 bytes per UTF-16 unit) before writing, then the exact length.
    const worst = line.length * 3 + 1;
    if (worst > this.byteCapacity && Buffer.byteLength(line) + 1 > this.byteCapacity) {
      // Larger than the whole ring: it cannot be kept in memory, but it is still written, after
      // the unsaved lines before it.
      if (saved) return;
      const before = this.unsavedEntries;
      const pending = this.takeUnsaved();
      if (pending) this.spilled.push(pending);
      this.spilled.push(Buffer.from(line + '\n'));
      this.spilledEntries = before + 1;
      return;
    }
    const need = Math.min(worst, this.byteCapacity);
    if (this.head + need > this.byteCapacity) {
      // Wrap. The lines between here and the end are the oldest (the last cycle's tail): they go
      // first, so the lines at the start are the oldest again and room is made from there.
      while (this.count > 0 && this.starts[this.first] >= this.head) this.dropOldest();
      this.head = 0;
    }
    if (this.count === this.capacity) this.dropOldest();
    while (this.count > 0 && this.overlaps(this.starts[this.first], this.lengths[this.first] + 1, this.head, need)) this.dropOldest();
    const written = this.buf.write(line, this.head, 'utf8');
    this.buf[this.head + written] = NEWLINE;
    const s = this.slot(this.count);
    this.starts[s] = this.head;
    this.lengths[s] = written;
    this.count++;
    if (!saved) this.unsaved++;
    this.head += written + 1;
  }

  /** The i-th line, oldest first (0 <= i < size). */
  at(i: number): string {
    const s = this.slot(i);
    return this.buf.toString('utf8', this.starts[s], this.starts[s] + this.lengths[s]);
  }

  /** The unsaved lines, each followed by "\n", as one new buffer (undefined: none); they count as saved from now on. */
  takeUnsaved(): Buffer | undefined {
    if (this.unsavedEntries === 0) return undefined;
    const parts = this.spilled;
    // Consecutive lines are adjacent in the buffer unless the ring wrapped between them.
    let runStart = -1;
    let runEnd = -1;
    for (let i = this.count - this.unsaved; i < this.count; i++) {
      const s = this.slot(i);
      const start = this.starts[s];
      const end = start + this.lengths[s] + 1;
      if (start === runEnd) runEnd = end;
      else {
        if (runStart >= 0) parts.push(this.buf.subarray(runStart, runEnd));
        runStart = start;
        runEnd = end;
      }
    }
    if (runStart >= 0) parts.push(this.buf.subarray(runStart, runEnd));
    // A copy: the ring will write over these bytes while the disk write is still going.
    const out = Buffer.concat(parts);
    this.spilled = [];
    this.spilledEntries = 0;
    this.unsaved = 0;
    return out;
  }

  private slot(i: number): number {
    return (this.first + i) % this.capacity;
  }

  private overlaps(aStart: number, aLength: number, bStart: number, bLength: number): boolean {
    return aStart < bStart + bLength && bStart < aStart + aLength;
  }

  private dropOldest(): void {
    if (this.count === this.unsaved) {
      const s = this.first;
      this.spill(Buffer.from(this.buf.subarray(this.starts[s], this.starts[s] + this.lengths[s] + 1)));
      this.unsaved--;
    }
    this.first = (this.first + 1) % this.capacity;
    this.count--;
  }

  private spill(bytes: Buffer): void {
    this.spilled.push(bytes);
    this.spilledEntries++;
  }
}
