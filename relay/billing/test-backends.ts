/**
 * The ledger backends every billing test runs against: embedded always (in memory and with a
 * data dir), MySQL when MYSQL_URL is set, each isolated by a unique table prefix / directory.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { EmbeddedLedgerStore } from './ledger-embedded.js';
import { MysqlLedgerStore } from './ledger-mysql.js';
import type { LedgerStore } from './ledger.js';

export interface LedgerBackend {
  name: string;
  /** A fresh, empty store, and a way to open a second handle on the same data (another process). */
  create(): Promise<{ store: LedgerStore; reopen: () => Promise<LedgerStore>; cleanup: () => Promise<void> }>;
}

export const ledgerBackends: LedgerBackend[] = [
  {
    name: 'embedded',
    async create() {
      const dir = mkdtempSync(join(tmpdir(), 'relay-billing-'));
      return { store: new EmbeddedLedgerStore(dir), reopen: async () => new EmbeddedLedgerStore(dir), cleanup: async () => undefined };
    },
  },
];

const mysqlUrl = process.env.MYSQL_URL;
if (mysqlUrl) {
  ledgerBackends.push({
    name: 'mysql',
    async create() {
      const prefix = `t${randomBytes(4).toString('hex')}_`;
      const store = await MysqlLedgerStore.open({ url: mysqlUrl, prefix, connectionLimit: 10 });
      const handles: MysqlLedgerStore[] = [store];
      return {
        store,
        reopen: async () => {
          const s = await MysqlLedgerStore.open({ url: mysqlUrl, prefix, connectionLimit: 10 });
          handles.push(s);
          return s;
        },
        cleanup: async () => {
          // The newest handle: a test may have shut the first one down.
          await handles[handles.length - 1].dropTables();
          for (const h of handles) await h.shutdown().catch(() => undefined);
        },
      };
    },
  });
}
