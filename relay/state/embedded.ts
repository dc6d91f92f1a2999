/**
 * RecordStore without a database. Always keeps the newest request-log entries in a ring in
 * memory, each as its JSON line, serialised once when the request ends, not in a burst of 500
 * when a batch is written (a query decodes only the entries it looks at). The lines live in one
 * buffer outside the JavaScript heap (line-ring.ts): no object per entry for the collector to
 * trace, copy or promote, and the bytes of a batch are the ring's own. With a `dataDir` it also persists:
 *   overrides.json  - written whole, atomically (temp file + rename), so a crash never leaves half
 *   requests.jsonl  - one entry per line, appended in batches off the hot path
 * and reloads both on open, so pause flags and admin edits survive a restart.
 *
 * The batch timer is I/O pacing, not relay time: it runs on the system clock even when the relay
 * runs on a TestClock, otherwise a virtual clock that never advances would never write the log.
 */
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, open as openFile, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SystemClock, type Clock, type TimerHandle } from '../../lib/clock.js';
import { LineRing } from './line-ring.js';
import { selectNewest } from './request-log.js';
import type { ConfigOverrides, RecordStore, RequestLogEntry, RequestLogQuery } from './types.js';

export interface EmbeddedRecordStoreOptions {
  dataDir?: string;
  /** Request-log entries kept in memory for queries... */
  ringSize?: number;
  /** ...in at most this many bytes of JSON lines (default 8 MiB: 10,000 entries of up to ~800 bytes). */
  ringBytes?: number;
  /** A batch is written at most this long after its first entry... */
  flushEveryMs?: number;
  /** ...or as soon as it has this many entries. */
  flushRows?: number;
  /** Where write failures go (the relay passes its logger); they never reach the hot path. */
  onError?: (err: Error) => void;
  /**
   * Bytes of batches waiting for the disk at most; a batch beyond that (a stalled disk) is dropped
   * and counted instead of growing the relay's memory without end. The ring keeps every entry.
   */
  maxQueuedBytes?: number;
}

export const OVERRIDES_FILE = 'overrides.json';
export const REQUEST_LOG_FILE = 'requests.jsonl';
/** On open, only the tail of a large log is read back into the ring. */
const MAX_TAIL_BYTES = 64 * 1024 * 1024;

export class EmbeddedRecordStore implements RecordStore {
  /** JSON lines, oldest first; the newest not yet written to disk are its unsaved ones. */
  private readonly ring: LineRing;
  private readonly dataDir: string | undefined;
  private readonly flushEveryMs: number;
  private readonly flushRows: number;
  private readonly onError: (err: Error) => void;
  private readonly ioClock: Clock = new SystemClock();
  private overrides: ConfigOverrides | undefined;
  private readonly maxQueuedBytes: number;
  private queuedBytes = 0;
  /** Entries not persisted because the write queue was full (see maxQueuedBytes). */
  droppedEntries = 0;
  private batchTimer: TimerHandle | undefined;
  /** Serialises file writes so batches land in order and overrides last-write-wins. */
  private logWrites: Promise<void> = Promise.resolve();
  private overrideWrites: Promise<void> = Promise.resolve();
  private closed = false;
  /** The log file ended in a torn line (a crash mid-append): start the next batch on a new line. */
  private tornTail = false;

  /** Opens the store and, with a dataDir, loads what an earlier run left there. */
  static async open(options: EmbeddedRecordStoreOptions = {}): Promise<EmbeddedRecordStore> {
    const store = new EmbeddedRecordStore(options);
    await store.load();
    return store;
  }

  constructor(options: EmbeddedRecordStoreOptions = {}) {
    this.ring = new LineRing(options.ringSize ?? 10_000, options.ringBytes);
    this.dataDir = options.dataDir;
    this.flushEveryMs = options.flushEveryMs ?? 200;
    this.flushRows = options.flushRows ?? 500;
    this.maxQueuedBytes = options.maxQueuedBytes ?? 32 * 1024 * 1024;
    this.onError = options.onError ?? ((err) => process.stderr.write(`relay record store: ${err.message}\n`));
  }

  async loadOverrides(): Promise<ConfigOverrides | undefined> {
    return this.overrides && structuredClone(this.overrides);
  }

  async saveOverrides(overrides: ConfigOverrides, expectedRevision?: number): Promise<boolean> {
    // One process per data dir: the document in memory is the stored one, checked and replaced
    // in one synchronous stretch.
    if (expectedRevision !== undefined && storedRevision(this.overrides) !== expectedRevision) return false;
    this.overrides = structuredClone(overrides);
    if (!this.dataDir) return true;
    const text = JSON.stringify(overrides, null, 2);
    const dir = this.dataDir;
    const write = this.overrideWrites.then(() => writeAtomically(join(dir, OVERRIDES_FILE), text));
    // A failed write must not poison the next one; the caller still sees this one's error.
    this.overrideWrites = write.catch(() => undefined);
    await write;
    return true;
  }

  /** A document whose layout no longer validates: `overrides.rejected-<revision>.json` beside the data (in memory only without a data dir). */
  async keepAside(overrides: ConfigOverrides, reason: string): Promise<string> {
    const name = `overrides.rejected-${storedRevision(overrides)}.json`;
    if (!this.dataDir) return `memory (no data dir): ${name}`;
    const file = join(this.dataDir, name);
    await writeAtomically(file, JSON.stringify({ reason, keptAt: new Date().toISOString(), overrides }, null, 2));
    return file;
  }

  appendRequestLog(entry: RequestLogEntry): void {
    if (this.closed) return;
    // Without a data dir nothing is written: every line counts as saved.
    this.ring.push(JSON.stringify(entry), !this.dataDir);
    if (!this.dataDir) return;
    if (this.ring.unsavedEntries >= this.flushRows) this.writeBatch();
    else this.batchTimer ??= this.ioClock.setTimeout(() => this.writeBatch(), this.flushEveryMs);
  }

  async flush(): Promise<void> {
    this.writeBatch();
    await this.logWrites;
    await this.overrideWrites;
  }

  async queryRequestLog(query: RequestLogQuery): Promise<RequestLogEntry[]> {
    return selectNewest(this.ring.size, (i) => JSON.parse(this.ring.at(i)) as RequestLogEntry, query);
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
  }

  private writeBatch(): void {
    this.batchTimer?.cancel();
    this.batchTimer = undefined;
    if (!this.dataDir) return;
    const count = this.ring.unsavedEntries;
    const batch = this.ring.takeUnsaved();
    if (!batch) return;
    const lines = this.tornTail ? Buffer.concat([Buffer.from('\n'), batch]) : batch;
    if (this.queuedBytes + lines.length > this.maxQueuedBytes) {
      if (this.droppedEntries === 0) this.onError(new Error(`request log writes are more than ${this.maxQueuedBytes} bytes behind: dropping batches until the disk catches up (counted in droppedEntries)`));
      this.droppedEntries += count;
      return;
    }
    this.tornTail = false;
    this.queuedBytes += lines.length;
    const file = join(this.dataDir, REQUEST_LOG_FILE);
    this.logWrites = this.logWrites
      .then(() => appendFile(file, lines))
      .catch((err: Error) => this.onError(err))
      .finally(() => {
        this.queuedBytes -= lines.length;
      });
  }

  private async load(): Promise<void> {
    if (!this.dataDir) return;
    await mkdir(this.dataDir, { recursive: true });
    const overridesText = await readIfExists(join(this.dataDir, OVERRIDES_FILE));
    if (overridesText !== undefined) {
      try {
        this.overrides = JSON.parse(overridesText) as ConfigOverrides;
      } catch (err) {
        throw new Error(`${join(this.dataDir, OVERRIDES_FILE)} is not valid JSON: ${(err as Error).message}`);
      }
    }
    const tail = await readLogTail(join(this.dataDir, REQUEST_LOG_FILE), this.ring.capacity);
    for (const line of tail.lines) this.ring.push(line, true);
    this.tornTail = tail.torn;
  }
}

/** The revision of a stored document (0 = none; a document from before revisions = 1). */
export function storedRevision(overrides: ConfigOverrides | undefined): number {
  return overrides ? (overrides.revision ?? 1) : 0;
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temp, text);
    await rename(temp, file);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** The last `max` parseable entries' lines; a torn last line (crash mid-append) is skipped. */
async function readLogTail(file: string, max: number): Promise<{ lines: string[]; torn: boolean }> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { lines: [], torn: false };
    throw err;
  }
  const start = Math.max(0, size - MAX_TAIL_BYTES);
  const handle = await openFile(file, 'r');
  let text: string;
  try {
    const buf = Buffer.alloc(size - start);
    await handle.read(buf, 0, buf.length, start);
    text = buf.toString('utf8');
  } finally {
    await handle.close();
  }
  const lines = text.split('\n');
  if (start > 0) lines.shift();
  const kept: string[] = [];
  for (let i = lines.length - 1; i >= 0 && kept.length < max; i--) {
    if (!lines[i]) continue;
    try {
      JSON.parse(lines[i]);
      kept.push(lines[i]);
    } catch {
      // A partial line from an interrupted append: the rest of the log is still good.
    }
  }
  return { lines: kept.reverse(), torn: text.length > 0 && !text.endsWith('\n') };
}
