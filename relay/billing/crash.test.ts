/**
 * A real crash: a billing process is killed (SIGKILL) between pre-charge and settlement; the
 * next process on the same ledger settles what the request log says completed and refunds the
 * rest, and a second recovery changes nothing. The embedded child syncs its ledger file only
 * every 10 minutes, so the kill always lands inside the group-commit window: a killed process
 * loses no movement, whatever fdatasync has not yet done.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SystemClock } from '../../lib/clock.js';
import { openBilling } from './index.js';
import { MysqlLedgerStore } from './ledger-mysql.js';

const CONFIG = { balances: { alice: 1 }, prices: { 'claude-sonnet-4-5': { input: 3, output: 15, cache_write: 3.75 } } };
const RESERVED = 1000 * 3.75 + 100 * 15; // per request, micro-dollars

function runUntilReserved(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'crash-child.ts'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c) => (err += c));
    child.stdout.on('data', (c: Buffer) => {
      if (c.toString().includes('reserved')) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`child exited ${code}: ${err}`))));
  });
}

const backends = [{ name: 'embedded', mysqlUrl: undefined as string | undefined }];
if (process.env.MYSQL_URL) backends.push({ name: 'mysql', mysqlUrl: process.env.MYSQL_URL });

describe.each(backends)('crash between pre-charge and settlement: $name', ({ mysqlUrl }) => {
  it('settles completed requests from the request log and refunds the rest on restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'relay-crash-'));
    const prefix = `c${randomBytes(4).toString('hex')}_`;
    await runUntilReserved([JSON.stringify(CONFIG), dataDir, mysqlUrl ?? '-', prefix, 'done-1', 'lost-1', 'lost-2']);

    const log = { 'done-1': { outcome: 'ok', usage: { inputTokens: 900, outputTokens: 50, cacheWriteTokens: 0, cacheReadTokens: 0 }, endpoint: 'A' } } as const;
    const opened = await openBilling({
      // The default 10-minute grace: recovery knows the process is dead, not that its rows are old.
      config: CONFIG, clock: new SystemClock(), dataDir, mysqlUrl, tablePrefix: prefix,
      lookupRequest: async (p) => log[p.requestId as keyof typeof log],
    });
    try {
      expect(opened.recovery).toEqual({ settled: ['done-1'], refunded: ['lost-1', 'lost-2'], skipped: [] });
      const store = opened.ledger!.store;
      expect(await store.balance('alice')).toBe(1_000_000 - (2700 + 750));
      expect(await store.pending()).toEqual([]);
      expect((await store.ledger({ requestId: 'lost-1' })).map((r) => [r.kind, r.amount])).toEqual([['precharge', RESERVED], ['refund', -RESERVED]]);
      expect((await opened.ledger!.recover()).settled).toEqual([]);
    } finally {
      await opened.close();
      if (mysqlUrl) {
        const s = await MysqlLedgerStore.open({ url: mysqlUrl, prefix });
        await s.dropTables();
        await s.shutdown();
      }
    }
  }, 60_000);
});

describe.runIf(process.env.MYSQL_URL)('a relay process killed while another runs: mysql', () => {
  it('the running relay refunds the dead one\'s reservations within seconds', async () => {
    const mysqlUrl = process.env.MYSQL_URL!;
    const prefix = `c${randomBytes(4).toString('hex')}_`;
    const live = await openBilling({ config: CONFIG, clock: new SystemClock(), mysqlUrl, tablePrefix: prefix });
    try {
      await live.billing.precharge({
        requestId: 'live-1', keyName: 'alice', model: 'claude-sonnet-4-5', protocol: 'anthropic',
        info: { model: 'claude-sonnet-4-5', stream: true, maxOutputTokens: 100, estimatedInputTokens: 1000, includeUsage: false, hasTools: false },
      });
      await runUntilReserved([JSON.stringify(CONFIG), '-', mysqlUrl, prefix, 'dead-1', 'dead-2']);
      const killedAt = Date.now();
      const store = live.ledger!.store;
      while ((await store.pending()).length > 1 && Date.now() - killedAt < 20_000) await new Promise((r) => setTimeout(r, 100));
      // The sweep runs every quarter lease (2.5 s): the kill is seen at the next one.
      expect(Date.now() - killedAt).toBeLessThan(5_000);
      expect((await store.pending()).map((p) => p.requestId)).toEqual(['live-1']);
      expect((await store.ledger({ kinds: ['refund'] })).map((r) => [r.requestId, r.rule]).sort()).toEqual([
        ['dead-1', 'recovered:incomplete'], ['dead-2', 'recovered:incomplete'],
      ]);
      expect(await store.balance('alice')).toBe(1_000_000 - RESERVED);
    } finally {
      await live.close();
      const s = await MysqlLedgerStore.open({ url: mysqlUrl, prefix });
      await s.dropTables();
      await s.shutdown();
    }
  }, 60_000);
});
