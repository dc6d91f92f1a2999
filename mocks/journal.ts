/**
 * Every request a mock upstream receives, as it arrived (Authorization and x-api-key verbatim:
 * this is the ground truth of what a relay sent) and what was answered, including the usage the
 * upstream "billed" for it. A ring bounded by entry count and by bytes: appending is O(1) and
 * copies nothing for a body under the body limit, so the journal never limits a benchmark, and
 * hours of agent traffic (Claude Code's requests are ~100 kB each) cannot exhaust memory.
 *
 * A body is kept as its text and parsed when an entry is read (a parsed tree weighs several
 * times its text, and most entries are never read); a body over `maxBodyBytes` is kept as its
 * first `maxBodyBytes` (no longer JSON, so it reads as text) with `bodyBytes` its full size.
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
  /** Parsed JSON body, the raw text when it was not JSON (or kept truncated), or null. */
  body: unknown;
  /** Size of the body as received. */
  bodyBytes: number;
  /** Only the body's first bytes were kept (it was over the journal's body limit). */
  bodyTruncated?: boolean;
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
  /** The assistant prefill the request ended with (the answer it was asked to continue), or null. */
  prefill?: string | null;
  /** The text of the answer's content that was sent (up to a cut or stall), or null when no answer was generated. */
  text?: string | null;
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

/** Defaults: about 64 MiB of entries per mock process; a body over 1 MiB is kept truncated. */
export const JOURNAL_MAX_BYTES = 64 * 1024 * 1024;
export const JOURNAL_MAX_BODY_BYTES = 1024 * 1024;
/** What an entry costs besides its body (fields, the headers object): an estimate, on the safe side. */
export const ENTRY_OVERHEAD_BYTES = 2048;

export interface JournalLimits {
  /** Entries kept at most. */
  max?: number;
  /** Bytes kept at most (body text as V8 holds it, plus ENTRY_OVERHEAD_BYTES per entry); the oldest go first. */
  maxBytes?: number;
  /** A body over this is kept truncated to it. */
  maxBodyBytes?: number;
}

/** Session keys of an entry from its parsed body, computed the first time the entry is read. */
export type SessionKeysOf = (body: unknown) => SessionKey[];

interface Slot {
  entry: JournalEntry;
  /** The body's text as kept (possibly truncated), or undefined for no body. */
  text: string | undefined;
  weight: number;
  sessionKeys: SessionKeysOf | undefined;
}

export class Journal {
  private ring: (Slot | undefined)[];
  private next = 0;
  private count = 0;
  private seq = 0;
  private bytesKept = 0;
  readonly max: number;
  readonly maxBytes: number;
  readonly maxBodyBytes: number;

  constructor(limits: JournalLimits | number = {}) {
    const l = typeof limits === 'number' ? { max: limits } : limits;
    this.max = l.max ?? 100_000;
    this.maxBytes = l.maxBytes ?? JOURNAL_MAX_BYTES;
    this.maxBodyBytes = l.maxBodyBytes ?? JOURNAL_MAX_BODY_BYTES;
    this.ring = new Array(this.max);
  }

  /** Reserves the next sequence number; the entry is appended when the response is done. */
  nextSeq(): number {
    return ++this.seq;
  }

  /**
   * `text` is the body as received (`entry.bodyBytes` its size); `sessionKeys` derives the
   * session keys from the parsed body when the entry is first read, or now for a body that is
   * about to be truncated (the keys of a truncated body could not be derived later).
   */
  append(entry: JournalEntry, text?: string, sessionKeys?: SessionKeysOf): void {
    let kept = text;
    let keys = sessionKeys;
    if (text !== undefined && entry.bodyBytes > this.maxBodyBytes) {
      if (keys) entry.sessionKeys = keys(parseOrText(text));
      keys = undefined;
      kept = truncateText(text, this.maxBodyBytes);
      entry.bodyTruncated = true;
    }
    const weight = ENTRY_OVERHEAD_BYTES + heldBytes(kept, entry.bodyBytes, this.maxBodyBytes);
    if (this.count === this.max) this.dropOldest();
    this.ring[this.next] = { entry, text: kept, weight, sessionKeys: keys };
    this.next = (this.next + 1) % this.max;
    this.count++;
    this.bytesKept += weight;
    // The newest entry always stays, whatever its weight.
    while (this.bytesKept > this.maxBytes && this.count > 1) this.dropOldest();
  }

  get size(): number {
    return this.count;
  }

  /** Bytes the kept entries are counted for (see ENTRY_OVERHEAD_BYTES). */
  get bytes(): number {
    return this.bytesKept;
  }

  /** Entries in sequence order (oldest first), filtered; each a copy with its body parsed. */
  list(filter: JournalFilter = {}): JournalEntry[] {
    const out: JournalEntry[] = [];
    const start = (this.next - this.count + this.max) % this.max;
    for (let i = 0; i < this.count; i++) {
      const slot = this.ring[(start + i) % this.max]!;
      if (!matches(slot.entry, filter)) continue;
      const body = slot.text === undefined ? null : parseOrText(slot.text);
      if (slot.sessionKeys) {
        slot.entry.sessionKeys = slot.sessionKeys(body);
        slot.sessionKeys = undefined;
      }
      out.push({ ...slot.entry, body });
    }
    // Entries are appended when responses finish; present them in arrival order.
    out.sort((a, b) => a.seq - b.seq);
    return filter.limit !== undefined && out.length > filter.limit ? out.slice(out.length - filter.limit) : out;
  }

  reset(): void {
    this.ring = new Array(this.max);
    this.next = 0;
    this.count = 0;
    this.bytesKept = 0;
  }

  private dropOldest(): void {
    const at = (this.next - this.count + this.max) % this.max;
    this.bytesKept -= this.ring[at]!.weight;
    this.ring[at] = undefined;
    this.count--;
  }
}

/**
 * What V8 holds for a kept body: one byte a character for a text of Latin-1 characters only,
 * two for any other (a single em dash or emoji makes the whole string two-byte). Counting the
 * body's UTF-8 size instead, the 64 MiB budget held 95 MB of Claude Code-like bodies (a heap
 * snapshot of the mock under the resources-agents load: 621 bodies of ~150 kB). A text as long
 * as its UTF-8 size is ASCII; otherwise it is counted as two-byte (no scan on the request path).
 */
export function heldBytes(text: string | undefined, bodyBytes: number, maxBodyBytes: number): number {
  if (text === undefined) return 0;
  const utf8 = Math.min(bodyBytes, maxBodyBytes);
  return text.length === utf8 ? utf8 : 2 * text.length;
}

/**
 * The first `maxBytes` of a text (whole characters), as a string of its own: a plain slice
 * would keep a reference to the whole body alive.
 */
export function truncateText(text: string, maxBytes: number): string {
  const buf = Buffer.from(text, 'utf8').subarray(0, maxBytes);
  // Drop a character cut in half rather than keep a replacement character.
  return buf.toString('utf8').replace(/\uFFFD$/, '');
}

/** Journaled bodies are JSON when they parse, else their text. */
export function parseOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
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
