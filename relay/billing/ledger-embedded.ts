/**
 * LedgerStore without a database: state in memory, every ledger row appended as one JSON line
 * to `billing-ledger.jsonl` in the data dir before the call returns (appendFileSync), and the
 * whole state (accounts, balances, pending reservations) replayed from that file on open.
 *
 * Atomicity: each operation checks and writes in one synchronous stretch of JavaScript, so no
 * other request of this process can interleave; a movement is one line, so a crash leaves it
 * either written or not (a torn last line is ignored on replay). One process per data dir.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type {
  Balance, CloseInput, CloseResult, LedgerQuery, LedgerRow, LedgerStore, NewLedgerRow, PendingCharge, ReserveResult,
} from './ledger.js';
import { selectLedgerRows } from './ledger-query.js';
import type { Micros } from './money.js';
import { countByKey, type UsageTotals } from './stats.js';

export const LEDGER_FILE = 'billing-ledger.jsonl';

/** Pending reservations carry what settlement needs; they are rebuilt from precharge rows. */
interface StoredRow extends LedgerRow {
  pending?: Pick<PendingCharge, 'estimatedInputTokens'>;
}

export class EmbeddedLedgerStore implements LedgerStore {
  private readonly rows: LedgerRow[] = [];
  private readonly accounts = new Map<string, Micros>();
  private readonly open = new Map<string, PendingCharge>();
  /** `${requestId}\u0000${kind}`: the unique constraint. */
  private readonly seen = new Set<string>();
  /** Running per-key totals of closing rows, rebuilt on replay. */
  private readonly totals: Record<string, UsageTotals> = {};
  private readonly file: string | undefined;
  private nextId = 1;

  constructor(dataDir?: string) {
    if (dataDir) {
      mkdirSync(dataDir, { recursive: true });
      this.file = join(dataDir, LEDGER_FILE);
      this.replay();
    }
  }

  async ensureAccount(keyName: string, initial: Micros, time: number): Promise<boolean> {
    if (this.accounts.has(keyName)) return false;
    this.append({ time, keyName, requestId: `open:${keyName}`, kind: 'topup', amount: -initial });
    return true;
  }

  async topup(keyName: string, amount: Micros, requestId: string, time: number): Promise<Micros> {
    if (!this.seen.has(uniq(requestId, 'topup'))) this.append({ time, keyName, requestId, kind: 'topup', amount: -amount });
    return this.accounts.get(keyName) ?? 0;
  }

  async hasAccount(keyName: string): Promise<boolean> {
    return this.accounts.has(keyName);
  }

  async reserve(p: PendingCharge): Promise<ReserveResult> {
    if (this.seen.has(uniq(p.requestId, 'precharge'))) return 'duplicate';
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

  async ledger(q: LedgerQuery = {}): Promise<LedgerRow[]> {
    return selectLedgerRows(this.rows, q);
  }

  async shutdown(): Promise<void> {}

  private append(row: NewLedgerRow, pending?: StoredRow['pending']): LedgerRow {
    const stored: StoredRow = { id: this.nextId, ...row, ...(pending ? { pending } : {}) };
    // Durable first: if the write throws, memory is unchanged and the caller sees the error.
    if (this.file) appendFileSync(this.file, JSON.stringify(stored) + '\n');
    return this.apply(stored);
  }

  private apply(stored: StoredRow): LedgerRow {
    const { pending, ...row } = stored;
    this.nextId = Math.max(this.nextId, row.id + 1);
    this.rows.push(row);
    this.seen.add(uniq(row.requestId, row.kind));
    countByKey(this.totals, row);
    const balance = this.accounts.get(row.keyName);
    if (row.kind === 'topup') this.accounts.set(row.keyName, (balance ?? 0) - row.amount);
    else if (balance !== undefined) this.accounts.set(row.keyName, balance - row.amount);
    if (row.kind === 'precharge') {
      this.open.set(row.requestId, {
        requestId: row.requestId, keyName: row.keyName, amount: row.amount, time: row.time, model: row.model ?? '',
        priceVersion: row.priceVersion ?? '', estimatedInputTokens: pending?.estimatedInputTokens ?? 0, path: row.path,
      });
    }
    if (row.kind === 'settle' || row.kind === 'refund') this.open.delete(row.requestId);
    return row;
  }

  private replay(): void {
    if (!this.file || !existsSync(this.file)) return;
    const lines = readFileSync(this.file, 'utf8').split('\n');
    for (const line of lines) {
      if (!line.trim()) continue;
      let parsed: StoredRow;
      try {
        parsed = JSON.parse(line) as StoredRow;
      } catch {
        continue; // a torn line from a crash mid-append: the movement never happened
      }
      this.apply(parsed);
    }
    // A torn tail must not glue itself to the next appended row.
    if (lines.length > 0 && lines[lines.length - 1] !== '') appendFileSync(this.file, '\n');
  }
}

function uniq(requestId: string, kind: string): string {
  return `${requestId}\u0000${kind}`;
}
