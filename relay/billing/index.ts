/**
 * Billing for the relay: `openBilling` picks the implementation from the config and the backends.
 *   no `billing:` section         -> FreeBilling (allowed, unrecorded)
 *   billing + mysqlUrl            -> ledger in MySQL (tables `<prefix>billing_*`), shared by processes
 *   billing, no mysqlUrl          -> embedded ledger (memory, + `billing-ledger.jsonl` in dataDir)
 * On open, reservations left pending by a dead process are settled or refunded (see recover()).
 * With MySQL other live processes hold pending rows too: each reservation names the relay
 * process that made it, and only those of processes that are gone (instance-lease.ts) are
 * touched, at open and by a sweep every quarter lease, so a dead relay's money is free within
 * seconds. Rows naming no process (tables from before) wait for the recovery grace.
 */
import type { Clock } from '../../lib/clock.js';
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
  /** MySQL only: reservations naming no process are recovered after this long (default: the config's, 10 min). */
  recoveryGraceMs?: number;
  /** MySQL only: a relay process unheard of this long is dead (default: the config's, 10 s). */
  instanceLeaseMs?: number;
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
  const leaseMs = o.instanceLeaseMs ?? settings.instanceLeaseMs;
  // Renewed every quarter lease: shorter would be a database write every few hundred ms.
  if (leaseMs < 1000) throw new Error(`billing instance lease must be at least 1s (got ${leaseMs} ms)`);
  const store = o.mysqlUrl ? await MysqlLedgerStore.open({ url: o.mysqlUrl, prefix: o.tablePrefix, leaseMs }) : new EmbeddedLedgerStore(o.dataDir, { syncEveryMs: o.syncEveryMs, onError: (err) => o.onError?.(err, 'billing ledger fdatasync') });
  const ledger = new LedgerBilling({ store, settings, clock: o.clock, lookupRequest: o.lookupRequest, onError: o.onError });
  await ledger.init();
  const skip = o.skipRecovery ?? ((p: PendingCharge) => p.requestId.startsWith(TASK_RESERVATION_PREFIX));
  const graceMs = o.recoveryGraceMs ?? settings.recoveryGraceMs;
  const recovery = await ledger.recover({ olderThanMs: graceMs, skip });
  let sweep: ReturnType<typeof setInterval> | undefined;
  if (store instanceof MysqlLedgerStore) {
    // Real time, not the relay's clock: leases are about processes. One sweep at a time.
    let sweeping = false;
    let sweeps = 0;
    sweep = setInterval(() => {
      if (sweeping) return;
      sweeping = true;
      ledger
        .recover({ olderThanMs: graceMs, skip })
        .then(() => (++sweeps % 24 === 0 ? store.pruneCompleted() : undefined))
        .then(() => (sweeps % 1000 === 0 ? store.forgetDeadInstances() : undefined))
        .catch((err: Error) => o.onError?.(err, 'billing recovery sweep'))
        .finally(() => (sweeping = false));
    }, Math.max(250, Math.floor(leaseMs / 4)));
    sweep.unref();
  }
  return {
    billing: ledger,
    ledger,
    recovery,
    close: async () => {
      clearInterval(sweep);
      await store.shutdown();
    },
  };
}
