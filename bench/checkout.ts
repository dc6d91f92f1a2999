/**
 * Another version of relaylab beside this one, for comparing releases in one run: a git ref
 * resolved to a commit (a tag, a branch, a commit, or a release that left only its record behind)
 * and checked out into a temporary git worktree with its own dependencies installed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './processes.js';

export const RELEASES_DIR = join('bench', 'releases');

function git(args: string[], cwd = ROOT): { ok: boolean; out: string; err: string } {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8' });
  return { ok: r.status === 0, out: (r.stdout ?? '').trim(), err: (r.stderr ?? '').trim() };
}

export interface ResolvedRef {
  ref: string;
  commit: string;
  /** How it was found, for the log: `git`, `fetched from origin`, `release record`. */
  how: string;
}

/**
 * `ref` as a commit. In order: anything git resolves here; a tag fetched from `origin` (tags do
 * not always travel with a clone or a submission); the commit that added the release's record
 * `bench/releases/<ref>/record.json` (a release commit carries its own record, so the history
 * alone finds it).
 */
export function resolveRef(ref: string, root = ROOT): ResolvedRef {
  const local = () => git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], root);
  let r = local();
  if (r.ok) return { ref, commit: r.out, how: 'git' };
  if (git(['remote', 'get-url', 'origin'], root).ok && /^[\w.+-]+$/.test(ref)) {
    git(['fetch', '--quiet', 'origin', `refs/tags/${ref}:refs/tags/${ref}`], root);
    r = local();
    if (r.ok) return { ref, commit: r.out, how: 'fetched from origin' };
  }
  const record = join(RELEASES_DIR, ref, 'record.json');
  if (existsSync(join(root, record))) {
    const added = git(['log', '-1', '--diff-filter=A', '--format=%H', '--', record], root);
    if (added.ok && added.out) return { ref, commit: added.out, how: `the commit that added ${record}` };
  }
  throw new Error(`cannot resolve "${ref}": not a tag, branch or commit here, not a tag on origin, and no ${record} in the history`);
}

export interface Checkout {
  dir: string;
  commit: string;
  remove(): void;
}

/** Checks `commit` out into a temporary worktree and installs its locked dependencies there. */
export function checkoutWorktree(commit: string, log: (line: string) => void = () => undefined, root = ROOT): Checkout {
  const dir = mkdtempSync(join(tmpdir(), `relaylab-${commit.slice(0, 12)}-`));
  const add = git(['worktree', 'add', '--detach', '--force', dir, commit], root);
  if (!add.ok) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`git worktree add ${commit}: ${add.err}`);
  }
  const remove = () => {
    git(['worktree', 'remove', '--force', dir], root);
    rmSync(dir, { recursive: true, force: true });
    git(['worktree', 'prune'], root);
  };
  try {
    log(`checked out ${commit.slice(0, 12)} into ${dir}; installing its dependencies (pnpm install --frozen-lockfile)`);
    execFileSync('pnpm', ['install', '--frozen-lockfile', '--prefer-offline', '--reporter=silent'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  } catch (err) {
    remove();
    throw err;
  }
  return { dir, commit, remove };
}

/** The commit of this checkout, `+dirty` when it has uncommitted changes. */
export function currentCommit(root = ROOT): string {
  const head = git(['rev-parse', 'HEAD'], root);
  if (!head.ok) return 'unknown';
  return git(['status', '--porcelain', '--untracked-files=no'], root).out ? `${head.out}+dirty` : head.out;
}
