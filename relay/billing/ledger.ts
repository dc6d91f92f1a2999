/**
 * The ledger store: balances, pending reservations and immutable ledger rows. Two
 * implementations with the same guarantees (embedded: memory + an append-only file; MySQL:
 * one transaction per movement). Amounts are micro-dollars DEBITED from the key's balance:
 *   topup      -x  (credit; also the row that opens an account with its starting balance)
 *   precharge  +r  (reservation; leaves a pending row until the request is closed)
 *   settle     c-r (charge the rest, or refund the difference; `cost` holds c)
 *   refund     -r  (the whole reservation back; `cost` 0)
 *   charge     +c  (a cost without reservation)
 * So for any request, the sum of its rows is its final cost, and for an account,
 * balance = sum(topups credited) - sum(other rows).
 *
 * Exactly one closing row (settle or refund) per reservation: closing removes the pending row
 * atomically and only the caller who removed it writes the closing row.
 */
import type { Usage } from '../../protocols/types.js';
import type { Micros } from './money.js';
import type { UsageGroup, UsageTotals } from './stats.js';

export type LedgerKind = 'topup' | 'precharge' | 'settle' | 'refund' | 'charge';

export interface LedgerRow {
  id: number;
  time: number;
  keyName: string;
  requestId: string;
  kind: LedgerKind;
  amount: Micros;
  /** settle / refund / charge: the request's final cost. */
  cost?: Micros;
  model?: string;
  endpoint?: string;
  /** The client route (/v1/messages, /pass/...), for statistics by route. */
  path?: string;
  usage?: Usage;
  priceVersion?: string;
  /** The policy rule that priced a settlement, or why a refund happened. */
  rule?: string;
}

export type NewLedgerRow = Omit<LedgerRow, 'id'>;

export interface PendingCharge {
  requestId: string;
  keyName: string;
  amount: Micros;
  time: number;
  model: string;
  priceVersion: string;
  estimatedInputTokens: number;
  path?: string;
  /** The relay process (instance id) that made it, where the store tracks processes (MySQL). */
  owner?: string;
}

export interface CloseInput {
  requestId: string;
  kind: 'settle' | 'refund';
  cost: Micros;
  time: number;
  usage?: Usage;
  endpoint?: string;
  rule?: string;
}

export type ReserveResult = 'ok' | 'insufficient' | 'duplicate';
export type CloseResult = { status: 'closed'; row: LedgerRow } | { status: 'already_closed' } | { status: 'not_found' };

export interface LedgerQuery {
  keyName?: string;
  requestId?: string;
  kinds?: LedgerKind[];
  since?: number;
  limit?: number;
}

export interface Balance {
  keyName: string;
  balance: Micros;
}

/** A complete answer, recorded before its end is released, so recovery can settle it after a crash. */
export interface CompletedAnswer {
  requestId: string;
  usage?: Usage;
  endpoint?: string;
}

export interface LedgerStore {
  /** Opens an account with a starting balance unless it exists (one topup row, never twice). */
  ensureAccount(keyName: string, initial: Micros, time: number): Promise<boolean>;
  /** Credits an account (opening it if needed); requestId makes a repeated topup a no-op. */
  topup(keyName: string, amount: Micros, requestId: string, time: number): Promise<Micros>;
  hasAccount(keyName: string): Promise<boolean>;
  /**
   * Atomically: if the key has an account, take `amount` from it only if the balance covers it;
   * record the pending row and the precharge ledger row. A key without an account is unmetered
   * (recorded, never refused).
   */
  reserve(p: PendingCharge): Promise<ReserveResult>;
  /** Atomically closes a reservation: remove the pending row, move the difference, write the row. */
  close(c: CloseInput): Promise<CloseResult>;
  /** A cost with no reservation; idempotent by requestId. */
  charge(row: NewLedgerRow & { kind: 'charge' }): Promise<'ok' | 'duplicate'>;
  pending(): Promise<PendingCharge[]>;
  /** How many reservations are open; constant cost (metrics scrape it). */
  pendingCount(): Promise<number>;
  /**
   * Per key, the closing rows' totals (requests, tokens, cost), kept up to date as rows are
   * written, so reading them costs the same whatever the ledger's size (metrics scrape it).
   */
  totalsByKey(): Promise<Record<string, UsageTotals>>;
  /**
   * The closing rows from `since` on, summed by UTC day, key, model, endpoint and route
   * (statistics): aggregated by the store, never every row handed over.
   */
  usageGroups(since?: number): Promise<UsageGroup[]>;
  /**
   * Reservations whose process is gone (recovery settles or refunds them): embedded, those an
   * earlier process left; MySQL, those of instances whose lease ran out or that unregistered
   * (instance-lease.ts), and rows with no owner made before `unownedBefore` (relay clock).
   */
  orphaned(unownedBefore: number): Promise<PendingCharge[]>;
  getPending(requestId: string): Promise<PendingCharge | undefined>;
  balances(): Promise<Balance[]>;
  balance(keyName: string): Promise<Micros | undefined>;
  /**
   * Stores whose closing is a round trip (MySQL) record complete answers in a group commit
   * instead of holding the answer for its settlement; resolves once the record is durable.
   * Absent: closing is local and immediate (embedded), the answer waits for it.
   */
  recordCompleted?(c: CompletedAnswer): Promise<void>;
  /** The completion recorded for a request, if any (recovery). */
  completed?(requestId: string): Promise<CompletedAnswer | undefined>;
  /** Rows oldest first (limit keeps the newest). */
  ledger(q?: LedgerQuery): Promise<LedgerRow[]>;
  shutdown(): Promise<void>;
}
