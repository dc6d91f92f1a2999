/**
 * pnpm scorecard [suite...] [--targets reference,portkey,ccr] [--out dir] [--screenshot file.png]
 *
 * Runs the suites against each relay, the relays side by side (peers are installed on demand and started on
 * 127.0.0.1, see adapters/peers/) and writes one self-contained HTML page and its JSON twin:
 * a matrix of scenario × relay by level (reports/scorecard-report.ts). With --screenshot, the
 * page is rendered in headless Chromium and saved as PNG.
 * Exit codes: 0 the scorecard was written, 2 it could not be (bad arguments, no scenarios).
 * A relay that fails checks does not change the exit code: gate on `pnpm conformance` instead.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { renderScorecard, summarize, type Scorecard, type ScorecardTarget } from '../reports/scorecard-report.js';
import { parseDuration } from '../lib/duration.js';
import { isMain, runMain } from '../lib/main.js';
import { openTarget, SCORECARD_TARGETS, type ScorecardTargetName } from './adapters/peers/targets.js';
import { parse, UsageError } from './engine/args.js';
import { loadAll, type LoadedScenario } from './engine/load.js';
import { REPORT_DIR, timestamp } from './engine/output.js';
import { runScenario } from './engine/runner.js';
import { SUITES } from './engine/schema.js';

const USAGE = `usage: pnpm scorecard [suite...] [--targets ${SCORECARD_TARGETS.join(',')}] [--out dir] [--screenshot file.png]
                      [--max-real-wait 30s] [--verbose]
suites: ${SUITES.join(', ')}
--max-real-wait: on a relay without a virtual clock, the longest \`advance\` waited in real time (longer ones are skipped)`;

async function runTarget(name: ScorecardTargetName, chosen: LoadedScenario[], verbose: boolean, maxRealWaitMs: number | undefined): Promise<ScorecardTarget> {
  const started = performance.now();
  const log = (s: string) => console.log(`[${name}] ${s}`);
  let opened;
  try {
    opened = await openTarget(name, log);
  } catch (err) {
    log(`could not start: ${(err as Error).message}`);
    return { name, description: name, url: '', adapter: '', durationMs: performance.now() - started, error: (err as Error).message, results: [] };
  }
  const results = [];
  try {
    for (const { file, scenario } of chosen) {
      const lines: string[] = [];
      const result = await runScenario(scenario, {
        adapter: opened.adapter,
        target: opened.target,
        file: relative(process.cwd(), file),
        log: verbose ? log : (s) => lines.push(s),
        maxRealWaitMs,
      });
      results.push(result);
      log(`${result.status.toUpperCase().padEnd(14)} ${scenario.name} (${(result.durationMs / 1000).toFixed(1)} s)`);
    }
  } finally {
    await opened.adapter.close?.().catch(() => {});
    await opened.stop();
  }
  return { name, description: opened.description, url: opened.url, adapter: opened.adapterSpec, durationMs: performance.now() - started, results };
}

export async function main(argv: string[]): Promise<number> {
  let values;
  let positionals: string[];
  let targets: ScorecardTargetName[];
  let maxRealWaitMs: number | undefined;
  try {
    ({ values, positionals } = parse(argv, {
      targets: { type: 'string' },
      out: { type: 'string' },
      screenshot: { type: 'string' },
      'max-real-wait': { type: 'string' },
      verbose: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    }));
    if (values['max-real-wait'] !== undefined) {
      try {
        maxRealWaitMs = parseDuration(values['max-real-wait'] as string);
      } catch (err) {
        throw new UsageError(`--max-real-wait: ${(err as Error).message}`);
      }
    }
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const unknownSuites = positionals.filter((s) => !(SUITES as readonly string[]).includes(s));
    if (unknownSuites.length) throw new UsageError(`unknown suite(s): ${unknownSuites.join(', ')}`);
    targets = String(values.targets ?? SCORECARD_TARGETS.join(',')).split(',').map((t) => t.trim()).filter(Boolean) as ScorecardTargetName[];
    const unknown = targets.filter((t) => !(SCORECARD_TARGETS as readonly string[]).includes(t));
    if (unknown.length || targets.length === 0) throw new UsageError(`--targets: expected some of ${SCORECARD_TARGETS.join(', ')}${unknown.length ? `, got ${unknown.join(', ')}` : ''}`);
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const loaded = loadAll();
  const broken = loaded.filter((l) => 'error' in l);
  if (broken.length) {
    for (const b of broken) console.error((b as { error: Error }).error.message);
    return 2;
  }
  const chosen = (loaded as LoadedScenario[]).filter((l) => positionals.length === 0 || l.scenario.suites.some((s) => positionals.includes(s)));
  if (chosen.length === 0) {
    console.error(`scorecard: no scenario in suite(s) ${positionals.join(', ')}`);
    return 2;
  }
  const startedAt = new Date().toISOString();
  const started = performance.now();
  // The columns run side by side: each has its own relay and its own mocks on free ports, and a
  // relay without a virtual clock spends most of its column waiting in real time.
  const columns = await Promise.all(targets.map((t) => runTarget(t, chosen, !!values.verbose, maxRealWaitMs)));
  const card: Scorecard = {
    title: 'relaylab scorecard',
    startedAt,
    durationMs: performance.now() - started,
    machine: `${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}, node ${process.version}`,
    targets: columns,
  };
  const dir = resolve((values.out as string | undefined) ?? REPORT_DIR);
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `scorecard-${timestamp()}`);
  writeFileSync(`${base}.html`, renderScorecard(card));
  writeFileSync(`${base}.json`, `${JSON.stringify(card, null, 2)}\n`);
  console.log('');
  for (const c of columns) {
    const m = summarize(c);
    console.log(
      `${c.name.padEnd(10)} ran checks in ${m.ranChecks}/${m.scenarios} scenarios; pass ${m.byKind.pass}, protocol ${m.byKind.protocol}, resilience ${m.byKind.resilience}, policy ${m.byKind.reference}, skipped ${m.byKind.skipped}, could not run ${m.byKind.error}; checks ${m.checksPassed}/${m.checksRan} (${(c.durationMs / 1000).toFixed(0)} s)${c.error ? `; ERROR ${c.error}` : ''}`,
    );
  }
  console.log(`scorecard: ${relative(process.cwd(), base)}.html (+ .json) in ${(card.durationMs / 1000).toFixed(0)} s`);
  if (values.screenshot) {
    const { renderReport } = await import('../reports/chromium.js');
    const shot = resolve(values.screenshot as string);
    const r = await renderReport(`${base}.html`, { screenshot: shot });
    console.log(`screenshot: ${relative(process.cwd(), shot)}${r.consoleErrors.length ? ` (console errors: ${r.consoleErrors.join('; ')})` : ''}${r.externalRequests.length ? ` (outside requests: ${r.externalRequests.join(', ')})` : ''}`);
  }
  return 0;
}

if (isMain(import.meta.url)) runMain(() => main(process.argv.slice(2)), { crashCode: 2 });
