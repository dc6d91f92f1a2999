/**
 * LedgerStore without a database. Memory holds what the hot path reads: balances, open
 * reservations and the most recent request ids (a bounded window); every ledger row lives in
 * `billing-ledger.jsonl` in the data dir, written before the movement counts and read back from
 * disk for queries and on open (replayed to rebuild balances and open reservations).
 * Durability: `ledger-file.ts` (one write() per movement, fdatasync in groups of <= 50 ms).
 *
 * Atomicity: each operation checks and writes in one synchronous stretch of JavaScript, so no
 * other request of this process can interleave; a movement is one line, so a crash leaves it
 * either written or not (a torn last line is ignored on replay). One process per data dir.
 *
 * Idempotency: a reservation is closed once because closing removes it from the open set. A
 * repeated reservation or charge is recognised while its id is among the last `recentIds` ids
 * (request ids carry a random part, so only a retry of the same call repeats one, within
 * seconds); a repeated topup id (chosen by an admin, possibly months later) is also looked up
 * on disk.
 * Without a data dir (tests, throwaway relays) only the newest `recentIds` rows are kept.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Ring } from '../state/ring.js';
import type {
  Balance, CloseInput, CloseResult, LedgerQuery, LedgerRow, LedgerStore, NewLedgerRow, PendingCharge, ReserveResult,
} from './ledger.js';
import { DEFAULT_SYNC_EVERY_MS, LedgerFile } from './ledger-file.js';
import { rowMatches, selectLedgerRows } from './ledger-query.js';
import type { Micros } from './money.js';
import { RecentIds } from './recent-ids.js';
import { countByKey, DAY_MS, dayOf, groupRows, UsageGroups, type UsageGroup, type UsageTotals } from './stats.js';

export const LEDGER_FILE = 'billing-ledger.jsonl';
export const DEFAULT_RECENT_IDS = 100_000;

export interface EmbeddedLedgerOptions {
  /** Request ids remembered for idempotency (and rows kept without a data dir). */
  recentIds?: number;
  /** Group-commit window: the longest a written movement waits for its fdatasync. */
  syncEveryMs?: number;
  onError?: (err: Error) => void;
}

/** Pending reservations carry what settlement needs; they are rebuilt from precharge rows. */
interface StoredRow extends LedgerRow {
  pending?: Pick<PendingCharge, 'estimatedInputTokens'>;
}

export class EmbeddedLedgerStore implements LedgerStore {
  private readonly accounts = new Map<string, Micros>();
  private readonly open = new Map<string, PendingCharge>();
  /** `${requestId}\u0000${kind}` of recent rows: the unique constraint, within a window. */
  private readonly seen: RecentIds;
  private readonly file: LedgerFile | undefined;
  /** Without a file: the newest rows, for queries. */
  private readonly memoryRows: Ring<LedgerRow> | undefined;
  /** Running per-key totals of closing rows, rebuilt on replay. */
  private readonly totals: Record<string, UsageTotals> = {};
  /** Running totals by day, key, model, endpoint and route (statistics), rebuilt on replay. */
  private readonly groups = new UsageGroups();
  /** Where in the file each UTC day's first row starts: a `since` inside a day reads that day only. */
  private readonly dayStarts = new Map<number, number>();
  private nextId = 1;
  /** Open reservations read back from the file: an earlier process made them, and it is gone. */
  private readonly inherited = new Set<string>();

  constructor(dataDir?: string, options: EmbeddedLedgerOptions = {}) {
    const recent = options.recentIds ?? DEFAULT_RECENT_IDS;
    this.seen = new RecentIds(recent);
    if (dataDir) {
      mkdirSync(dataDir, { recursive: true });
      this.file = new LedgerFile(join(dataDir, LEDGER_FILE), options.syncEveryMs ?? DEFAULT_SYNC_EVERY_MS, options.onError);
      this.replay(this.file);
    } else {
      this.memoryRows = new Ring(recent);
    }
  }

  async ensureAccount(keyName: string, initial: Micros, time: number): Promise<boolean> {
    if (this.accounts.has(keyName)) return false;
    this.append({ time, keyName, requestId: `open:${keyName}`, kind: 'topup', amount: -initial });
    return true;
  }

  async topup(keyName: string, amount: Micros, requestId: string, time: number): Promise<Micros> {
    if (!this.seen.has(uniq(requestId, 'topup')) && !this.onDisk(requestId, 'topup')) this.append({ time, keyName, requestId, kind: 'topup', amount: -amount });
    return this.accounts.get(keyName) ?? 0;
  }

  async hasAccount(keyName: string): Promise<boolean> {
    return this.accounts.has(keyName);
  }

  async reserve(p: PendingCharge): Promise<ReserveResult> {
    if (this.open.has(p.requestId) || this.seen.has(uniq(p.requestId, 'precharge'))) return 'duplicate';
    const balance = this.accounts.get(p.keyName);
    if (balance !== undefined && p.amount > 0 && balance < p.amount) return 'insufficient';
    this.append(
      { time: p.time, keyName: p.keyName, requestId: p.requestId, kind: 'precharge', amount: p.amount, model: p.model, path: p.path, priceVersion: p.priceVersion },
      { estimatedInputTokens: p.estimatedInputTokens },
    );
    return 'ok';
  }

  async close(c: CloseInput): Promise<CloseResult> {
    const p = this.open.get(c.requestId);
    if (!p) return this.seen.has(uniq(c.requestId, 'settle')) || this.seen.has(uniq(c.requestId, 'refund')) ? { status: 'already_closed' } : { status: 'not_found' };
    const row = this.append({
      time: c.time, keyName: p.keyName, requestId: c.requestId, kind: c.kind, amount: c.cost - p.amount, cost: c.cost,
      model: p.model, endpoint: c.endpoint, path: p.path, usage: c.usage, priceVersion: p.priceVersion, rule: c.rule,
    });
    return { status: 'closed', row };
  }

  async charge(row: NewLedgerRow & { kind: 'charge' }): Promise<'ok' | 'duplicate'> {
    if (this.seen.has(uniq(row.requestId, 'charge'))) return 'duplicate';
    this.append(row);
    return 'ok';
  }

  async pending(): Promise<PendingCharge[]> {
    return [...this.open.values()];
  }

  async orphaned(): Promise<PendingCharge[]> {
    return [...this.inherited].flatMap((id) => this.open.get(id) ?? []);
  }

  async getPending(requestId: string): Promise<PendingCharge | undefined> {
    return this.open.get(requestId);
  }

  async pendingCount(): Promise<number> {
    return this.open.size;
  }

  async totalsByKey(): Promise<Record<string, UsageTotals>> {
    return structuredClone(this.totals);
  }

  async balances(): Promise<Balance[]> {
    return [...this.accounts].map(([keyName, balance]) => ({ keyName, balance })).sort((a, b) => a.keyName.localeCompare(b.keyName));
  }

  async balance(keyName: string): Promise<Micros | undefined> {
    return this.accounts.get(keyName);
  }

  async usageGroups(since?: number): Promise<UsageGroup[]> {
    if (since === undefined) return [...this.groups.from()];
    const first = dayOf(since);
    // Whole days from the running totals; a day that `since` cuts, from its own rows.
    if (since === first * DAY_MS) return [...this.groups.from(first)];
    return [...this.groups.from(first + 1), ...groupRows(this.rowsOfDay(first, since))];
  }

  /** The rows of UTC day `day` from time `since` on, read from that day's start in the file. */
  private *rowsOfDay(day: number, since: number): Generator<LedgerRow> {
    const inDay = (row: LedgerRow) => dayOf(row.time) === day && row.time >= since;
    if (!this.file) {
      yield* this.memoryRows!.toArray().filter(inDay);
      return;
    }
    const start = this.dayStarts.get(day);
    if (start === undefined) return;
    for (const { line } of this.file.readLinesAtSync(start)) {
      const row = parseRow(line);
      if (!row) continue;
      // Rows are written in time order: the next day's first row ends this one.
      if (dayOf(row.time) > day) return;
      if (inDay(row)) yield row;
    }
  }

  async ledger(q: LedgerQuery = {}): Promise<LedgerRow[]> {
    if (!this.file) return selectLedgerRows(this.memoryRows!.toArray(), q);
    // Scanned from disk, keeping only the newest `limit` matches in memory.
    const keep = q.limit !== undefined ? Math.max(0, Math.floor(q.limit)) : Infinity;
    const out: LedgerRow[] = [];
    for await (const line of this.file.lines()) {
      const row = parseRow(line);
      if (!row || !rowMatches(row, q)) continue;
      out.push(row);
      if (out.length > keep * 2) out.splice(0, out.length - keep);
    }
    return keep < out.length ? out.slice(out.length - keep) : out;
  }

  async shutdown(): Promise<void> {
    this.file?.close();
  }

  private append(row: NewLedgerRow, pending?: StoredRow['pending']): LedgerRow {
    const stored: StoredRow = { id: this.nextId, ...row, ...(pending ? { pending } : {}) };
    // Written before it counts: if the write throws, memory is unchanged and the caller sees the error.
    const offset = this.file?.append(JSON.stringify(stored));
    return this.apply(stored, offset);
  }

  /** `offset`: where the row's line starts in the file (for the index of day starts). */
  private apply(stored: StoredRow, offset?: number): LedgerRow {
    const { pending, ...row } = stored;
    this.nextId = Math.max(this.nextId, row.id + 1);
    this.memoryRows?.push(row);
    this.seen.add(uniq(row.requestId, row.kind));
    countByKey(this.totals, row);
    this.groups.add(row);
    const day = dayOf(row.time);
    if (offset !== undefined && !this.dayStarts.has(day)) this.dayStarts.set(day, offset);
    const balance = this.accounts.get(row.keyName);
    if (row.kind === 'topup') this.accounts.set(row.keyName, (balance ?? 0) - row.amount);
    else if (balance !== undefined) this.accounts.set(row.keyName, balance - row.amount);
    if (row.kind === 'precharge') {
      this.open.set(row.requestId, {
        requestId: row.requestId, keyName: row.keyName, amount: row.amount, time: row.time, model: row.model ?? '',
        priceVersion: row.priceVersion ?? '', estimatedInputTokens: pending?.estimatedInputTokens ?? 0, path: row.path,
      });
    }
    if (row.kind === 'settle' || row.kind === 'refund') {
      this.open.delete(row.requestId);
      this.inherited.delete(row.requestId);
    }
    return row;
  }

  private replay(file: LedgerFile): void {
    // A torn line from a crash mid-append is skipped: that movement never happened.
    for (const { line, offset } of file.readLinesAtSync()) {
      const parsed = parseRow(line);
      if (parsed) this.apply(parsed, offset);
    }
    file.openForAppend(file.endsTorn());
    for (const id of this.open.keys()) this.inherited.add(id);
  }

  /** Whether a row of this id and kind exists anywhere in the file (rare: admin topups). */
  private onDisk(requestId: string, kind: string): boolean {
    if (!this.file) return false;
    for (const line of this.file.readLinesSync()) {
      // Cheap test first: most lines do not even mention the id.
      if (!line.includes(requestId)) continue;
      const row = parseRow(line);
      if (row && row.requestId === requestId && row.kind === kind) return true;
    }
    return false;
  }
}

function parseRow(line: string): StoredRow | undefined {
  try {
    return JSON.parse(line) as StoredRow;
  } catch {
    return undefined;
  }
}

function uniq(requestId: string, kind: string): string {
  return `${requestId}\u0000${kind}`;
}
