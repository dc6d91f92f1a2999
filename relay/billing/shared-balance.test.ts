/**
 * Two relays serving the same keys: one balance is spent once, whichever relay a request hits.
 * On one MySQL (with Redis shared between them, or each on its own memory live state) both
 * relays reserve from the same account row, so 40 concurrent requests against a balance that
 * covers 10 make exactly 10 succeed. Relays sharing Redis with separate (embedded) ledgers would
 * let each spend the balance again, so the second of them refuses to start.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startMocks, type MockFleet } from '../../mocks/index.js';
import type { RelayConfig } from '../config/schema.js';
import { startRelay, type RunningRelay, type StartRelayOptions } from '../server.js';
import { admin, ask, claudeBody, CLIENT_KEY } from '../testing.js';
import { MysqlLedgerStore } from './ledger-mysql.js';
import { SplitLedgerError } from './shared-ledger.js';

const mysqlUrl = process.env.MYSQL_URL;
const redisUrl = process.env.REDIS_URL;
const TOKEN = 'sk-ant-api03-shared-balance-01';
const OUTPUT_TOKENS = 20;
/** Input is free and max_tokens is the answer's length, so a request's reservation is its cost. */
const COST = OUTPUT_TOKENS * 15; // micro-dollars at $15 per million output tokens
const AFFORDABLE = 10;

let fleet: MockFleet | undefined;
const relays: RunningRelay[] = [];
const prefixes: string[] = [];
afterEach(async () => {
  for (const r of relays.splice(0)) await r.close();
  await fleet?.close();
  fleet = undefined;
  for (const p of prefixes.splice(0)) {
    const s = await MysqlLedgerStore.open({ url: mysqlUrl!, prefix: `${p}_` });
    await s.dropTables();
    await s.shutdown();
  }
});

const layout = (m: MockFleet): RelayConfig => ({
  keys: [{ key: CLIENT_KEY, name: 'tester' }],
  health: { enabled: false },
  channels: [{ name: 'main', endpoints: [{ name: 'A', type: 'claude', base_url: m.get('claude').url, token: TOKEN }] }],
  billing: {
    balances: { tester: ((AFFORDABLE + 0.5) * COST) / 1_000_000 },
    prices: { 'claude-sonnet-4-5': { input: 0, output: 15 } },
  },
});

async function mocks(): Promise<MockFleet> {
  // The answer takes a while, so every reservation is held while the others are being made.
  fleet = await startMocks({ upstreams: [{ name: 'claude', kind: 'claude', tokens: [TOKEN], latency: '300ms', output: { tokens: OUTPUT_TOKENS } }] });
  return fleet;
}

const stores = [{ name: 'one MySQL, no Redis', redis: undefined as string | undefined }];
if (redisUrl) stores.push({ name: 'one MySQL and one Redis', redis: redisUrl });

describe.runIf(mysqlUrl).each(stores)('two relays on $name', ({ redis }) => {
  it('never spend one balance twice', async () => {
    const m = await mocks();
    const statePrefix = `sb${randomBytes(4).toString('hex')}`;
    prefixes.push(statePrefix);
    const shared: Omit<StartRelayOptions, 'config'> = { statePrefix, mysqlUrl, redisUrl: redis, healthChecks: false, logLevel: 'silent' };
    relays.push(await startRelay({ config: layout(m), ...shared }), await startRelay({ config: layout(m), ...shared }));

    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => ask(relays[i % 2], '/v1/messages', claudeBody({ max_tokens: OUTPUT_TOKENS }))),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(AFFORDABLE);
    expect(statuses.filter((s) => s === 403)).toHaveLength(40 - AFFORDABLE);

    const journal = await m.control.journal();
    expect(journal).toHaveLength(AFFORDABLE);
    for (const relay of relays) {
      const { balances } = (await admin(relay, 'GET', '/admin/billing/balances')).json as { balances: Array<{ keyName: string; balance: number }> };
      expect(balances.find((b) => b.keyName === 'tester')?.balance).toBe(0.5 * COST);
    }
    // Settlement follows the answer; wait until nothing is pending.
    for (let i = 0; i < 100 && ((await admin(relays[0], 'GET', '/admin/billing/pending')).json as { pending: unknown[] }).pending.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const { rows } = (await admin(relays[0], 'GET', '/admin/billing/ledger?key=tester')).json as { rows: Array<{ kind: string }> };
    const settled = rows.filter((r) => r.kind === 'settle');
    expect(settled).toHaveLength(AFFORDABLE);
  }, 60_000);
});

describe.runIf(redisUrl)('relays sharing Redis with separate ledgers', () => {
  it('refuses to start the second one: a shared balance needs MySQL', async () => {
    const m = await mocks();
    const statePrefix = `sb${randomBytes(4).toString('hex')}`;
    const base = { statePrefix, redisUrl, mysqlUrl: '', healthChecks: false, logLevel: 'silent' };
    relays.push(await startRelay({ config: layout(m), ...base, dataDir: mkdtempSync(join(tmpdir(), 'relay-split-a-')) }));
    const second = startRelay({ config: layout(m), ...base, dataDir: mkdtempSync(join(tmpdir(), 'relay-split-b-')) });
    await expect(second).rejects.toThrow(SplitLedgerError);
    await expect(second).rejects.toThrow(/a shared balance needs MySQL/);
    if (mysqlUrl) {
      prefixes.push(statePrefix);
      await expect(startRelay({ config: layout(m), ...base, mysqlUrl })).rejects.toThrow(SplitLedgerError);
    }
  }, 60_000);

  it('lets the same relay restart on its own data dir at once', async () => {
    const m = await mocks();
    const base = { statePrefix: `sb${randomBytes(4).toString('hex')}`, redisUrl, mysqlUrl: '', healthChecks: false, logLevel: 'silent' };
    const dataDir = mkdtempSync(join(tmpdir(), 'relay-split-same-'));
    await (await startRelay({ config: layout(m), ...base, dataDir })).close();
    relays.push(await startRelay({ config: layout(m), ...base, dataDir }));
    expect((await ask(relays[0], '/v1/messages', claudeBody({ max_tokens: OUTPUT_TOKENS }))).status).toBe(200);
  }, 60_000);
});
