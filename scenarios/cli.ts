/**
 * pnpm scenario <name|path> [--target url --adapter reference|manual|./module.ts] [--seed n] [--list]
 *
 * Runs one scenario step by step, writes reports/out/<scenario>-<timestamp>.html and .json.
 * Exit codes: 0 passed (or not applicable to the target), 1 an expectation failed,
 * 2 the scenario could not run (bad file, bad arguments, a server did not start).
 */
import { relative } from 'node:path';
import { ConfigError } from '../lib/yaml-config.js';
import { adapterFrom, intOption, parse, TARGET_OPTIONS, TARGET_USAGE, UsageError } from './engine/args.js';
import { layoutJsonSchema } from './adapters/layout.js';
import { loadAll, loadScenario } from './engine/load.js';
import { writeReports } from './engine/output.js';
import { runScenario } from './engine/runner.js';
import { isMain, runMain } from '../lib/main.js';

const USAGE = `usage: pnpm scenario <name|path> [options]
       pnpm scenario --list
       pnpm scenario --layout-schema

options:
${TARGET_USAGE}
  --seed <n>              override the scenario's seed
  --out <dir>             report folder (default reports/out)
  --list                  list the scenarios with their descriptions
  --layout-schema         print the JSON Schema of the layout and changes adapters receive`;

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parse(argv, { ...TARGET_OPTIONS, list: { type: 'boolean' }, 'layout-schema': { type: 'boolean' } });
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values['layout-schema']) {
    console.log(JSON.stringify(layoutJsonSchema(), null, 2));
    return 0;
  }
  if (values.list) {
    const all = loadAll();
    const width = Math.max(0, ...all.map((s) => ('error' in s ? 0 : s.scenario.name.length)));
    for (const s of all) {
      if ('error' in s) console.log(`  ${relative(process.cwd(), s.file)}  (invalid: ${s.error.issues[0]?.message})`);
      else console.log(`  ${s.scenario.name.padEnd(width)} ${s.scenario.description}  [${s.scenario.suites.join(', ')}]`);
    }
    return 0;
  }
  if (positionals.length !== 1) {
    console.error(`expected one scenario name or path\n\n${USAGE}`);
    return 2;
  }
  let adapter;
  try {
    const { file, scenario } = loadScenario(positionals[0]);
    adapter = await adapterFrom(values);
    const result = await runScenario(scenario, {
      adapter,
      target: values.target as string | undefined,
      file: relative(process.cwd(), file),
      seed: intOption(values.seed as string | undefined, 'seed'),
      clientKey: values.key as string | undefined,
      progress: process.stderr.isTTY,
    });
    const out = writeReports([result], scenario.name, {}, values.out as string | undefined);
    console.log(`report: ${relative(process.cwd(), out.html)}\n        ${relative(process.cwd(), out.json)}`);
    return result.status === 'fail' ? 1 : result.status === 'error' ? 2 : 0;
  } catch (err) {
    if (err instanceof ConfigError || err instanceof UsageError) {
      console.error(err.message);
      return 2;
    }
    console.error(err);
    return 2;
  } finally {
    await adapter?.close?.();
  }
}

if (isMain(import.meta.url)) runMain(() => main(process.argv.slice(2)), { crashCode: 2 });
