/**
 * Relays that share live state (one Redis) are replicas serving the same keys, so they must
 * share one ledger too: with an embedded ledger each replica would keep its own copy of every
 * balance and a key could spend its balance once per replica. A shared balance needs MySQL.
 *
 * Every billing relay on a shared Redis holds the lease `billing:ledger` in the name of its
 * ledger: all relays on one MySQL ledger (same server, database and table prefix) hold it
 * together; an embedded ledger holds it alone (its identity is its host and data dir, so the
 * same relay restarting on the same data dir takes it straight back; a ledger without a data
 * dir is new at every start). A relay whose ledger
 * differs from the holder's refuses to start.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { LiveState } from '../state/types.js';

export const LEDGER_LEASE = 'billing:ledger';
/** The lease outlives its holder by this much; renewed three times per period. */
export const LEDGER_LEASE_MS = 15_000;

export class SplitLedgerError extends Error {
  override name = 'SplitLedgerError';
}

/** Which ledger a relay keeps its balances in, without credentials. */
export function ledgerIdentity(o: { mysqlUrl?: string; tablePrefix?: string; dataDir?: string; host?: string }): string {
  if (o.mysqlUrl) {
    const u = new URL(o.mysqlUrl);
    return `mysql://${u.host}${u.pathname}#${o.tablePrefix ?? ''}`;
  }
  return `embedded://${o.host ?? hostname()}${o.dataDir ? resolve(o.dataDir) : `:memory:${randomBytes(6).toString('hex')}`}`;
}

export interface SharedLedgerClaim {
  release(): void;
}

/**
 * Takes the ledger lease and keeps renewing it; throws SplitLedgerError when another relay on
 * this live state keeps its balances in a different ledger. Leases run on the system clock:
 * they are about real processes, whatever clock the relay's requests use.
 */
export async function claimSharedLedger(live: LiveState, identity: string, onError: (err: Error) => void): Promise<SharedLedgerClaim> {
  if (!(await live.tryLease(LEDGER_LEASE, LEDGER_LEASE_MS, Date.now(), identity))) {
    throw new SplitLedgerError(
      `another relay sharing this Redis keeps its billing ledger elsewhere (this relay's: ${identity}). ` +
        'Relays that share live state serve the same keys, and separate ledgers would let a key spend its balance once per relay: ' +
        'give every relay the same MYSQL_URL (a shared balance needs MySQL), or a RELAY_STATE_PREFIX of its own.',
    );
  }
  const renew = setInterval(() => {
    live.tryLease(LEDGER_LEASE, LEDGER_LEASE_MS, Date.now(), identity).then(
      (held) => held || onError(new SplitLedgerError(`the billing ledger lease is held by a relay with another ledger (this relay's: ${identity})`)),
      onError,
    );
  }, LEDGER_LEASE_MS / 3);
  renew.unref();
  return { release: () => clearInterval(renew) };
}
