#!/usr/bin/env node
/**
 * relaylab <command> [options]: the package's one executable (package.json `bin`), for running
 * the suites from another project's CI without cloning this repository.
 *
 * The commands are the TypeScript entry points the repository's `pnpm <command>` scripts run.
 * tsx (a runtime dependency) is registered first, so they run from the installed sources as
 * they are, and so does an adapter given as a .ts file (`--adapter ./my-relay.ts`). Each entry
 * point runs itself when it is the script node was started with, so argv[1] is set to it.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { register } from 'tsx/esm/api';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

const COMMANDS = {
  scenario: ['scenarios/cli.ts', 'run one scenario (--list lists them)'],
  conformance: ['scenarios/conformance.ts', 'run the suites; JUnit + HTML; exit 0 pass, 1 fail, 2 could not run'],
  scorecard: ['scenarios/scorecard.ts', 'the suites against several relays, one HTML matrix'],
  mocks: ['mocks/cli.ts', 'mock upstreams from a YAML file'],
  stack: ['relay/stack.ts', 'the example mocks and a reference relay in one process'],
  relay: ['relay/cli.ts', 'the reference relay'],
  peer: ['scenarios/adapters/peers/cli.ts', 'install and run a third-party relay (portkey, ccr)'],
};

function usage() {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'usage: relaylab <command> [options]   (relaylab <command> --help for its options)',
    '',
    ...Object.entries(COMMANDS).map(([name, [, what]]) => `  ${name.padEnd(width)}  ${what}`),
  ].join('\n');
}

const [command, ...rest] = process.argv.slice(2);
if (!command || command === '--help' || command === '-h' || command === 'help') {
  console.log(usage());
  process.exit(command ? 0 : 2);
}
const entry = COMMANDS[command];
if (!entry || !existsSync(join(ROOT, entry[0]))) {
  console.error(`relaylab: unknown command "${command}"\n\n${usage()}`);
  process.exit(2);
}
register();
const file = join(ROOT, entry[0]);
process.argv = [process.argv[0], file, ...rest];
await import(pathToFileURL(file).href);
