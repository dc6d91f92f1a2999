/**
 * `pnpm bench:compare --base-ref` end to end: the base checked out into a git worktree and
 * installed, both relays started from their own checkouts, one tiny benchmark over both side by
 * side, the comparison and its reports written, the worktree removed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { compareRefs } from './compare-refs.js';
import { ROOT } from './processes.js';
import type { BenchResult } from './results.js';

const TINY = `name: tiny
rounds: 2
duration: 300ms
warmup: 100ms
upstream: bare
upstreams:
  - name: openai
    kind: openai
    tokens: [sk-bench-openai-0001]
phases:
  - name: closed-5
    load: closed
    connections: 5
    request: chat
    targets: [direct, proxy, relay]
`;

describe('bench:compare --base-ref', () => {
  it('runs the base from a worktree and the head from this checkout side by side, and compares them', async () => {
    const out = mkdtempSync(join(tmpdir(), 'relaylab-refs-'));
    const bench = join(out, 'tiny.yaml');
    writeFileSync(bench, TINY);
    const lines: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    let r;
    try {
      r = await compareRefs({ baseRef: 'HEAD', bench, outDir: out, log: (l) => lines.push(l) });
    } finally {
      write.mockRestore();
    }
    const result = JSON.parse(readFileSync(r.files.json, 'utf8')) as BenchResult;
    expect(new Set(result.runs.map((x) => x.target))).toEqual(new Set(['direct', 'proxy', 'base', 'head']));
    for (const run of result.runs) expect(run.errors, `${run.target} ${JSON.stringify(run.statusCounts)}`).toBe(0);
    expect(result.config.baseCommit).toBe(execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim());
    // The base relay ran from its own worktree, which is gone afterwards.
    const worktree = lines.find((l) => l.startsWith('checked out'))!.match(/into (\S+);/)![1];
    expect(lines.some((l) => l.startsWith('base (shipped, ') && l.includes(`, from ${worktree})`))).toBe(true);
    expect(existsSync(worktree)).toBe(false);
    expect(r.comparison.metrics.some((m) => m.name === 'closed-5/relay/rps_vs_ceiling' && m.gate)).toBe(true);
    expect(existsSync(r.files.compareHtml)).toBe(true);
  }, 300_000);
});
