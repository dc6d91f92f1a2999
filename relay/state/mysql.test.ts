import { afterEach, describe, expect, it } from 'vitest';
import { MysqlRecordStore } from './mysql.js';
import { uniquePrefix } from './test-backends.js';

const mysqlUrl = process.env.MYSQL_URL;
const T0 = Date.UTC(2026, 0, 1);

// Shared RecordStore behaviour runs in record-store.test.ts; this checks what only MySQL has.
describe.runIf(mysqlUrl)('MysqlRecordStore specifics', () => {
  const stores: MysqlRecordStore[] = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) {
      await s.dropTables();
      await s.close();
    }
  });

  it('keeps only the newest retainRows rows', async () => {
    const store = await MysqlRecordStore.open(mysqlUrl!, { prefix: uniquePrefix('mysql'), retainRows: 5, flushRows: 4 });
    stores.push(store);
    for (let i = 0; i < 12; i++) {
      store.appendRequestLog({ requestId: `r${i}`, time: T0 + i, keyName: 'k', protocol: 'p', path: '/', stream: false, status: 200, outcome: 'ok', latencyMs: 1, attempts: [] });
    }
    await store.flush();
    await store.prune();
    const all = await store.queryRequestLog({ limit: 100 });
    expect(all.map((e) => e.requestId)).toEqual(['r7', 'r8', 'r9', 'r10', 'r11']);
  });

  it('rejects a table prefix that could break out of a name', async () => {
    await expect(MysqlRecordStore.open(mysqlUrl!, { prefix: 'x`; DROP TABLE y; --' })).rejects.toThrow(/invalid table prefix/);
  });
});
