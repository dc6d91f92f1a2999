/**
 * Finds and loads scenario files. A scenario is named by its file (`failover-tokens` ->
 * scenarios/failover-tokens.yaml) or given as a path; every error names file, line and field.
 */
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadYamlConfig } from '../../lib/yaml-config.js';
import { scenarioSchema, type Scenario } from './schema.js';

export const SCENARIO_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface LoadedScenario {
  file: string;
  scenario: Scenario;
}

export function scenarioPath(nameOrPath: string, dir = SCENARIO_DIR): string {
  if (/\.ya?ml$/.test(nameOrPath) || nameOrPath.includes('/')) return resolve(nameOrPath);
  for (const ext of ['.yaml', '.yml']) {
    const p = join(dir, nameOrPath + ext);
    if (existsSync(p)) return p;
  }
  const known = scenarioFiles(dir).map((f) => basename(f).replace(/\.ya?ml$/, ''));
  throw new ConfigError([{ file: nameOrPath, line: 0, column: 0, field: '', message: `no such scenario (known: ${known.join(', ') || 'none'})` }]);
}

export function loadScenario(nameOrPath: string, dir = SCENARIO_DIR): LoadedScenario {
  const file = scenarioPath(nameOrPath, dir);
  const scenario = loadYamlConfig(file, scenarioSchema);
  const stem = basename(file).replace(/\.ya?ml$/, '');
  if (scenario.name !== stem) {
    throw new ConfigError([{ file, line: 1, column: 1, field: 'name', message: `expected "${stem}" (the file name), got "${scenario.name}"` }]);
  }
  return { file, scenario };
}

export function scenarioFiles(dir = SCENARIO_DIR): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

/** Every scenario in the folder; files that fail to load are returned as errors, not thrown. */
export function loadAll(dir = SCENARIO_DIR): Array<LoadedScenario | { file: string; error: ConfigError }> {
  return scenarioFiles(dir).map((file) => {
    try {
      return loadScenario(file, dir);
    } catch (err) {
      if (err instanceof ConfigError) return { file, error: err };
      throw err;
    }
  });
}
