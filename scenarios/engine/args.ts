/** Command-line options shared by `pnpm scenario` and `pnpm conformance`. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadAdapter } from '../adapters/index.js';
import type { RelayAdapter } from '../adapters/api.js';

export const TARGET_OPTIONS = {
  target: { type: 'string' },
  adapter: { type: 'string' },
  'adapter-option': { type: 'string', multiple: true },
  'admin-token': { type: 'string' },
  'admin-url': { type: 'string' },
  key: { type: 'string' },
  seed: { type: 'string' },
  'mock-port-base': { type: 'string' },
  'layout-out': { type: 'string' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The part of the usage text that explains TARGET_OPTIONS. */
export const TARGET_USAGE = `  --target <url>          run against a relay that is already running (default: start the
                          mocks and the reference relay in process, on a virtual clock)
  --adapter <name|module> how to drive that relay: reference (admin API, default with --target),
                          manual (you or a script configure it), or a module path / package name
                          (scenarios/README.md "Adapters")
  --adapter-option k=v    passed to a module adapter (repeatable)
  --admin-token <t>       reference adapter: the relay's admin token (or RELAYLAB_ADMIN_TOKEN)
  --admin-url <url>       reference adapter: the relay's admin listener (or RELAYLAB_ADMIN_URL; default the target)
  --key <k>               send this client key instead of the scenario's (a relay set up by hand)
  --mock-port-base <n>    first fixed mock port (manual adapter default 18600)
  --layout-out <file|url> manual adapter: write the layout JSON to this file, or POST it to this
                          URL and go on when it answers (default reports/out/manual-layout.json)`;

export class UsageError extends Error {}

export type Values = Record<string, string | boolean | string[] | undefined>;

export function parse(argv: string[], options: NonNullable<ParseArgsConfig['options']>): { values: Values; positionals: string[] } {
  try {
    const r = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: r.values as Values, positionals: r.positionals };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function intOption(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v)) throw new UsageError(`--${name} expects an integer, got "${v}"`);
  return Number(v);
}

/** `--adapter-option a=1 --adapter-option b=2` -> { a: '1', b: '2' }. */
export function keyValues(list: string[] | undefined, name: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list ?? []) {
    const at = item.indexOf('=');
    if (at <= 0) throw new UsageError(`--${name} expects name=value, got "${item}"`);
    out[item.slice(0, at)] = item.slice(at + 1);
  }
  return out;
}

export async function adapterFrom(values: Values): Promise<RelayAdapter> {
  let options: Record<string, string>;
  let mockPortBase: number | undefined;
  try {
    options = keyValues(values['adapter-option'] as string[] | undefined, 'adapter-option');
    mockPortBase = intOption(values['mock-port-base'] as string | undefined, 'mock-port-base');
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  try {
    return await loadAdapter({
      target: values.target as string | undefined,
      adapter: values.adapter as string | undefined,
      adminToken: values['admin-token'] as string | undefined,
      adminUrl: values['admin-url'] as string | undefined,
      mockPortBase,
      layoutOut: values['layout-out'] as string | undefined,
      options,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
