/**
 * `pnpm bench metrics-scrape [--rows 10,1000,100000,1000000] [--scrapes 30] [--out dir]`
 *
 * How long one `/metrics` scrape takes as the billing ledger grows. For each ledger backend
 * (embedded always; MySQL when MYSQL_URL is set) and each size, the ledger is filled with that
 * many closing rows spread over KEYS keys, a relay starts on it in this process, and the scrape
 * is timed `--scrapes` times after a warm-up. The scrape's cost should follow the number of keys,
 * not of rows: the verdict compares the median at the largest size with the smallest.
 *
 * The same run times `GET /admin/billing/stats` (usage by day, key, model, endpoint, route),
 * which the store aggregates (GROUP BY on MySQL, running totals in the embedded ledger): its
 * relay-side cost follows the number of groups, not of rows; MySQL's GROUP BY still scans the
 * closing rows inside the database.
 *
 * Seeding writes rows straight to the store's file or table (going through the relay for a
 * million requests would take hours): the embedded ledger's JSON lines, or multi-row INSERTs
 * with the totals table dropped so the relay's start-up rebuilds it, as for a ledger written
 * before totals existed.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { createConnection } from 'mysql2/promise';
import { request } from 'undici';
import { LEDGER_FILE } from '../relay/billing/ledger-embedded.js';
import { MysqlLedgerStore } from '../relay/billing/ledger-mysql.js';
import { startRelay, type RunningRelay } from '../relay/server.js';
import { ROOT } from './processes.js';

const KEYS = 20;
const DEFAULT_ROWS = [10, 1_000, 100_000, 1_000_000];
/** Largest/smallest median within this factor counts as flat (timings drift 2x on a shared machine). */
const FLAT_FACTOR = 3;
const CONTROL_SAMPLES = 3;
const WARMUP_SCRAPES = 15;
const T0 = Date.UTC(2026, 0, 1);

export interface ScrapeSample {
  backend: 'embedded' | 'mysql';
  rows: number;
  scrapeMedianMs: number;
  scrapeP95Ms: number;
  /** GET /admin/billing/stats, aggregated by the store. */
  statsMedianMs: number;
  startMs: number;
}

interface Backend {
  name: 'embedded' | 'mysql';
  /** Grows the ledger to `rows` closing rows; returns start options for a relay on it. */
  grow(rows: number): Promise<{ dataDir?: string; mysqlUrl?: string; statePrefix?: string }>;
  cleanup(): Promise<void>;
}

const keyOf = (i: number) => `key-${i % KEYS}`;
const usage = (i: number) => ({ inputTokens: 100 + (i % 50), outputTokens: 20 + (i % 7), cacheWriteTokens: 0, cacheReadTokens: 0 });

function embeddedBackend(): Backend {
  const dir = mkdtempSync(join(tmpdir(), 'relaylab-scrape-'));
  let written = 0;
  return {
    name: 'embedded',
    async grow(rows) {
      const out = createWriteStream(join(dir, LEDGER_FILE), { flags: 'a' });
      let chunk = '';
      for (let i = written; i < rows; i++) {
        chunk += JSON.stringify({ id: i + 1, time: T0 + i, keyName: keyOf(i), requestId: `seed-${i}`, kind: 'charge', amount: 50, cost: 50, model: 'claude-sonnet-4-5', path: '/v1/messages', usage: usage(i) }) + '\n';
        if (chunk.length > 1 << 20) {
          if (!out.write(chunk)) await once(out, 'drain');
          chunk = '';
        }
      }
      out.end(chunk);
      await once(out, 'finish');
      written = rows;
      return { dataDir: dir };
    },
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function mysqlBackend(url: string): Backend {
  const statePrefix = `scrape${randomBytes(4).toString('hex')}`;
  const tablePrefix = `${statePrefix}_`;
  let written = 0;
  return {
    name: 'mysql',
    async grow(rows) {
      const store = await MysqlLedgerStore.open({ url, prefix: tablePrefix });
      await store.shutdown();
      const conn = await createConnection({ uri: url });
      try {
        for (let start = written; start < rows; start += 5_000) {
          const values: unknown[][] = [];
          for (let i = start; i < Math.min(rows, start + 5_000); i++) {
            const u = usage(i);
            values.push([T0 + i, keyOf(i), `seed-${i}`, 'charge', 50, 50, 'claude-sonnet-4-5', '/v1/messages', u.inputTokens, u.outputTokens, 0, 0, 0]);
          }
          await conn.query(
            `INSERT INTO ${tablePrefix}billing_ledger (time, key_name, request_id, kind, amount, cost, model, path, input_tokens, output_tokens, cache_write_tokens, cache_read_tokens, usage_estimated) VALUES ?`,
            [values],
          );
        }
        // The relay rebuilds the totals from the rows at start, as after an upgrade.
        await conn.query(`DROP TABLE IF EXISTS ${tablePrefix}billing_totals`);
      } finally {
        await conn.end();
      }
      written = rows;
      return { mysqlUrl: url, statePrefix };
    },
    async cleanup() {
      const store = await MysqlLedgerStore.open({ url, prefix: tablePrefix });
      await store.dropTables();
      await store.shutdown();
    },
  };
}

async function timed(relay: RunningRelay, path: string): Promise<number> {
  const t = performance.now();
  const res = await request(relay.adminUrl + path, { headers: { authorization: `Bearer ${relay.adminToken}` } });
  await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${path} answered ${res.statusCode}`);
  return performance.now() - t;
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function measure(backend: Backend, rows: number, scrapes: number, log: (line: string) => void): Promise<ScrapeSample> {
  const stores = await backend.grow(rows);
  const started = performance.now();
  const relay = await startRelay({
    config: { billing: { prices: { 'claude-sonnet-4-5': { input: 3, output: 15 } } }, health: { enabled: false } },
    logLevel: 'silent',
    healthChecks: false,
    ...stores,
  });
  const startMs = performance.now() - started;
  try {
    // The first scrapes of a process pay for JIT compilation: without this the smallest size,
    // measured first, would look slowest.
    for (let i = 0; i < WARMUP_SCRAPES; i++) await timed(relay, '/metrics');
    const scrape: number[] = [];
    for (let i = 0; i < scrapes; i++) scrape.push(await timed(relay, '/metrics'));
    const stats: number[] = [];
    for (let i = 0; i < CONTROL_SAMPLES; i++) stats.push(await timed(relay, '/admin/billing/stats'));
    const sample: ScrapeSample = {
      backend: backend.name,
      rows,
      scrapeMedianMs: quantile(scrape, 0.5),
      scrapeP95Ms: quantile(scrape, 0.95),
      statsMedianMs: quantile(stats, 0.5),
      startMs,
    };
    log(
      `${backend.name.padEnd(8)} ${String(rows).padStart(9)} rows: /metrics median ${sample.scrapeMedianMs.toFixed(2)} ms, p95 ${sample.scrapeP95Ms.toFixed(2)} ms` +
        ` | /admin/billing/stats ${sample.statsMedianMs.toFixed(1)} ms | relay start ${(startMs / 1000).toFixed(1)} s`,
    );
    return sample;
  } finally {
    await relay.close();
  }
}

/** Largest-size median over smallest-size median, per backend. */
export function flatness(samples: ScrapeSample[]): Array<{ backend: string; ratio: number; statsRatio: number; flat: boolean }> {
  const out = [];
  for (const backend of new Set(samples.map((s) => s.backend))) {
    const mine = samples.filter((s) => s.backend === backend).sort((a, b) => a.rows - b.rows);
    const first = mine[0];
    const last = mine[mine.length - 1];
    const ratio = last.scrapeMedianMs / first.scrapeMedianMs;
    out.push({ backend, ratio, statsRatio: last.statsMedianMs / first.statsMedianMs, flat: ratio <= FLAT_FACTOR });
  }
  return out;
}

export async function runMetricsScrapeBench(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { rows: { type: 'string' }, scrapes: { type: 'string' }, out: { type: 'string' }, backend: { type: 'string' } },
    allowPositionals: true,
  });
  const sizes = values.rows ? values.rows.split(',').map((v) => Number(v.replace(/_/g, ''))) : DEFAULT_ROWS;
  if (sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--rows takes positive integers, e.g. 10,1000,1000000 (got "${values.rows}")`);
  sizes.sort((a, b) => a - b);
  const scrapes = values.scrapes ? Number(values.scrapes) : 30;
  const log = (line: string) => process.stderr.write(line + '\n');
  const backends: Backend[] = [];
  if (!values.backend || values.backend === 'embedded') backends.push(embeddedBackend());
  if (process.env.MYSQL_URL && (!values.backend || values.backend === 'mysql')) backends.push(mysqlBackend(process.env.MYSQL_URL));
  else if (values.backend === 'mysql') throw new Error('--backend mysql needs MYSQL_URL');
  if (!process.env.MYSQL_URL) log('note: MYSQL_URL is not set: the MySQL ledger is not measured');
  log(`== metrics-scrape: ${KEYS} keys, ledger sizes ${sizes.join(', ')}, ${scrapes} scrapes each`);
  const samples: ScrapeSample[] = [];
  for (const backend of backends) {
    try {
      for (const rows of sizes) samples.push(await measure(backend, rows, scrapes, log));
    } finally {
      await backend.cleanup();
    }
  }
  const verdicts = flatness(samples);
  let ok = true;
  for (const v of verdicts) {
    process.stdout.write(
      `${v.flat ? 'PASS' : 'FAIL'}  ${v.backend}: /metrics median at ${sizes[sizes.length - 1]} rows is ${v.ratio.toFixed(2)}x the one at ${sizes[0]} rows (flat: <= ${FLAT_FACTOR}x);` +
        ` /admin/billing/stats ${v.statsRatio.toFixed(1)}x\n`,
    );
    ok &&= v.flat;
  }
  const outDir = resolve(values.out ?? join(ROOT, 'reports', 'out'));
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `bench-metrics-scrape-${new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}.json`);
  writeFileSync(file, JSON.stringify({ name: 'metrics-scrape', keys: KEYS, scrapes, samples, verdicts }, null, 1));
  process.stdout.write(`${file}\n`);
  return ok ? 0 : 1;
}
