/**
 * pnpm bench:compare <base.json> <head.json> [--threshold metric=pct]... [--alpha 0.1]
 *                    [--out file.html] [--github prefix]
 * pnpm bench:compare <run.json> --base-target a --head-target b ...   two relays of one run
 * pnpm bench:compare --base-ref <tag|commit> [--head-ref <ref>] [--bench gate] [--rounds n]
 *                    [--duration s] [--warmup s] [--out dir] ...           two versions in one run
 *
 * Compares two results of the same benchmark metric by metric, prints the table, writes an HTML
 * comparison, and exits 1 when a gated metric regressed (significant at alpha AND beyond its
 * minimum effect), so CI can gate on it. Noisy runs are reported as such and do not fail.
 * `--threshold` takes exact metric names or globs: `--threshold '*\/p99_ms=15'`.
 * `--github prefix` writes the head result as github-action-benchmark input:
 * prefix.smaller.json (customSmallerIsBetter) and prefix.bigger.json (customBiggerIsBetter).
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { renderCompareReport } from '../reports/bench-compare-report.js';
import { compareResults, formatComparison, splitTargets } from './compare.js';
import { isMain, runMain } from '../lib/main.js';
import { parseSeconds } from './cli.js';
import { compareRefs } from './compare-refs.js';
import { ROOT } from './processes.js';
import { githubBenchmarkFiles, RESULT_SCHEMA, type BenchResult } from './results.js';

const USAGE = `usage: pnpm bench:compare <base.json> <head.json> [--threshold metric=pct]... [--alpha 0.1] [--out report.html] [--github prefix]
       pnpm bench:compare <run.json> --base-target <name> --head-target <name> [...]   (two relays measured side by side in one run)
       pnpm bench:compare --base-ref <tag|commit> [--head-ref <ref>] [--bench gate] [--rounds n] [--duration s] [--warmup s] [--out dir]
           (checks the base out into a git worktree, runs both relays side by side in one run; head = this checkout by default)`;

export function readResult(path: string): BenchResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
  const r = parsed as BenchResult;
  if (!r || r.schema !== RESULT_SCHEMA || !Array.isArray(r.metrics)) throw new Error(`${path}: not a relaylab benchmark result (schema ${RESULT_SCHEMA})`);
  return r;
}

export function parseThresholds(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) {
    const m = /^(.+)=(\d+(?:\.\d+)?)%?$/.exec(v);
    if (!m) throw new Error(`--threshold ${v}: expected metric=percent, e.g. closed-50/relay/p99_ms=10`);
    out[m[1]] = Number(m[2]);
  }
  return out;
}

export async function main(argv = process.argv.slice(2)): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      threshold: { type: 'string', multiple: true },
      alpha: { type: 'string' },
      out: { type: 'string' },
      github: { type: 'string' },
      'base-target': { type: 'string' },
      'head-target': { type: 'string' },
      'base-ref': { type: 'string' },
      'head-ref': { type: 'string' },
      bench: { type: 'string' },
      rounds: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (values['base-ref'] !== undefined) {
    if (positionals.length > 0 || !values['base-ref']) {
      process.stderr.write(USAGE + '\n');
      return 2;
    }
    const { comparison } = await compareRefs({
      baseRef: values['base-ref'],
      headRef: values['head-ref'],
      bench: values.bench,
      rounds: values.rounds ? Number(values.rounds) : undefined,
      durationMs: values.duration ? parseSeconds(values.duration) : undefined,
      warmupMs: values.warmup ? parseSeconds(values.warmup) : undefined,
      outDir: resolve(values.out ?? join(ROOT, 'reports', 'out')),
      alpha: values.alpha ? Number(values.alpha) : undefined,
      thresholds: parseThresholds(values.threshold ?? []),
      color: process.stdout.isTTY,
    });
    return comparison.outcome === 'regression' ? 1 : 0;
  }
  const sideBySide = values['base-target'] !== undefined || values['head-target'] !== undefined;
  if (positionals.length !== (sideBySide ? 1 : 2) || (sideBySide && !(values['base-target'] && values['head-target']))) {
    process.stderr.write(USAGE + '\n');
    return 2;
  }
  const paths = positionals.map((p) => resolve(p));
  let base: BenchResult;
  let head: BenchResult;
  let labels: [string, string];
  if (sideBySide) {
    [base, head] = splitTargets(readResult(paths[0]), values['base-target']!, values['head-target']!);
    labels = [values['base-target']!, values['head-target']!];
  } else {
    base = readResult(paths[0]);
    head = readResult(paths[1]);
    labels = [basename(paths[0], '.json'), basename(paths[1], '.json')];
  }
  const comparison = compareResults(base, head, {
    alpha: values.alpha ? Number(values.alpha) : undefined,
    thresholds: parseThresholds(values.threshold ?? []),
    baseLabel: labels[0],
    headLabel: labels[1],
  });
  const headPath = paths[paths.length - 1];
  const basePath = paths[0];
  process.stdout.write(formatComparison(comparison, process.stdout.isTTY));
  const stem = sideBySide ? `${basename(basePath, '.json')}-${labels[0]}-vs-${labels[1]}` : `${basename(basePath, '.json')}-vs-${basename(headPath, '.json')}`;
  const out = resolve(values.out ?? join(dirname(headPath), `compare-${stem.replace(/[^A-Za-z0-9._+-]/g, '_')}.html`));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, renderCompareReport(comparison, base, head));
  process.stdout.write(`${out}\n`);
  if (values.github) {
    for (const f of githubBenchmarkFiles(head, resolve(values.github))) {
      writeFileSync(f.path, f.text);
      process.stdout.write(`${f.path}\n`);
    }
  }
  return comparison.outcome === 'regression' ? 1 : 0;
}

if (isMain(import.meta.url)) {
  runMain(main, { crashCode: 2, describe: (err) => (err as Error).message });
}
