/**
 * pnpm release <version> [--summary "one line"] [--rounds n] [--no-tag]
 *
 * Cuts a release from a clean checkout: runs the gate benchmark on the commit being released and
 * keeps its JSON and HTML as the release's benchmark record in bench/releases/v<version>/ (with
 * record.json: version, the measured commit, date, machine), sets package.json's version,
 * prepends the release to CHANGELOG.md (commit subjects since the previous release's record),
 * commits all of that as "release v<version>" and tags the commit v<version>.
 *
 * A later release is compared with this one in one run, relays side by side:
 *   pnpm bench:compare --base-ref v<version>
 * which finds the tag, or, where tags did not travel, the commit that added this record.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { isMain, runMain } from '../lib/main.js';
import { printChecks, writeResultFiles } from './cli.js';
import { RELEASES_DIR, resolveRef } from './checkout.js';
import { loadBenchConfig } from './config.js';
import { ROOT } from './processes.js';
import { runBenchmark } from './runner.js';

const USAGE = 'usage: pnpm release <version> [--summary "what this release is"] [--rounds n] [--no-tag]';

const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();

export interface ReleaseRecord {
  version: string;
  tag: string;
  /** The commit the gate measured (the release commit adds only this record, the version and the changelog). */
  measuredCommit: string;
  date: string;
  benchmark: string;
  files: { json: string; html: string };
  machine: { cores: number; cpuModel: string; node: string; loadAverage: number };
}

/** Releases recorded in bench/releases, oldest first (by semantic version). */
export function recordedReleases(root = ROOT): ReleaseRecord[] {
  const dir = join(root, RELEASES_DIR);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((d) => existsSync(join(dir, d, 'record.json')))
    .map((d) => JSON.parse(readFileSync(join(dir, d, 'record.json'), 'utf8')) as ReleaseRecord)
    .sort((a, b) => compareVersions(a.version, b.version));
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((x) => (/^\d+$/.test(x) ? Number(x) : x));
  const pb = b.split(/[.-]/).map((x) => (/^\d+$/.test(x) ? Number(x) : x));
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    if (pa[i] === pb[i]) continue;
    if (pa[i] === undefined) return 1; // 1.0.0 after 1.0.0-rc.1
    if (pb[i] === undefined) return -1;
    return typeof pa[i] === 'number' && typeof pb[i] === 'number' ? (pa[i] as number) - (pb[i] as number) : String(pa[i]).localeCompare(String(pb[i]));
  }
  return 0;
}

/** The CHANGELOG.md section of a release: its summary and the commit subjects since the previous one. */
export function changelogSection(version: string, date: string, summary: string | undefined, subjects: readonly string[], previous: string | undefined): string {
  const lines = [`## v${version} (${date})`, ''];
  if (summary) lines.push(summary, '');
  if (previous) lines.push(`Changes since ${previous}:`, '', ...subjects.map((s) => `- ${s}`), '');
  else lines.push(`First release (${subjects.length} commits).`, '');
  lines.push(`Benchmark record: [bench/releases/v${version}/](bench/releases/v${version}/) (\`pnpm bench gate\` on the released commit).`, '');
  return lines.join('\n');
}

export function prependChangelog(existing: string | undefined, section: string): string {
  const title = '# Changelog\n\nEvery release, newest first. Compare the current tree with one: `pnpm bench:compare --base-ref v<version>`.\n\n';
  const body = existing ? existing.replace(/^# Changelog\n(?:\n[^#][^\n]*\n)*\n?/, '') : '';
  return title + section + '\n' + body;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { summary: { type: 'string' }, rounds: { type: 'string' }, 'no-tag': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help || positionals.length !== 1) {
    process.stdout.write(USAGE + '\n');
    return values.help ? 0 : 2;
  }
  const version = positionals[0].replace(/^v/, '');
  if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?$/.test(version)) throw new Error(`"${positionals[0]}" is not a semantic version (1.2.3 or 1.2.3-rc.1)`);
  const tag = `v${version}`;
  if (git('status', '--porcelain')) throw new Error('the working tree has uncommitted changes: a release records exactly one commit');
  if (git('tag', '--list', tag)) throw new Error(`tag ${tag} exists already`);
  const recordDir = join(ROOT, RELEASES_DIR, tag);
  if (existsSync(join(recordDir, 'record.json'))) throw new Error(`${join(RELEASES_DIR, tag)} exists already`);
  const measuredCommit = git('rev-parse', 'HEAD');

  // The benchmark record: the gate on exactly this commit.
  const config = loadBenchConfig(join(ROOT, 'bench', 'gate.yaml'));
  const log = (l: string) => process.stderr.write(l + '\n');
  log(`== release ${tag}: gate benchmark on ${measuredCommit.slice(0, 12)}`);
  const result = await runBenchmark({ config, workDir: join(ROOT, 'reports', 'out', '.work', `release-${tag}`), rounds: values.rounds ? Number(values.rounds) : undefined, log });
  mkdirSync(recordDir, { recursive: true });
  writeResultFiles(result, recordDir, 'gate');
  printChecks(result);
  const date = new Date().toISOString().slice(0, 10);
  const record: ReleaseRecord = {
    version,
    tag,
    measuredCommit,
    date,
    benchmark: 'gate',
    files: { json: 'gate.json', html: 'gate.html' },
    machine: { cores: result.environment.cores, cpuModel: result.environment.cpuModel, node: result.environment.node, loadAverage: result.environment.loadAverage.start },
  };
  writeFileSync(join(recordDir, 'record.json'), JSON.stringify(record, null, 2) + '\n');

  // Version and changelog.
  const pkgPath = join(ROOT, 'package.json');
  const pkg = readFileSync(pkgPath, 'utf8');
  writeFileSync(pkgPath, pkg.replace(/"version": "[^"]*"/, `"version": "${version}"`));
  const previous = recordedReleases().filter((r) => r.tag !== tag).pop();
  const since = previous ? resolveRef(previous.tag).commit : undefined;
  const subjects = git('log', '--format=%s (%h)', ...(since ? [`${since}..HEAD`] : ['HEAD'])).split('\n').filter(Boolean);
  const changelogPath = join(ROOT, 'CHANGELOG.md');
  const existing = existsSync(changelogPath) ? readFileSync(changelogPath, 'utf8') : undefined;
  writeFileSync(changelogPath, prependChangelog(existing, changelogSection(version, date, values.summary, subjects, previous?.tag)));

  git('add', pkgPath, changelogPath, recordDir);
  git('commit', '--quiet', '-m', `release ${tag}${values.summary ? `: ${values.summary}` : ''}\n\nBenchmark record in ${join(RELEASES_DIR, tag)} (gate on ${measuredCommit.slice(0, 12)}).`);
  if (!values['no-tag']) git('tag', '-a', tag, '-m', `relaylab ${tag}`);
  process.stdout.write(`released ${tag} at ${git('rev-parse', 'HEAD').slice(0, 12)}${values['no-tag'] ? ' (not tagged)' : ''}; record in ${join(RELEASES_DIR, tag)}\n`);
  return 0;
}

if (isMain(import.meta.url)) {
  runMain(main, { crashCode: 2, describe: (err) => (err as Error).message });
}
