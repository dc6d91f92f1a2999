/**
 * Billing for the relay: `openBilling` picks the implementation from the config and the backends.
 *   no `billing:` section         -> FreeBilling (allowed, unrecorded)
 *   billing + mysqlUrl            -> ledger in MySQL (tables `<prefix>billing_*`), shared by processes
 *   billing, no mysqlUrl          -> embedded ledger (memory, + `billing-ledger.jsonl` in dataDir)
 * On open, reservations left pending by a dead process are settled or refunded (see recover()).
 * With MySQL other live processes may hold pending rows, so only rows older than the recovery
 * grace are touched, and a sweep repeats every grace interval.
 */
import type { Clock, TimerHandle } from '../../lib/clock.js';
import { billingConfigSchema, billingSettings } from './config.js';
import { EmbeddedLedgerStore } from './ledger-embedded.js';
import { MysqlLedgerStore } from './ledger-mysql.js';
import type { PendingCharge } from './ledger.js';
import { LedgerBilling, TASK_RESERVATION_PREFIX, type LoggedRequest, type RecoveryReport } from './service.js';
import { FreeBilling, type Billing } from './types.js';

export { FreeBilling, type Billing } from './types.js';
export { LedgerBilling } from './service.js';
export { billingAdminRoutes } from './admin-routes.js';
export { billingConfigSchema } from './config.js';
export { requestLogLookup } from './request-log-lookup.js';
export { claimSharedLedger, ledgerIdentity, SplitLedgerError } from './shared-ledger.js';

export interface OpenBillingOptions {
  /** The relay config's `billing:` section (raw or already parsed); undefined = free. */
  config: unknown;
  clock: Clock;
  dataDir?: string;
  mysqlUrl?: string;
  tablePrefix?: string;
  /** Embedded only: the group-commit window of the ledger file (default 50 ms). */
  syncEveryMs?: number;
  /** MySQL only: pending reservations younger than this may belong to a live process. Default 10 min. */
  recoveryGraceMs?: number;
  lookupRequest?: (pending: PendingCharge) => Promise<LoggedRequest | undefined>;
  /** Reservations recovery must leave alone (the custom-pass poller owns async tasks'). */
  skipRecovery?: (p: PendingCharge) => boolean | Promise<boolean>;
  onError?: (err: Error, context: string) => void;
  env?: Record<string, string | undefined>;
}

export interface OpenedBilling {
  billing: Billing;
  /** Present when billing is on: admin routes, custom-pass and scenarios use it. */
  ledger: LedgerBilling | undefined;
  recovery: RecoveryReport | undefined;
  close(): Promise<void>;
}

export async function openBilling(o: OpenBillingOptions): Promise<OpenedBilling> {
  if (o.config === undefined || o.config === null) {
    return { billing: new FreeBilling(), ledger: undefined, recovery: undefined, close: async () => undefined };
  }
  const settings = billingSettings(billingConfigSchema.parse(o.config), o.env ?? process.env);
  const store = o.mysqlUrl ? await MysqlLedgerStore.open({ url: o.mysqlUrl, prefix: o.tablePrefix }) : new EmbeddedLedgerStore(o.dataDir, { syncEveryMs: o.syncEveryMs, onError: (err) => o.onError?.(err, 'billing ledger fdatasync') });
  const ledger = new LedgerBilling({ store, settings, clock: o.clock, lookupRequest: o.lookupRequest, onError: o.onError });
  await ledger.init();
  const skip = o.skipRecovery ?? ((p: PendingCharge) => p.requestId.startsWith(TASK_RESERVATION_PREFIX));
  const graceMs = o.mysqlUrl ? (o.recoveryGraceMs ?? 600_000) : 0;
  const recovery = await ledger.recover({ olderThanMs: graceMs, skip });
  let sweep: TimerHandle | undefined;
  if (o.mysqlUrl) {
    // One sweep at a time: a virtual clock moved by days fires thousands of ticks at once.
    let sweeping = false;
    sweep = o.clock.setInterval(() => {
      if (sweeping) return;
      sweeping = true;
      ledger
        .recover({ olderThanMs: graceMs, skip })
        .catch((err: Error) => o.onError?.(err, 'billing recovery sweep'))
        .finally(() => (sweeping = false));
    }, Math.max(60_000, graceMs));
  }
  return {
    billing: ledger,
    ledger,
    recovery,
    close: async () => {
      sweep?.cancel();
      await store.shutdown();
    },
  };
}
