/**
 * pnpm conformance [suite...] [--target url --adapter name|module] [--junit file]
 *
 * Runs every scenario whose `suites` include one of the given suites (all without arguments),
 * prints a summary table, writes JUnit XML (reports/out/junit.xml by default) and one combined
 * HTML + JSON report. Exit codes: 0 all passed (or not applicable), 1 an expectation failed,
 * 2 the run could not start or a scenario could not run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import { renderJUnit, type JUnitSuite } from '../reports/junit.js';
import { adapterFrom, intOption, parse, TARGET_OPTIONS, TARGET_USAGE, UsageError, type Values } from './engine/args.js';
import type { RelayAdapter } from './adapters/api.js';
import { loadAll, type LoadedScenario } from './engine/load.js';
import { REPORT_DIR, writeReports } from './engine/output.js';
import type { ScenarioResult } from './engine/result.js';
import { runScenario } from './engine/runner.js';
import { LEVELS, SUITES, type Level } from './engine/schema.js';
import { isMain, runMain } from '../lib/main.js';

const USAGE = `usage: pnpm conformance [suite...] [options]
suites: ${SUITES.join(', ')}

options:
${TARGET_USAGE}
  --seed <n>              override every scenario's seed
  --out <dir>             report folder (default reports/out)
  --junit <file>          JUnit XML (default <out>/junit.xml)
  --verbose, -v           print every scenario's steps`;

/**
 * JUnit: one test case per scenario and level of conformance it has checks in (`failover-tokens
 * [protocol]`), filed under the scenario's first suite among the selected ones, so CI shows which
 * levels a relay meets. A level whose checks were all skipped is <skipped>, never a pass; a
 * scenario that could not run is one <error>, one that does not apply one <skipped>.
 */
export function junitSuites(results: ScenarioResult[], selected: string[] = []): JUnitSuite[] {
  const bySuite = new Map<string, JUnitSuite>();
  for (const r of results) {
    const suite = r.suites.find((s) => selected.includes(s)) ?? r.suites[0] ?? 'scenarios';
    if (!bySuite.has(suite)) bySuite.set(suite, { name: suite, cases: [], timestamp: r.startedAt.replace(/\..+$/, '') });
    const cases = bySuite.get(suite)!.cases;
    const all = [...r.steps.flatMap((s) => s.checks.map((c) => ({ ...c, step: `${s.index + 1}. ${s.name}` }))), ...r.invariants.map((c) => ({ ...c, step: 'invariants' }))];
    const levels = LEVELS.filter((l) => r.levels?.[l] && r.levels[l] !== 'none');
    if (r.status === 'error' || r.status === 'not_applicable' || levels.length === 0) {
      cases.push({ name: r.name, classname: `conformance.${suite}`, timeMs: r.durationMs, status: r.status === 'error' ? 'error' : r.status === 'fail' ? 'fail' : r.status === 'pass' ? 'pass' : 'skip', message: r.reason, details: r.reason });
      continue;
    }
    for (const level of levels) {
      const mine = all.filter((c) => (c.level ?? 'protocol') === level);
      const failed = mine.filter((c) => !c.pass && !c.skipped);
      const verdict = r.levels[level];
      const reasons = [...new Set(mine.filter((c) => c.skipped).map((c) => c.reason ?? 'skipped'))];
      cases.push({
        name: `${r.name} [${level}]`,
        classname: `conformance.${suite}.${level}`,
        timeMs: r.durationMs / levels.length,
        status: verdict === 'fail' ? 'fail' : verdict === 'skipped' ? 'skip' : 'pass',
        message: verdict === 'fail' ? `${failed[0].step}: ${failed[0].name}` : verdict === 'skipped' ? `every ${level} check was skipped: ${reasons.join('; ')}` : undefined,
        details:
          verdict === 'fail'
            ? failed.map((c) => `${c.step}: ${c.name}\n  expected: ${JSON.stringify(c.expected)}\n  actual:   ${JSON.stringify(c.actual)}`).join('\n')
            : reasons.length
              ? `skipped checks: ${reasons.join('; ')}`
              : undefined,
      });
    }
  }
  return [...bySuite.values()];
}

export function exitCode(results: ScenarioResult[]): number {
  if (results.some((r) => r.status === 'error')) return 2;
  if (results.some((r) => r.status === 'fail')) return 1;
  return 0;
}

const RESULT_LABEL: Record<ScenarioResult['status'], string> = { pass: 'PASS', fail: 'FAIL', error: 'ERROR', not_applicable: 'N/A', skipped: 'SKIPPED' };

function summaryTable(results: ScenarioResult[]): string {
  const level = (r: ScenarioResult, l: Level) => (r.levels?.[l] && r.levels[l] !== 'none' ? r.levels[l] : '-');
  const rows = results.map((r) => [
    r.name,
    r.suites.join(','),
    RESULT_LABEL[r.status],
    ...LEVELS.map((l) => level(r, l)),
    `${r.steps.filter((s) => s.status === 'pass').length}/${r.steps.length}`,
    `${(r.durationMs / 1000).toFixed(2)}s`,
  ]);
  const head = ['scenario', 'suites', 'result', ...LEVELS, 'steps', 'time'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  let values;
  let positionals: string[];
  let adapter: RelayAdapter;
  try {
    ({ values, positionals } = parse(argv, { ...TARGET_OPTIONS, junit: { type: 'string' }, verbose: { type: 'boolean', short: 'v' } }));
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const unknown = positionals.filter((s) => !(SUITES as readonly string[]).includes(s));
    if (unknown.length) throw new UsageError(`unknown suite(s): ${unknown.join(', ')}`);
    adapter = await adapterFrom(values);
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  try {
    return await runAll(values, positionals, adapter);
  } finally {
    await adapter.close?.();
  }
}

async function runAll(values: Values, positionals: string[], adapter: RelayAdapter): Promise<number> {
  const loaded = loadAll();
  const broken = loaded.filter((l): l is { file: string; error: import('../lib/yaml-config.js').ConfigError } => 'error' in l);
  if (broken.length) {
    for (const b of broken) console.error(b.error.message);
    console.error('conformance: scenario files are invalid; nothing was run');
    return 2;
  }
  const chosen = (loaded as LoadedScenario[]).filter((l) => positionals.length === 0 || l.scenario.suites.some((s) => positionals.includes(s)));
  if (chosen.length === 0) {
    console.error(`conformance: no scenario in suite(s) ${positionals.join(', ')}`);
    return 2;
  }
  const started = performance.now();
  const startedAt = new Date().toISOString();
  console.log(`conformance: ${chosen.length} scenario(s)${positionals.length ? ` in ${positionals.join(', ')}` : ''} against ${values.target ?? 'the reference relay (in process)'}`);
  const bar = process.stderr.isTTY && !values.verbose ? new SingleBar({ format: '  {bar} {value}/{total} {scenario}', hideCursor: true, clearOnComplete: true }, Presets.shades_classic) : undefined;
  bar?.start(chosen.length, 0, { scenario: '' });
  const results: ScenarioResult[] = [];
  for (const { file, scenario } of chosen) {
    bar?.update({ scenario: scenario.name });
    const lines: string[] = [];
    const result = await runScenario(scenario, {
      adapter,
      target: values.target as string | undefined,
      file: relative(process.cwd(), file),
      seed: intOption(values.seed as string | undefined, 'seed'),
      clientKey: values.key as string | undefined,
      log: values.verbose || adapter.name === 'manual' ? (s) => console.log(s) : (s) => lines.push(s),
    });
    results.push(result);
    bar?.increment();
    if (!values.verbose && adapter.name !== 'manual' && (result.status === 'fail' || result.status === 'error')) {
      bar?.stop();
      console.log(lines.join('\n'));
    }
  }
  bar?.stop();
  const durationMs = performance.now() - started;
  console.log(`\n${summaryTable(results)}\n`);
  const junitFile = (values.junit as string | undefined) ?? join((values.out as string | undefined) ?? REPORT_DIR, 'junit.xml');
  mkdirSync(dirname(junitFile), { recursive: true });
  writeFileSync(junitFile, renderJUnit(junitSuites(results, positionals), 'relaylab conformance'));
  const out = writeReports(results, 'conformance', { title: 'relaylab conformance report', startedAt, durationMs, target: (values.target as string | undefined) ?? 'reference relay (in process)' }, values.out as string | undefined);
  const n = (s: ScenarioResult['status']) => results.filter((r) => r.status === s).length;
  console.log(`${n('pass')} passed, ${n('fail')} failed, ${n('error')} could not run, ${n('skipped')} skipped (nothing observable), ${n('not_applicable')} not applicable in ${(durationMs / 1000).toFixed(1)}s`);
  console.log(`report: ${relative(process.cwd(), out.html)}\njunit:  ${relative(process.cwd(), junitFile)}`);
  return exitCode(results);
}

if (isMain(import.meta.url)) runMain(() => main(process.argv.slice(2)), { crashCode: 2 });
