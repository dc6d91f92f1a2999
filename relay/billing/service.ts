/**
 * Billing on a ledger: the relay core's `Billing`, plus what the admin API, the custom-pass
 * channel and start-up recovery need. Prices, the ending policy and balances come from
 * BillingSettings; every movement goes through one LedgerStore call, which is atomic.
 */
import type { Clock } from '../../lib/clock.js';
import type { Usage } from '../../protocols/types.js';
import type { BillingSettings } from './config.js';
import type { LedgerRow, LedgerStore, PendingCharge } from './ledger.js';
import { formatMoney, type Micros } from './money.js';
import { billableUsage, ruleFor, type ChargeMode } from './policy.js';
import { costOf, findPrice, reservationFor, type ModelPrice, type PriceTable } from './prices.js';
import { statsFromGroups, type BillingStats } from './stats.js';
import type { Billing, Outcome, PrechargeInput, PrechargeResult, SettleInput } from './types.js';

/** What the request log knows about a request that may have completed before a crash. */
export interface LoggedRequest {
  outcome: string;
  usage?: Usage;
  endpoint?: string;
  firstTokenSent?: boolean;
}

export interface LedgerBillingOptions {
  store: LedgerStore;
  settings: BillingSettings;
  clock: Clock;
  /** Recovery asks the request log (relay/state RecordStore) how a pending request ended. */
  lookupRequest?: (pending: PendingCharge) => Promise<LoggedRequest | undefined>;
  /** Where recovery and settlement problems are reported; never thrown into the hot path. */
  onError?: (err: Error, context: string) => void;
}

/** A reservation decided by the service and an exact amount (custom-pass async tasks, per-call). */
export interface ReserveInput {
  requestId: string;
  keyName: string;
  model: string;
  amount: Micros;
  estimatedInputTokens?: number;
  path?: string;
}

/** Reservations of custom-pass async tasks: their poller settles them, recovery leaves them alone. */
export const TASK_RESERVATION_PREFIX = 'task:';

export interface RecoveryReport {
  settled: string[];
  refunded: string[];
  skipped: string[];
}

export class LedgerBilling implements Billing {
  readonly store: LedgerStore;
  private settings: BillingSettings;
  private readonly clock: Clock;
  private readonly lookupRequest: LedgerBillingOptions['lookupRequest'];
  private readonly onError: NonNullable<LedgerBillingOptions['onError']>;
  /** Every price table this process has run with, by version: a settlement uses its pre-charge's. */
  private readonly tables = new Map<string, PriceTable>();
  private readonly opened = new Set<string>();

  constructor(options: LedgerBillingOptions) {
    this.store = options.store;
    this.settings = options.settings;
    this.clock = options.clock;
    this.lookupRequest = options.lookupRequest;
    this.onError = options.onError ?? (() => undefined);
    this.tables.set(options.settings.prices.version, options.settings.prices);
  }

  /** Opens the configured accounts (never resets existing ones). */
  async init(): Promise<void> {
    for (const [keyName, balance] of Object.entries(this.settings.balances)) {
      await this.store.ensureAccount(keyName, balance, this.clock.now());
      this.opened.add(keyName);
    }
  }

  /** New prices, policy or balances for requests that start from now on. */
  async update(settings: BillingSettings): Promise<void> {
    this.settings = settings;
    this.tables.set(settings.prices.version, settings.prices);
    await this.init();
  }

  get priceTable(): PriceTable {
    return this.settings.prices;
  }

  priceFor(model: string, version = this.settings.prices.version): ModelPrice | undefined {
    const table = this.tables.get(version) ?? this.settings.prices;
    return findPrice(table, model) ?? (this.settings.unpricedModels === 'free' ? { kind: 'free' } : undefined);
  }

  async precharge(i: PrechargeInput): Promise<PrechargeResult> {
    const price = this.priceFor(i.model);
    if (!price) return { ok: false, status: 403, message: `model "${i.model}" has no price on this relay` };
    const amount = reservationFor(price, i.info, this.settings.defaultMaxOutputTokens);
    return this.reserve({ requestId: i.requestId, keyName: i.keyName, model: i.model, amount, estimatedInputTokens: i.info.estimatedInputTokens, path: i.path });
  }

  /** Reserves an exact amount; refused when the key's balance cannot cover it. */
  async reserve(r: ReserveInput): Promise<PrechargeResult> {
    await this.openAccount(r.keyName);
    const result = await this.store.reserve({
      requestId: r.requestId, keyName: r.keyName, amount: r.amount, time: this.clock.now(), model: r.model,
      priceVersion: this.settings.prices.version, estimatedInputTokens: r.estimatedInputTokens ?? 0, path: r.path,
    });
    if (result === 'insufficient') {
      const balance = (await this.store.balance(r.keyName)) ?? 0;
      return {
        ok: false,
        status: 403,
        message: `insufficient balance: key "${r.keyName}" has ${formatMoney(balance)}, this request needs up to ${formatMoney(r.amount)}`,
      };
    }
    // A duplicate request id already holds its reservation: the request may go on.
    return { ok: true };
  }

  /**
   * A complete answer about to be released. Embedded: its settlement is one write(), made before
   * the release. MySQL: a settlement is a transaction queued on the account row, so the answer
   * waits only for a completion record written in a group commit (every <= 25 ms, one INSERT),
   * and the settlement runs behind it; recovery settles from that record.
   */
  async chargeComplete(i: SettleInput): Promise<{ settled: Promise<void> }> {
    if (!this.store.recordCompleted) {
      await this.settle(i);
      return { settled: Promise.resolve() };
    }
    const settled = this.settle(i);
    try {
      await this.store.recordCompleted({ requestId: i.requestId, usage: i.usage, endpoint: i.endpoint });
    } catch (err) {
      // The caller settles again (idempotent); this settlement's own failure is not a second error.
      settled.catch(() => undefined);
      throw err;
    }
    return { settled };
  }

  async settle(i: SettleInput): Promise<void> {
    const rule = ruleFor(i.outcome, i.firstTokenSent);
    await this.close(i.requestId, {
      mode: this.settings.policy[rule], rule, usage: i.usage, endpoint: i.endpoint,
    });
  }

  /**
   * Closes a reservation under a charge mode. Without a pending reservation (already closed, or
   * never made) nothing happens: a settle can never turn into a second charge.
   */
  async close(
    requestId: string,
    c: { mode: ChargeMode; rule: string; usage?: Usage; endpoint?: string; kind?: 'settle' | 'refund'; price?: ModelPrice },
  ): Promise<LedgerRow | undefined> {
    const pending = await this.store.getPending(requestId);
    if (!pending) return undefined;
    // A channel's own strategy (custom-pass: free / per call) overrides the model's table price.
    const price = c.price ?? this.priceFor(pending.model, pending.priceVersion);
    const usage = billableUsage(c.mode, c.usage, pending.estimatedInputTokens);
    // Per-call prices are charged only when the ending is charged as usage.
    const cost = !price || c.mode === 'zero' || (price.kind === 'call' && c.mode !== 'usage') ? 0 : costOf(price, usage).total;
    const kind = c.kind ?? (c.mode === 'zero' ? 'refund' : 'settle');
    const closed = await this.store.close({
      requestId, kind, cost, time: this.clock.now(), usage: c.usage ? withFlag(usage, c.usage) : usage, endpoint: c.endpoint, rule: c.rule,
    });
    return closed.status === 'closed' ? closed.row : undefined;
  }

  /** A cost without a reservation (e.g. a per-call charge decided after the fact); once per request id. */
  async charge(c: { requestId: string; keyName: string; model: string; cost: Micros; usage?: Usage; endpoint?: string; path?: string; rule: string }): Promise<boolean> {
    await this.openAccount(c.keyName);
    const row = { time: this.clock.now(), kind: 'charge' as const, amount: c.cost, priceVersion: this.settings.prices.version, ...c };
    return (await this.store.charge(row)) === 'ok';
  }

  /**
   * Settles or refunds reservations left pending by a process that died (store.orphaned: its
   * process is gone; reservations naming no process only once older than `olderThanMs`): settled
   * by the request log's usage when the request completed, refunded otherwise. `skip` leaves
   * reservations that others own (async tasks).
   */
  async recover(opts: { olderThanMs?: number; skip?: (p: PendingCharge) => boolean | Promise<boolean> } = {}): Promise<RecoveryReport> {
    const report: RecoveryReport = { settled: [], refunded: [], skipped: [] };
    for (const p of await this.store.orphaned(this.clock.now() - (opts.olderThanMs ?? 0))) {
      if (opts.skip && (await opts.skip(p))) {
        report.skipped.push(p.requestId);
        continue;
      }
      try {
        const completed = await this.store.completed?.(p.requestId);
        const logged = completed ? { outcome: 'ok', usage: completed.usage, endpoint: completed.endpoint, firstTokenSent: true } : await this.lookupRequest?.(p);
        const outcome = logged ? outcomeOf(logged.outcome) : undefined;
        if (logged && outcome) {
          const firstTokenSent = logged.firstTokenSent ?? (logged.usage?.outputTokens ?? 0) > 0;
          const rule = ruleFor(outcome, firstTokenSent);
          const row = await this.close(p.requestId, { mode: this.settings.policy[rule], rule: `recovered:${rule}`, usage: logged.usage, endpoint: logged.endpoint, kind: 'settle' });
          if (row) report.settled.push(p.requestId);
        } else {
          const row = await this.close(p.requestId, { mode: 'zero', rule: 'recovered:incomplete', kind: 'refund' });
          if (row) report.refunded.push(p.requestId);
        }
      } catch (err) {
        this.onError(err as Error, `billing recovery of ${p.requestId}`);
      }
    }
    return report;
  }

  async stats(since?: number): Promise<BillingStats> {
    return statsFromGroups(await this.store.usageGroups(since));
  }

  async topup(keyName: string, amount: Micros, requestId: string): Promise<Micros> {
    this.opened.add(keyName);
    return this.store.topup(keyName, amount, requestId, this.clock.now());
  }

  private async openAccount(keyName: string): Promise<void> {
    if (this.opened.has(keyName)) return;
    const initial = this.settings.balances[keyName] ?? this.settings.defaultBalance;
    if (initial !== undefined) await this.store.ensureAccount(keyName, initial, this.clock.now());
    this.opened.add(keyName);
  }
}

function withFlag(billed: Usage, reported: Usage): Usage {
  return reported.estimated ? { ...billed, estimated: true } : billed;
}

/** Request-log outcomes (relay/state RequestLogEntry.outcome) to billing outcomes; undefined = did not complete. */
function outcomeOf(logged: string): Outcome | undefined {
  switch (logged) {
    case 'ok':
    case 'success':
      return 'success';
    case 'upstream_error':
    case 'stream_cut':
    case 'client_abort':
    case 'empty':
      return logged;
    default:
      return undefined;
  }
}
