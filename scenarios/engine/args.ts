/** Command-line options shared by `pnpm scenario` and `pnpm conformance`. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { chooseAdapter } from '../adapters/index.js';
import type { Adapter } from './target.js';

export const TARGET_OPTIONS = {
  target: { type: 'string' },
  adapter: { type: 'string' },
  'admin-token': { type: 'string' },
  key: { type: 'string' },
  seed: { type: 'string' },
  'mock-port-base': { type: 'string' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export class UsageError extends Error {}

export type Values = Record<string, string | boolean | undefined>;

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

export function adapterFrom(values: Values): Adapter {
  try {
    return chooseAdapter({
      target: values.target as string | undefined,
      adapter: values.adapter as string | undefined,
      adminToken: values['admin-token'] as string | undefined,
      mockPortBase: intOption(values['mock-port-base'] as string | undefined, 'mock-port-base'),
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
