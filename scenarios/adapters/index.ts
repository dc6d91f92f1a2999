/**
 * Picks the adapter: no `--target` means the reference relay in process; `--adapter reference |
 * manual` are built in; anything else is a module path (`./my-adapter.ts`) or a package name whose
 * default export is a RelayAdapter or a function of AdapterOptions returning one (adapters/api.ts).
 */
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AdapterFactory, AdapterOptions, RelayAdapter } from './api.js';
import { inProcessAdapter } from './inprocess.js';
import { manualAdapter } from './manual.js';
import { referenceAdapter } from './reference.js';

export interface AdapterChoice extends Partial<AdapterOptions> {
  adapter?: string;
  /** Manual adapter: where the layout goes (a file, or an http URL to POST to). */
  layoutOut?: string;
}

export const BUILT_IN_ADAPTERS = ['in-process', 'reference', 'manual'] as const;

function looksLikePath(spec: string): boolean {
  return spec.startsWith('.') || isAbsolute(spec) || /\.(m?[jt]s)$/.test(spec);
}

/** The module's URL: a path relative to the working directory, or a package resolved from it. */
function moduleUrl(spec: string, cwd: string): string {
  if (looksLikePath(spec)) return pathToFileURL(resolve(cwd, spec)).href;
  try {
    return pathToFileURL(createRequire(join(cwd, 'package.json')).resolve(spec)).href;
  } catch {
    return spec; // let import() resolve it (and name it in its error)
  }
}

/** Checks what a module handed back, so a mistake is named instead of failing mid-scenario. */
export function validateAdapter(a: unknown, from: string): RelayAdapter {
  const problems: string[] = [];
  const x = a as Partial<RelayAdapter> | undefined;
  if (!x || typeof x !== 'object') throw new Error(`${from}: expected an adapter object (adapters/api.ts RelayAdapter), got ${typeof a}`);
  if (typeof x.name !== 'string' || !x.name) problems.push('name: a non-empty string');
  if (typeof x.configure !== 'function') problems.push('configure(layout, ctx): a function');
  if (typeof x.apply !== 'function') problems.push('apply(change, ctx): a function');
  const c = x.capabilities;
  if (!c || typeof c !== 'object') problems.push('capabilities: an object');
  else {
    if (!Array.isArray(c.inbound)) problems.push('capabilities.inbound: a list of client protocols');
    if (!['layout', 'mapped', 'none'].includes(c.keys as string)) problems.push('capabilities.keys: layout | mapped | none');
    if (!['virtual', 'none'].includes(c.clock as string)) problems.push('capabilities.clock: virtual | none');
    if (typeof c.restart !== 'boolean') problems.push('capabilities.restart: a boolean');
    if (typeof c.records !== 'boolean') problems.push('capabilities.records: a boolean');
    if (!Array.isArray(c.features)) problems.push('capabilities.features: a list');
    if (c.clock === 'virtual' && typeof x.advance !== 'function') problems.push('advance(ms): a function (clock is virtual)');
    if (c.records && typeof x.readRecords !== 'function') problems.push('readRecords(limit): a function (records is true)');
  }
  if (problems.length) throw new Error(`${from}: not a relay adapter; expected ${problems.join('; ')}`);
  return x as RelayAdapter;
}

async function loadModule(spec: string, options: AdapterOptions, cwd: string): Promise<RelayAdapter> {
  const url = moduleUrl(spec, cwd);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`--adapter ${spec}: cannot load the module: ${(err as Error).message}`);
  }
  const exported = mod.default ?? mod.adapter ?? mod.createAdapter;
  if (exported === undefined) throw new Error(`--adapter ${spec}: the module has no default export (a RelayAdapter or a function returning one)`);
  const adapter = typeof exported === 'function' ? await (exported as AdapterFactory)(options) : exported;
  return validateAdapter(adapter, `--adapter ${spec}`);
}

export async function loadAdapter(c: AdapterChoice, cwd = process.cwd()): Promise<RelayAdapter> {
  const options: AdapterOptions = { target: c.target, adminToken: c.adminToken, adminUrl: c.adminUrl, mockPortBase: c.mockPortBase, options: c.options ?? {} };
  const name = c.adapter ?? (c.target ? 'reference' : 'in-process');
  if (name === 'in-process') {
    if (c.target) throw new Error('the in-process adapter starts its own relay: drop --target, or pick another --adapter');
    return inProcessAdapter();
  }
  if (name === 'reference' || name === 'manual') {
    if (!c.target) throw new Error(`--adapter ${name} needs --target <relay url>`);
    return name === 'reference'
      ? referenceAdapter({ target: c.target, adminToken: c.adminToken, adminUrl: c.adminUrl })
      : manualAdapter({ target: c.target, portBase: c.mockPortBase, layoutOut: c.layoutOut });
  }
  return loadModule(name, options, cwd);
}
