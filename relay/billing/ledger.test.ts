import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createConnection } from 'mysql2/promise';
import { EmbeddedLedgerStore, LEDGER_FILE } from './ledger-embedded.js';
import { MysqlLedgerStore } from './ledger-mysql.js';
import type { LedgerStore, PendingCharge } from './ledger.js';
import { billingStats, DAY_MS, statsFromGroups } from './stats.js';
import { ledgerBackends } from './test-backends.js';

const T0 = Date.UTC(2026, 0, 1);

function pc(requestId: string, keyName: string, amount: number): PendingCharge {
  return { requestId, keyName, amount, time: T0, model: 'm', priceVersion: 'v1', estimatedInputTokens: 10, path: '/v1/messages' };
}

describe.each(ledgerBackends)('ledger store: $name', (backend) => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });
  async function fresh() {
    const made = await backend.create();
    cleanup = made.cleanup;
    return made;
  }

  it('opens an account once and makes a repeated topup a no-op', async () => {
    const { store } = await fresh();
    expect(await store.ensureAccount('alice', 1000, T0)).toBe(true);
    expect(await store.ensureAccount('alice', 5000, T0)).toBe(false);
    expect(await store.topup('alice', 500, 'topup-1', T0)).toBe(1500);
    expect(await store.topup('alice', 500, 'topup-1', T0)).toBe(1500);
    expect(await store.balances()).toEqual([{ keyName: 'alice', balance: 1500 }]);
    expect((await store.ledger({ keyName: 'alice' })).map((r) => [r.kind, r.amount])).toEqual([['topup', -1000], ['topup', -500]]);
  });

  it('refuses a reservation the balance cannot cover and leaves no trace', async () => {
    const { store } = await fresh();
    await store.ensureAccount('alice', 100, T0);
    expect(await store.reserve(pc('r1', 'alice', 101))).toBe('insufficient');
    expect(await store.reserve(pc('r2', 'alice', 100))).toBe('ok');
    expect(await store.balance('alice')).toBe(0);
    expect(await store.reserve(pc('r2', 'alice', 0))).toBe('duplicate');
    expect((await store.pending()).map((p) => p.requestId)).toEqual(['r2']);
    expect(await store.ledger({ requestId: 'r1' })).toEqual([]);
  });

  it('records keys without an account but never refuses them', async () => {
    const { store } = await fresh();
    expect(await store.reserve(pc('r1', 'nobody', 10_000))).toBe('ok');
    expect(await store.balance('nobody')).toBeUndefined();
    const closed = await store.close({ requestId: 'r1', kind: 'settle', cost: 40, time: T0 });
    expect(closed.status).toBe('closed');
  });

  it('settles exactly once: charge the rest or refund the difference', async () => {
    const { store } = await fresh();
    await store.ensureAccount('alice', 1000, T0);
    await store.reserve(pc('r1', 'alice', 300));
    await store.reserve(pc('r2', 'alice', 100));
    const usage = { inputTokens: 1, outputTokens: 2, cacheWriteTokens: 3, cacheReadTokens: 4 };
    const s1 = await store.close({ requestId: 'r1', kind: 'settle', cost: 120, time: T0 + 1, usage, endpoint: 'A', rule: 'success' });
    expect(s1.status === 'closed' && s1.row.amount).toBe(-180);
    expect(await store.balance('alice')).toBe(1000 - 120 - 100);
    // charge more than reserved
    await store.close({ requestId: 'r2', kind: 'settle', cost: 150, time: T0 + 1 });
    expect(await store.balance('alice')).toBe(1000 - 120 - 150);
    expect((await store.close({ requestId: 'r1', kind: 'settle', cost: 999, time: T0 + 2 })).status).toBe('already_closed');
    expect((await store.close({ requestId: 'r1', kind: 'refund', cost: 0, time: T0 + 2 })).status).toBe('already_closed');
    expect((await store.close({ requestId: 'nope', kind: 'refund', cost: 0, time: T0 + 2 })).status).toBe('not_found');
    expect(await store.balance('alice')).toBe(730);
    const r1 = await store.ledger({ requestId: 'r1' });
    expect(r1.map((r) => r.kind)).toEqual(['precharge', 'settle']);
    expect(r1[1]).toMatchObject({ cost: 120, usage, endpoint: 'A', rule: 'success', model: 'm', priceVersion: 'v1', path: '/v1/messages' });
    expect(r1.reduce((s, r) => s + r.amount, 0)).toBe(120);
    expect(await store.pending()).toEqual([]);
  });

  it('keeps per-key totals of closing rows that match the rows themselves, across a reopen', async () => {
    const { store, reopen } = await fresh();
    await store.ensureAccount('alice', 1000, T0);
    await store.reserve(pc('r1', 'alice', 300));
    await store.reserve(pc('r2', 'alice', 100));
    await store.reserve(pc('r3', 'bob', 50));
    expect(await store.pendingCount()).toBe(3);
    await store.close({ requestId: 'r1', kind: 'settle', cost: 120, time: T0 + 1, usage: { inputTokens: 1, outputTokens: 2, cacheWriteTokens: 3, cacheReadTokens: 4 } });
    await store.close({ requestId: 'r1', kind: 'settle', cost: 999, time: T0 + 2 }); // already closed: counts nothing
    await store.close({ requestId: 'r2', kind: 'refund', cost: 0, time: T0 + 1 });
    await store.charge({ time: T0, keyName: 'bob', requestId: 'c1', kind: 'charge', amount: 70, cost: 70, model: 'm', usage: { inputTokens: 5, outputTokens: 6, cacheWriteTokens: 0, cacheReadTokens: 0 } });
    await store.charge({ time: T0, keyName: 'bob', requestId: 'c1', kind: 'charge', amount: 70, cost: 70, model: 'm' }); // duplicate
    const expected = billingStats(await store.ledger()).byKey;
    expect(expected.alice).toEqual({ requests: 2, inputTokens: 1, outputTokens: 2, cacheWriteTokens: 3, cacheReadTokens: 4, cost: 120 });
    expect(expected.bob).toMatchObject({ requests: 1, cost: 70, inputTokens: 5 });
    expect(await store.totalsByKey()).toEqual(expected);
    expect(await store.pendingCount()).toBe(1);
    const again = await reopen();
    expect(await again.totalsByKey()).toEqual(expected);
    expect(await again.pendingCount()).toBe(1);
  });

  it('sums statistics in the store (by day, key, model, endpoint, route) as the rows say, for any since, across a reopen', async () => {
    const { store, reopen } = await fresh();
    await store.ensureAccount('alice', 100_000, T0);
    const usage = (n: number) => ({ inputTokens: n, outputTokens: 2 * n, cacheWriteTokens: 0, cacheReadTokens: n % 3 });
    // Three UTC days, several hours apart within each; a refund and charges count as closing rows too.
    let n = 0;
    for (const day of [0, 1, 2]) {
      for (const hour of [1, 9, 17]) {
        const time = T0 + day * DAY_MS + hour * 3_600_000;
        const id = `d${day}h${hour}`;
        n++;
        await store.reserve({ ...pc(id, n % 2 ? 'alice' : 'bob', 50), time, model: n % 3 ? 'm1' : 'm2' });
        if (n % 4 === 0) await store.close({ requestId: id, kind: 'refund', cost: 0, time });
        else await store.close({ requestId: id, kind: 'settle', cost: 10 * n, time, usage: usage(n), endpoint: n % 2 ? 'A' : 'B' });
        await store.charge({ time, keyName: 'bob', requestId: `c${id}`, kind: 'charge', amount: 3, cost: 3, model: 'm1', path: '/pass/x', usage: usage(1) });
      }
    }
    const rows = await store.ledger();
    const expected = (since?: number) => billingStats(rows.filter((r) => since === undefined || r.time >= since));
    const sinces = [undefined, T0, T0 + DAY_MS, T0 + DAY_MS + 9 * 3_600_000, T0 + DAY_MS + 9 * 3_600_000 + 1, T0 + 2 * DAY_MS + 12 * 3_600_000, T0 + 5 * DAY_MS];
    for (const handle of [store, await reopen()]) {
      for (const since of sinces) expect(statsFromGroups(await handle.usageGroups(since)), `since ${since}`).toEqual(expected(since));
    }
    expect(expected().total.requests).toBe(18);
    expect(Object.keys(expected().byDay)).toEqual(['2026-01-01', '2026-01-02', '2026-01-03']);
  });

  it('refunds idempotently', async () => {
    const { store } = await fresh();
    await store.ensureAccount('alice', 1000, T0);
    await store.reserve(pc('r1', 'alice', 300));
    const refunds = await Promise.all([1, 2, 3].map(() => store.close({ requestId: 'r1', kind: 'refund', cost: 0, time: T0 })));
    expect(refunds.filter((r) => r.status === 'closed')).toHaveLength(1);
    expect(await store.balance('alice')).toBe(1000);
  });

  it('charges without a reservation once per request id', async () => {
    const { store } = await fresh();
    await store.ensureAccount('alice', 1000, T0);
    const row = { time: T0, keyName: 'alice', requestId: 'c1', kind: 'charge' as const, amount: 70, cost: 70, model: 'm' };
    expect(await store.charge(row)).toBe('ok');
    expect(await store.charge(row)).toBe('duplicate');
    expect(await store.balance('alice')).toBe(930);
  });

  it('never overdraws under hundreds of concurrent reservations at the edge of a balance', async () => {
    const { store, reopen } = await fresh();
    await store.ensureAccount('alice', 1000, T0);
    // Two handles on the same data: two relay processes for MySQL (the embedded store is one process).
    const other: LedgerStore = backend.name === 'mysql' ? await reopen() : store;
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) => (i % 2 ? other : store).reserve(pc(`c${i}`, 'alice', 7))),
    );
    expect(results.filter((r) => r === 'ok')).toHaveLength(142);
    expect(results.filter((r) => r === 'insufficient')).toHaveLength(158);
    expect(await store.balance('alice')).toBe(6);
    const rows = await store.ledger({ keyName: 'alice', kinds: ['precharge'] });
    expect(rows).toHaveLength(142);
    // and settling them all concurrently, twice each, closes each once
    const pendings = await store.pending();
    const closes = await Promise.all(
      [...pendings, ...pendings].map((p, i) => (i % 2 ? other : store).close({ requestId: p.requestId, kind: 'settle', cost: 5, time: T0 })),
    );
    expect(closes.filter((c) => c.status === 'closed')).toHaveLength(142);
    expect(await store.balance('alice')).toBe(1000 - 142 * 5);
  }, 60_000);

  it('keeps pending reservations and balances across a reopen (restart)', async () => {
    const { store, reopen } = await fresh();
    await store.ensureAccount('alice', 1000, T0);
    await store.reserve(pc('r1', 'alice', 300));
    await store.reserve(pc('r2', 'alice', 200));
    await store.close({ requestId: 'r2', kind: 'settle', cost: 50, time: T0 });
    const again = await reopen();
    expect(await again.balance('alice')).toBe(650);
    expect(await again.pending()).toEqual([{ ...pc('r1', 'alice', 300), ...(backend.name === 'mysql' ? { owner: expect.any(String) } : {}) }]);
    expect(await again.ensureAccount('alice', 1000, T0)).toBe(false);
    expect((await again.close({ requestId: 'r2', kind: 'refund', cost: 0, time: T0 })).status).toBe('already_closed');
  });
});

describe('embedded ledger file', () => {
  it('ignores a torn last line from a crash mid-append and keeps appending cleanly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'relay-billing-'));
    const store = new EmbeddedLedgerStore(dir);
    await store.ensureAccount('alice', 1000, T0);
    await store.reserve(pc('r1', 'alice', 300));
    appendFileSync(join(dir, LEDGER_FILE), '{"id":3,"time":1,"keyName":"alice","requestId":"r1","kind":"se');
    const again = new EmbeddedLedgerStore(dir);
    expect(await again.balance('alice')).toBe(700);
    expect((await again.pending()).map((p) => p.requestId)).toEqual(['r1']);
    await again.close({ requestId: 'r1', kind: 'settle', cost: 100, time: T0 });
    const third = new EmbeddedLedgerStore(dir);
    expect(await third.balance('alice')).toBe(900);
    expect(await third.pending()).toEqual([]);
  });

  it('keeps only recent ids in memory, reads rows from disk and still refuses an old topup id', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'relay-billing-'));
    const store = new EmbeddedLedgerStore(dir, { recentIds: 8 });
    await store.ensureAccount('alice', 1_000_000, T0);
    expect(await store.topup('alice', 500, 'admin-topup-1', T0)).toBe(1_000_500);
    for (let i = 0; i < 50; i++) {
      await store.reserve(pc(`r${i}`, 'alice', 100));
      await store.close({ requestId: `r${i}`, kind: 'settle', cost: 40, time: T0 });
    }
    expect((store as unknown as { seen: { size: number } }).seen.size).toBe(8);
    // The topup is long out of the window: the file still knows it.
    expect(await store.topup('alice', 500, 'admin-topup-1', T0)).toBe(1_000_500 - 50 * 40);
    const rows = await store.ledger({ keyName: 'alice' });
    expect(rows).toHaveLength(2 + 100);
    expect((await store.ledger({ kinds: ['settle'], limit: 3 })).map((r) => r.requestId)).toEqual(['r47', 'r48', 'r49']);
    await store.shutdown();
  });

  it('never waits for fdatasync per movement: a burst of movements shares a few syncs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'relay-billing-'));
    const store = new EmbeddedLedgerStore(dir, { syncEveryMs: 20 });
    const file = (store as unknown as { file: { syncs: number } }).file;
    await store.ensureAccount('alice', 1_000_000, T0);
    for (let i = 0; i < 200; i++) await store.reserve(pc(`b${i}`, 'alice', 10));
    expect(file.syncs).toBe(0);
    await new Promise((r) => setTimeout(r, 200));
    expect(file.syncs).toBeGreaterThanOrEqual(1);
    expect(file.syncs).toBeLessThanOrEqual(2);
    await store.shutdown();
  });
});

describe.skipIf(!process.env.MYSQL_URL)('mysql ledger totals', () => {
  it('aggregates a ledger written before the totals table existed, once, at open', async () => {
    const prefix = `t${randomBytes(4).toString('hex')}_`;
    const url = process.env.MYSQL_URL!;
    const first = await MysqlLedgerStore.open({ url, prefix });
    const handles = [first];
    try {
      await first.ensureAccount('alice', 1000, T0);
      for (const id of ['r1', 'r2', 'r3']) {
        await first.reserve(pc(id, 'alice', 100));
        await first.close({ requestId: id, kind: 'settle', cost: 40, time: T0 + 1, usage: { inputTokens: 10, outputTokens: 1, cacheWriteTokens: 0, cacheReadTokens: 0 } });
      }
      const expected = billingStats(await first.ledger()).byKey;
      // As an older relay left it: rows, no totals table.
      const conn = await createConnection({ uri: url });
      await conn.query(`DROP TABLE ${prefix}billing_totals`);
      await conn.end();
      const upgraded = await MysqlLedgerStore.open({ url, prefix });
      handles.push(upgraded);
      expect(await upgraded.totalsByKey()).toEqual(expected);
      // A second open finds the table and adds nothing.
      const again = await MysqlLedgerStore.open({ url, prefix });
      handles.push(again);
      expect(await again.totalsByKey()).toEqual(expected);
    } finally {
      await first.dropTables();
      for (const h of handles) await h.shutdown().catch(() => undefined);
    }
  });

  it('aggregates the usage groups of a ledger written before the usage table and the time index existed, and later rows join the same groups', async () => {
    const prefix = `t${randomBytes(4).toString('hex')}_`;
    const url = process.env.MYSQL_URL!;
    const first = await MysqlLedgerStore.open({ url, prefix });
    const handles = [first];
    const settle = async (store: MysqlLedgerStore, id: string, time: number, endpoint?: string) => {
      await store.reserve({ ...pc(id, 'alice', 100), time });
      await store.close({ requestId: id, kind: 'settle', cost: 40, time, endpoint, usage: { inputTokens: 10, outputTokens: 1, cacheWriteTokens: 0, cacheReadTokens: 0 } });
    };
    try {
      await first.ensureAccount('alice', 10_000, T0);
      await settle(first, 'r1', T0 + 1, 'A');
      await settle(first, 'r2', T0 + DAY_MS + 5, undefined);
      const conn = await createConnection({ uri: url });
      await conn.query(`DROP TABLE ${prefix}billing_usage`);
      await conn.query(`ALTER TABLE ${prefix}billing_ledger DROP KEY by_time`);
      await conn.end();
      const upgraded = await MysqlLedgerStore.open({ url, prefix });
      handles.push(upgraded);
      // Rows after the upgrade land in the groups the migration made (same day, key, model, endpoint, route).
      await settle(upgraded, 'r3', T0 + 2, 'A');
      await settle(upgraded, 'r4', T0 + DAY_MS + 6, undefined);
      const groups = await upgraded.usageGroups();
      expect(groups).toHaveLength(2);
      const rows = await upgraded.ledger();
      for (const since of [undefined, T0 + 2, T0 + DAY_MS]) {
        expect(statsFromGroups(await upgraded.usageGroups(since))).toEqual(billingStats(rows.filter((r) => since === undefined || r.time >= since)));
      }
    } finally {
      await first.dropTables();
      for (const h of handles) await h.shutdown().catch(() => undefined);
    }
  });
});
