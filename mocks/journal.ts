/**
 * Every request a mock upstream receives, as it arrived (Authorization and x-api-key verbatim:
 * this is the ground truth of what a relay sent) and what was answered, including the usage the
 * upstream "billed" for it. A bounded ring: appending is O(1) and nothing is copied, so the
 * journal never limits a benchmark.
 */
import type { SessionKey, UpstreamKind, Usage } from '../protocols/types.js';

export interface JournalEntry {
  /** 1-based, increasing across the whole fleet. */
  seq: number;
  /** Clock time (ms) the request arrived. */
  time: number;
  upstream: string;
  kind: UpstreamKind;
  method: string;
  /** Path without the query string (and without a `/_r/<name>` route prefix). */
  path: string;
  /** The `/_r/<name>` route the request came in on (server.ts ROUTE_PREFIX), if any. */
  route?: string;
  query: Record<string, string | string[]>;
  /** Request headers exactly as received (lower-cased names). */
  headers: Record<string, string | string[] | undefined>;
  /** The credential seen (x-api-key value or Bearer token), or null. */
  credential: string | null;
  /** Parsed JSON body, the raw text when it was not JSON, or null. */
  body: unknown;
  model: string | null;
  stream: boolean;
  sessionKeys: SessionKey[];
  /** Name (or `#index`) of the fault rule applied, or null. */
  rule: string | null;
  /** Status sent, or null when no headers were ever sent (hang, reset before headers). */
  status: number | null;
  /** SSE events written (stream) before the end or disconnect. */
  eventsSent: number;
  bytesSent: number;
  /** How the mock ended the connection abnormally: FIN mid-body, RST, or null. */
  disconnect: 'fin' | 'rst' | null;
  /** True when the client went away before the response was complete. */
  clientAborted: boolean;
  /** The usage the upstream "billed": for a cut stream only what was emitted. Null when nothing is billed. */
  usage: Usage | null;
  /** Time until the response was finished (or abandoned). */
  durationMs: number;
}

export interface JournalFilter {
  upstream?: string;
  token?: string;
  path?: string;
  status?: number;
  /** Entries with time >= since. */
  since?: number;
  /** Entries with seq > afterSeq. */
  afterSeq?: number;
  limit?: number;
}

export class Journal {
  private ring: (JournalEntry | undefined)[];
  /** Fields derived on first read (session keys need a hash): the hot path does not pay for them. */
  private lazy: (((e: JournalEntry) => void) | undefined)[];
  private next = 0;
  private count = 0;
  private seq = 0;

  constructor(private readonly max = 100_000) {
    this.ring = new Array(max);
    this.lazy = new Array(max);
  }

  /** Reserves the next sequence number; the entry is appended when the response is done. */
  nextSeq(): number {
    return ++this.seq;
  }

  /** `complete` fills derived fields (e.g. sessionKeys) the first time the entry is read. */
  append(entry: JournalEntry, complete?: (e: JournalEntry) => void): void {
    this.lazy[this.next] = complete;
    this.ring[this.next] = entry;
    this.next = (this.next + 1) % this.max;
    if (this.count < this.max) this.count++;
  }

  get size(): number {
    return this.count;
  }

  /** Entries in sequence order (oldest first), filtered. */
  list(filter: JournalFilter = {}): JournalEntry[] {
    const out: JournalEntry[] = [];
    const start = (this.next - this.count + this.max) % this.max;
    for (let i = 0; i < this.count; i++) {
      const at = (start + i) % this.max;
      const e = this.ring[at]!;
      const complete = this.lazy[at];
      if (complete) {
        this.lazy[at] = undefined;
        complete(e);
      }
      if (matches(e, filter)) out.push(e);
    }
    // Entries are appended when responses finish; present them in arrival order.
    out.sort((a, b) => a.seq - b.seq);
    return filter.limit !== undefined && out.length > filter.limit ? out.slice(out.length - filter.limit) : out;
  }

  reset(): void {
    this.ring = new Array(this.max);
    this.lazy = new Array(this.max);
    this.next = 0;
    this.count = 0;
  }
}

function matches(e: JournalEntry, f: JournalFilter): boolean {
  return (
    (f.upstream === undefined || e.upstream === f.upstream) &&
    (f.token === undefined || e.credential === f.token) &&
    (f.path === undefined || e.path === f.path) &&
    (f.status === undefined || e.status === f.status) &&
    (f.since === undefined || e.time >= f.since) &&
    (f.afterSeq === undefined || e.seq > f.afterSeq)
  );
}
