/**
 * Reads a V8 .cpuprofile (from `pnpm bench ... --cpu-prof`) and prints where the relay spent its
 * time: self time per function and total (inclusive) time per file, heaviest first.
 *
 *   tsx bench/profile-summary.ts <file.cpuprofile> [--top 25]
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isMain } from '../lib/main.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileRow {
  name: string;
  selfMs: number;
  selfPct: number;
}

/** This checkout's root as profile URLs spell it (a worktree or a clone anywhere, not one fixed path). */
const ROOT_PREFIX = `${resolve(import.meta.dirname, '..')}/`;

function isProjectFile(url: string): boolean {
  return url.replace(/^file:\/\//, '').startsWith(ROOT_PREFIX) && !url.includes('node_modules');
}

function shortUrl(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  if (path.startsWith(ROOT_PREFIX) && !path.includes('node_modules')) return path.slice(ROOT_PREFIX.length);
  const nm = url.lastIndexOf('node_modules/');
  return nm >= 0 ? url.slice(nm) : url.replace(/^file:\/\//, '');
}

/** Self time per function (name + file:line) and per file, from the sample stream. */
export function summarizeProfile(profile: CpuProfile): { functions: ProfileRow[]; files: ProfileRow[]; inclusive: ProfileRow[]; totalMs: number; busyMs: number } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0) || 1;
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const f = byId.get(id)!.callFrame;
    const where = f.url ? `${shortUrl(f.url)}:${f.lineNumber + 1}` : '(native)';
    const key = `${f.functionName || '(anonymous)'} ${where}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    const fk = f.url ? shortUrl(f.url) : `(${f.functionName || 'native'})`;
    file.set(fk, (file.get(fk) ?? 0) + us);
  }
  // Inclusive time of project functions (relay/, protocols/, lib/ ...): where a request's CPU goes.
  const inclusiveUs = new Map<number, number>();
  const visit = (id: number): number => {
    const known = inclusiveUs.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id)!;
    let t = selfUs.get(id) ?? 0;
    for (const c of node.children ?? []) t += visit(c);
    inclusiveUs.set(id, t);
    return t;
  };
  const incl = new Map<string, number>();
  for (const node of profile.nodes) {
    const f = node.callFrame;
    if (!isProjectFile(f.url)) continue;
    const key = `${f.functionName || '(anonymous)'} ${shortUrl(f.url)}:${f.lineNumber + 1}`;
    incl.set(key, (incl.get(key) ?? 0) + visit(node.id));
  }
  const idle = [...selfUs.entries()].filter(([id]) => ['(idle)', '(program)'].includes(byId.get(id)!.callFrame.functionName)).reduce((a, [, us]) => a + us, 0);
  const rows = (m: Map<string, number>) =>
    [...m.entries()].map(([name, us]) => ({ name, selfMs: us / 1000, selfPct: (us / total) * 100 })).sort((a, b) => b.selfMs - a.selfMs);
  return { functions: rows(fn), files: rows(file), inclusive: rows(incl), totalMs: total / 1000, busyMs: (total - idle) / 1000 };
}

/** Coarse buckets for self time: how much is the relay's own code vs the cost of an HTTP hop. */
export function categoryOf(file: string): string {
  if (/idle\)|program\)/.test(file)) return 'idle';
  // undici's HTTP parser is llhttp compiled to WebAssembly: request work, not module loading.
  if (/undici|^wasm:/.test(file)) return 'undici (upstream client)';
  if (/garbage/.test(file)) return 'garbage collector';
  if (/^\((writev|writeBuffer|writeUtf8String|close|read|shutdown)\)/.test(file)) return 'socket syscalls';
  if (/tsx|esm|cjs|realm|compile|module|source_map|async_hooks|startThread|natives|pre_execution|node:fs|node:path|primordials|validators|worker/.test(file)) return 'startup (tsx, module loading)';
  // The production build bundles relay/, protocols/ and lib/ into dist/ (dependencies stay in node_modules).
  if (/^relay\//.test(file) || /^dist\//.test(file)) return 'relay code';
  if (/^(protocols|lib)\//.test(file)) return 'protocols/ + lib/';
  if (/crypto/.test(file)) return 'crypto (hashing)';
  if (/node:|\(runMicrotasks\)/.test(file)) return 'node http server, net, streams, events';
  return 'other';
}

export function categorize(files: readonly ProfileRow[]): Array<{ category: string; ms: number; pctOfWork: number }> {
  const sums = new Map<string, number>();
  for (const f of files) sums.set(categoryOf(f.name), (sums.get(categoryOf(f.name)) ?? 0) + f.selfMs);
  const work = [...sums.entries()].filter(([k]) => k !== 'idle' && !k.startsWith('startup')).reduce((a, [, v]) => a + v, 0) || 1;
  return [...sums.entries()]
    .map(([category, ms]) => ({ category, ms, pctOfWork: category === 'idle' || category.startsWith('startup') ? NaN : (ms / work) * 100 }))
    .sort((a, b) => b.ms - a.ms);
}

if (isMain(import.meta.url)) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string' } } });
  const top = Number(values.top ?? 25);
  for (const path of positionals) {
    const s = summarizeProfile(JSON.parse(readFileSync(path, 'utf8')) as CpuProfile);
    process.stdout.write(`${path}: ${s.totalMs.toFixed(0)} ms sampled, ${s.busyMs.toFixed(0)} ms busy\n-- self time by function\n`);
    for (const r of s.functions.slice(0, top)) process.stdout.write(`${r.selfPct.toFixed(1).padStart(5)}%  ${r.selfMs.toFixed(0).padStart(6)} ms  ${r.name}\n`);
    process.stdout.write('-- inclusive time of project functions (nested calls count in each)\n');
    for (const r of s.inclusive.slice(0, top)) process.stdout.write(`${r.selfPct.toFixed(1).padStart(5)}%  ${r.selfMs.toFixed(0).padStart(6)} ms  ${r.name}\n`);
    process.stdout.write('-- self time by category (% of request work, idle and startup excluded)\n');
    for (const c of categorize(s.files)) process.stdout.write(`${Number.isFinite(c.pctOfWork) ? c.pctOfWork.toFixed(1).padStart(5) + '%' : '      '}  ${c.ms.toFixed(0).padStart(6)} ms  ${c.category}\n`);
    process.stdout.write('-- self time by file\n');
    for (const r of s.files.slice(0, top)) process.stdout.write(`${r.selfPct.toFixed(1).padStart(5)}%  ${r.selfMs.toFixed(0).padStart(6)} ms  ${r.name}\n`);
  }
}
