/** Writes a run's reports: `reports/out/<stem>-<timestamp>.html` and `.json`. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { renderScenarioReport, type ReportMeta } from '../../reports/scenario-report.js';
import type { ScenarioResult } from './result.js';

/** Under the working directory, so an installed package writes where it is run, not into node_modules. */
export const REPORT_DIR = resolve(process.env.RELAYLAB_REPORT_DIR ?? join('reports', 'out'));

export function timestamp(d = new Date()): string {
  return d.toISOString().replace(/[:]/g, '-').replace(/\..+$/, '');
}

export function writeReports(results: ScenarioResult[], stem: string, meta: ReportMeta = {}, dir = REPORT_DIR): { html: string; json: string } {
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `${stem}-${timestamp()}`);
  const html = `${base}.html`;
  const json = `${base}.json`;
  writeFileSync(html, renderScenarioReport(results, meta));
  writeFileSync(json, JSON.stringify({ meta, results }, null, 2));
  return { html, json };
}
