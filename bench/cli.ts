/**
 * pnpm bench <name...> [--target [name=]url] [--key k] [--rounds n] [--duration s] [--warmup s]
 *                      [--out dir] [--label l] [--mocks-port n] [--relay-delay ms] [--cpu-prof]
 *                      [--check] [--no-progress]
 *
 * Runs the benchmarks declared in bench/<name>.yaml (or a path to a .yaml), with mocks, relay,
 * bare server and load generator in separate processes, and writes per benchmark
 *   <out>/bench-<name>[-<label>]-<stamp>.json       results + environment + raw histograms
 *   <out>/bench-<name>[-<label>]-<stamp>.html       self-contained report
 *   <out>/bench-<name>[-<label>]-<stamp>.smaller.json / .bigger.json   github-action-benchmark
 *        input (tools customSmallerIsBetter / customBiggerIsBetter)
 * --target (repeatable) benchmarks relays run by someone else instead of the reference relay;
 * point them at the mock upstreams with --mocks-port (printed at start). --relay-delay (or
 * BENCH_INJECT_DELAY_MS) puts a delay proxy in front of the reference relay: an injected
 * regression for proving bench:compare; `--relay-delay 0,2` measures both side by side in one
 * run (targets relay+0ms, relay+2ms). --check exits 1 when a target check fails.
 *
 * `pnpm bench metrics-scrape [--rows 10,1000,100000,1000000] [--scrapes 30]` is not a load
 * benchmark: it times one /metrics scrape as the billing ledger grows (bench/metrics-scrape.ts).
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { parseDuration } from '../lib/duration.js';
import { ConfigError } from '../lib/yaml-config.js';
import { renderBenchReport } from '../reports/bench-report.js';
import { loadBenchConfig } from './config.js';
import { isMain, runMain } from '../lib/main.js';
import { ROOT } from './processes.js';
import { githubBenchmarkFiles, targetLabel, withRounds, type BenchResult } from './results.js';
import { runMetricsScrapeBench } from './metrics-scrape.js';
import { runBenchmark } from './runner.js';

const USAGE = `usage: pnpm bench <name...|all> [--target [name=]url]... [--key k] [--rounds n] [--duration s]
       [--warmup s] [--out dir] [--label l] [--mocks-port n] [--relay-delay ms] [--cpu-prof] [--relay-node-flag f]... [--check] [--no-progress]
benchmarks: ${listBenchmarks().join(', ')}
       pnpm bench metrics-scrape [--rows 10,1000,100000,1000000] [--scrapes 30] [--backend embedded|mysql] [--out dir]`;

export function listBenchmarks(): string[] {
  return readdirSync(join(ROOT, 'bench'))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -5))
    .sort();
}

/** "5" and "5s" are seconds here (the CLI talks seconds); "500ms" works too. */
export function parseSeconds(v: string): number {
  return /^\d+(\.\d+)?$/.test(v) ? Number(v) * 1000 : parseDuration(v);
}

export function parseTarget(v: string, i: number): { name: string; url: string } {
  const eq = v.indexOf('=');
  if (eq > 0 && !v.slice(0, eq).includes('/')) return { name: v.slice(0, eq), url: v.slice(eq + 1) };
  return { name: i === 0 ? 'target' : `target${i + 1}`, url: v };
}

export function stamp(d = new Date()): string {
  return d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

/** Writes a result as `<outDir>/<base>.json`, `.html` and the github-action-benchmark files; returns their paths. */
export function writeResultFiles(result: BenchResult, outDir: string, base: string): { json: string; html: string; github: string[] } {
  mkdirSync(outDir, { recursive: true });
  const json = join(outDir, `${base}.json`);
  const html = join(outDir, `${base}.html`);
  const githubFiles = githubBenchmarkFiles(result, join(outDir, base));
  writeFileSync(json, JSON.stringify(result, null, 1));
  writeFileSync(html, renderBenchReport([result]));
  for (const f of githubFiles) writeFileSync(f.path, f.text);
  return { json, html, github: githubFiles.map((f) => f.path) };
}

/**
 * The target checks of a result, one line each, naming the variant each figure is of (the relay
 * as shipped or quiet) with the median of the rounds and every round's value (each a ratio to
 * that round's ceiling or baseline); then CPU per request of the relays and the ceiling side by
 * side. True when a check failed.
 */
export function printChecks(result: BenchResult, write: (line: string) => void = (l) => process.stdout.write(l)): boolean {
  let failed = false;
  for (const c of result.checks) {
    const verdict = c.ok === null ? 'n/a ' : c.ok ? 'PASS' : 'FAIL';
    const who = c.target ? `[${targetLabel(c.target, c.variant)}] ` : '';
    const twin = c.twin ? `; the ceiling's twin: ${withRounds(c.twin.actual, c.twin.rounds, 3, c.judgedBy)}` : '';
    write(`${verdict}  ${who}${c.label}: ${c.actual === null ? 'not measured' : withRounds(c.actual, c.rounds, 3, c.judgedBy)} (${c.op} ${c.value})${twin}\n`);
    if (c.ok === false) failed = true;
  }
  for (const phase of new Set((result.cpuPerRequest ?? []).map((r) => r.phase))) {
    const rows = result.cpuPerRequest!.filter((r) => r.phase === phase);
    const cells = rows.map((r) => {
      const vs = r.vsCeiling === undefined ? '' : `, ${r.vsCeiling.toFixed(2)}x the ceiling's`;
      return `${targetLabel(r.target, r.variant)} ${Math.round(r.medianUs)} µs (${Math.round(r.minUs)}-${Math.round(r.maxUs)}${vs})`;
    });
    write(`cpu per ${rows[0].per ?? 'request'}, ${phase}, median of the rounds (range): ${cells.join('; ')}\n`);
  }
  for (const n of result.notes) write(`note: ${n}\n`);
  return failed;
}

async function main(): Promise<number> {
  // Its own flags (--rows, --scrapes): handed the arguments as they are.
  if (process.argv[2] === 'metrics-scrape') return runMetricsScrapeBench(process.argv.slice(3));
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      target: { type: 'string', multiple: true },
      key: { type: 'string' },
      rounds: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      out: { type: 'string' },
      label: { type: 'string' },
      'mocks-port': { type: 'string' },
      'relay-delay': { type: 'string' },
      'cpu-prof': { type: 'boolean' },
      'relay-node-flag': { type: 'string', multiple: true },
      check: { type: 'boolean' },
      'no-progress': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals.length === 0) {
    process.stdout.write(USAGE + '\n');
    return values.help ? 0 : 2;
  }
  const names = positionals.includes('all') ? listBenchmarks().filter((n) => !n.startsWith('resources')) : positionals;
  const outDir = resolve(values.out ?? join(ROOT, 'reports', 'out'));
  mkdirSync(outDir, { recursive: true });
  const key = values.key ?? process.env.BENCH_RELAY_KEY;
  const targets = (values.target ?? []).map((t, i) => ({ ...parseTarget(t, i), key }));
  const delayRaw = values['relay-delay'] ?? process.env.BENCH_INJECT_DELAY_MS;
  let failed = false;

  for (const name of names) {
    const file = name.endsWith('.yaml') ? resolve(name) : join(ROOT, 'bench', `${name}.yaml`);
    if (!name.endsWith('.yaml') && !existsSync(file)) throw new Error(`unknown benchmark "${name}"; known: ${listBenchmarks().join(', ')} (or a path to a .yaml file)`);
    const config = loadBenchConfig(file);
    const base = `bench-${config.name}${values.label ? `-${values.label}` : ''}-${stamp()}`;
    const showBar = !values['no-progress'] && process.stderr.isTTY;
    const multi = showBar
      ? new cliProgress.MultiBar({ format: ' {bar} {percentage}% | ETA {eta_formatted} | {label}', hideCursor: true, clearOnComplete: true, stream: process.stderr }, cliProgress.Presets.shades_classic)
      : undefined;
    const bar = multi?.create(1000, 0, { label: config.name });
    const log = (line: string) => (multi ? multi.log(line + '\n') : process.stderr.write(line + '\n'));
    log(`== ${config.name}: ${config.description.trim()}`);
    let result: BenchResult;
    try {
      result = await runBenchmark({
        config,
        workDir: join(outDir, '.work', base),
        rounds: values.rounds ? Number(values.rounds) : undefined,
        durationMs: values.duration ? parseSeconds(values.duration) : undefined,
        warmupMs: values.warmup ? parseSeconds(values.warmup) : undefined,
        targets,
        mocksPort: values['mocks-port'] ? Number(values['mocks-port']) : undefined,
        relayDelayMs: delayRaw === undefined ? undefined : delayRaw.includes(',') ? delayRaw.split(',').map(Number) : Number(delayRaw),
        relayNodeFlags: [...(values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${join(outDir, 'profiles')}`] : []), ...(values['relay-node-flag'] ?? [])],
        onProgress: (label, f) => bar?.update(Math.round(f * 1000), { label }),
        log,
      });
    } finally {
      multi?.stop();
    }
    const files = writeResultFiles(result, outDir, base);
    if (printChecks(result)) failed = true;
    process.stdout.write(`${files.json}\n${files.html}\n${files.github.join('\n')}\n`);
  }
  return failed && values.check ? 1 : 0;
}

if (isMain(import.meta.url)) {
  runMain(main, {
    crashCode: 2,
    describe: (err) => (err instanceof ConfigError || /^unknown benchmark/.test((err as Error).message) ? (err as Error).message : `${(err as Error).stack ?? err}`),
  });
}
