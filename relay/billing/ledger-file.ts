/**
 * The embedded ledger's file: one JSON line per movement, appended with one write() to an open
 * descriptor before the movement counts, and made durable with fdatasync in groups.
 *
 * Why two steps: a write() puts the line in the kernel's page cache, which survives the relay
 * process dying (SIGKILL, a crash, OOM): the next process reads it back. Only an operating-system
 * crash or a power cut can lose page-cache data, and fdatasync is what protects against that. An
 * fdatasync costs milliseconds, so the request path never waits for one: the first write after a
 * sync schedules the next sync `syncEveryMs` later (default 50 ms) on libuv's thread pool, and
 * every line written meanwhile rides on it (group commit). Loss window, documented in the README:
 * a power cut may lose the movements of the last `syncEveryMs` before it; a killed process loses
 * none.
 */
import { closeSync, existsSync, fdatasync, fdatasyncSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';

export const DEFAULT_SYNC_EVERY_MS = 50;
const READ_CHUNK_BYTES = 1024 * 1024;

export class LedgerFile {
  private fd: number | undefined;
  private syncTimer: ReturnType<typeof setTimeout> | undefined;
  private syncing = false;
  /** Lines written since the last fdatasync started. */
  private unsynced = 0;
  /** Completed fdatasync calls (tests watch it). */
  syncs = 0;

  constructor(
    readonly path: string,
    private readonly syncEveryMs = DEFAULT_SYNC_EVERY_MS,
    private readonly onError: (err: Error) => void = () => undefined,
  ) {}

  /** Bytes in the file once it is open for appending: where the next line starts. */
  size = 0;

  /** Every line in the file, oldest first, read in chunks (never the whole file at once). */
  *readLinesSync(): Generator<string> {
    for (const { line } of this.readLinesAtSync()) yield line;
  }

  /** The lines from byte `from` on (a line's start), each with the byte offset it starts at. */
  *readLinesAtSync(from = 0): Generator<{ line: string; offset: number }> {
    if (!existsSync(this.path)) return;
    let tail = '';
    let offset = from;
    for (const chunk of readChunks(this.path, from)) {
      const lines = (tail + chunk).split('\n');
      tail = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim()) yield { line, offset };
        offset += Buffer.byteLength(line) + 1;
      }
    }
    if (tail.trim()) yield { line: tail, offset };
  }

  /** The file ends without a newline: a crash in the middle of a write. */
  endsTorn(): boolean {
    if (!existsSync(this.path)) return false;
    const fd = openSync(this.path, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size === 0) return false;
      const last = Buffer.alloc(1);
      readSync(fd, last, 0, 1, size - 1);
      return last[0] !== 0x0a;
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Opens the file for appending. `tornTail`: the file ends without a newline (a crash in the
   * middle of a write), so the next line must start on a line of its own.
   */
  openForAppend(tornTail: boolean): void {
    this.fd = openSync(this.path, 'a');
    if (tornTail) writeSync(this.fd, '\n');
    this.size = fstatSync(this.fd).size;
  }

  /** One write(); throws (and nothing counts) if the kernel refused it. Returns the line's offset. */
  append(line: string): number {
    if (this.fd === undefined) throw new Error(`ledger file ${this.path} is not open`);
    const offset = this.size;
    this.size += writeSync(this.fd, line + '\n');
    this.unsynced++;
    this.syncTimer ??= this.schedule();
    return offset;
  }

  /** Every line, read from disk as it goes (admin queries; never the whole file in memory). */
  async *lines(): AsyncGenerator<string> {
    if (!existsSync(this.path)) return;
    const handle = await openFile(this.path, 'r');
    try {
      for await (const line of handle.readLines({ encoding: 'utf8' })) if (line.trim()) yield line;
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  /** Flushes what is written to the disk and closes the descriptor. */
  close(): void {
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    if (this.fd === undefined) return;
    try {
      // Also covers an fdatasync still running on the thread pool.
      fdatasyncSync(this.fd);
    } finally {
      closeSync(this.fd);
      this.fd = undefined;
    }
  }

  /** I/O pacing on the system clock (a relay on a virtual clock still syncs); never keeps a process alive. */
  private schedule(): ReturnType<typeof setTimeout> {
    const t = setTimeout(() => this.sync(), this.syncEveryMs);
    t.unref();
    return t;
  }

  private sync(): void {
    this.syncTimer = undefined;
    if (this.fd === undefined || this.unsynced === 0) return;
    if (this.syncing) {
      // One fdatasync at a time; the lines written meanwhile go with the next one.
      this.syncTimer = this.schedule();
      return;
    }
    this.syncing = true;
    this.unsynced = 0;
    fdatasync(this.fd, (err) => {
      this.syncing = false;
      this.syncs++;
      if (err) this.onError(err);
    });
  }
}

function* readChunks(path: string, from = 0): Generator<string> {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(READ_CHUNK_BYTES);
    let carry = Buffer.alloc(0);
    let position = from;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, position);
      if (n === 0) break;
      position += n;
      // Cut at the last newline so a multi-byte character is never split across chunks.
      const data = carry.length ? Buffer.concat([carry, buf.subarray(0, n)]) : buf.subarray(0, n);
      const cut = data.lastIndexOf(0x0a);
      if (cut < 0) {
        carry = Buffer.from(data);
        continue;
      }
      yield data.subarray(0, cut + 1).toString('utf8');
      carry = Buffer.from(data.subarray(cut + 1));
    }
    if (carry.length) yield carry.toString('utf8');
  } finally {
    closeSync(fd);
  }
}
