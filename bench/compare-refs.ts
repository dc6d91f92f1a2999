/**
 * Two versions of the relay compared in one run: the base ref checked out into a git worktree
 * with its own dependencies, the head (another ref, or this checkout as it is), both relays
 * started as `pnpm relay` starts them against the same upstream, and the benchmark run over
 * both side by side, round by round in a rotating order, with the direct call and the bare proxy
 * in every round. The base and head columns are then compared like two results, but paired in
 * time, so machine drift between two separate runs cannot pass for a regression.
 */
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { renderCompareReport } from '../reports/bench-compare-report.js';
import { checkoutWorktree, currentCommit, resolveRef, type Checkout } from './checkout.js';
import { printChecks, stamp, writeResultFiles } from './cli.js';
import { compareResults, formatComparison, splitTargets, type Comparison } from './compare.js';
import { loadBenchConfig } from './config.js';
import { ROOT } from './processes.js';
import { runBenchmark } from './runner.js';

export interface CompareRefsOptions {
  baseRef: string;
  /** Default: this checkout, uncommitted changes included. */
  headRef?: string;
  /** Benchmark name in bench/ (default gate) or a path to a .yaml. */
  bench?: string;
  rounds?: number;
  durationMs?: number;
  warmupMs?: number;
  outDir: string;
  alpha?: number;
  thresholds?: Record<string, number>;
  log?: (line: string) => void;
  color?: boolean;
}

export interface CompareRefsResult {
  comparison: Comparison;
  files: { json: string; html: string; compareHtml: string };
}

export async function compareRefs(o: CompareRefsOptions): Promise<CompareRefsResult> {
  const log = o.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const checkouts: Checkout[] = [];
  try {
    const base = resolveRef(o.baseRef);
    log(`base ${o.baseRef} = ${base.commit.slice(0, 12)} (${base.how})`);
    const baseCheckout = checkoutWorktree(base.commit, log);
    checkouts.push(baseCheckout);
    let headRoot = ROOT;
    let headCommit = currentCommit();
    if (o.headRef) {
      const head = resolveRef(o.headRef);
      log(`head ${o.headRef} = ${head.commit.slice(0, 12)} (${head.how})`);
      const headCheckout = checkoutWorktree(head.commit, log);
      checkouts.push(headCheckout);
      headRoot = headCheckout.dir;
      headCommit = head.commit;
    } else log(`head = this checkout (${headCommit.slice(0, 12)}${headCommit.endsWith('+dirty') ? ', with uncommitted changes' : ''})`);

    const name = o.bench ?? 'gate';
    const config = loadBenchConfig(name.endsWith('.yaml') ? name : join(ROOT, 'bench', `${name}.yaml`));
    const headLabel = o.headRef ?? 'head';
    const baseName = `bench-${config.name}-${o.baseRef}-vs-${headLabel}-${stamp()}`.replace(/[^A-Za-z0-9._+-]/g, '_');
    const result = await runBenchmark({
      config,
      workDir: join(o.outDir, '.work', baseName),
      rounds: o.rounds,
      durationMs: o.durationMs,
      warmupMs: o.warmupMs,
      relaySpecs: [
        { name: 'base', variant: 'shipped', root: baseCheckout.dir },
        { name: 'head', variant: 'shipped', root: headRoot },
      ],
      log,
    });
    result.config = { ...result.config, baseRef: o.baseRef, baseCommit: base.commit, headRef: o.headRef ?? null, headCommit };
    const files = writeResultFiles(result, o.outDir, baseName);
    printChecks(result, (l) => log(l.trimEnd()));

    const [b, h] = splitTargets(result, 'base', 'head');
    b.environment = { ...b.environment, git: { commit: base.commit, dirty: false } };
    h.environment = { ...h.environment, git: { commit: headCommit.replace('+dirty', ''), dirty: headCommit.endsWith('+dirty') } };
    const comparison = compareResults(b, h, { alpha: o.alpha, thresholds: o.thresholds, baseLabel: o.baseRef, headLabel });
    process.stdout.write(formatComparison(comparison, o.color));
    const compareHtml = join(o.outDir, `compare-${baseName}.html`);
    writeFileSync(compareHtml, renderCompareReport(comparison, b, h));
    process.stdout.write(`${files.json}\n${files.html}\n${compareHtml}\n`);
    return { comparison, files: { json: files.json, html: files.html, compareHtml } };
  } finally {
    for (const c of checkouts) c.remove();
  }
}
