/**
 * Releases: ordering, the changelog section, and finding a release's commit where its tag did
 * not travel (the commit that added its record).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveRef } from './checkout.js';
import { changelogSection, compareVersions, prependChangelog } from './release.js';

describe('release routine', () => {
  it('orders versions semantically, a pre-release before its release', () => {
    expect(['0.10.0', '0.2.0', '1.0.0', '1.0.0-rc.1', '0.2.1'].sort(compareVersions)).toEqual(['0.2.0', '0.2.1', '0.10.0', '1.0.0-rc.1', '1.0.0']);
  });

  it('writes a changelog section with the commits since the previous release, newest release first', () => {
    const first = changelogSection('0.1.0', '2026-12-07', 'The first one.', ['a (1111111)', 'b (2222222)'], undefined);
    expect(first).toContain('## v0.1.0 (2026-12-07)\n\nThe first one.\n\nFirst release (2 commits).');
    expect(first).toContain('bench/releases/v0.1.0/');
    const second = changelogSection('0.2.0', '2026-12-08', undefined, ['c (3333333)'], 'v0.1.0');
    expect(second).toContain('Changes since v0.1.0:\n\n- c (3333333)\n');
    const log = prependChangelog(prependChangelog(undefined, first), second);
    expect(log.match(/^# Changelog/gm)).toHaveLength(1);
    expect(log.indexOf('## v0.2.0')).toBeLessThan(log.indexOf('## v0.1.0'));
  });

  it('resolves a release whose tag is missing to the commit that added its record', () => {
    const repo = mkdtempSync(join(tmpdir(), 'relaylab-release-'));
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: repo, encoding: 'utf8' }).trim();
    git('init', '--quiet');
    writeFileSync(join(repo, 'a.txt'), 'a');
    git('add', '.');
    git('commit', '--quiet', '-m', 'first');
    mkdirSync(join(repo, 'bench', 'releases', 'v9.9.9'), { recursive: true });
    writeFileSync(join(repo, 'bench', 'releases', 'v9.9.9', 'record.json'), '{}');
    git('add', '.');
    git('commit', '--quiet', '-m', 'release v9.9.9');
    const release = git('rev-parse', 'HEAD');
    writeFileSync(join(repo, 'a.txt'), 'b');
    git('commit', '--quiet', '-am', 'later');
    expect(resolveRef('v9.9.9', repo)).toMatchObject({ commit: release, how: expect.stringContaining('record.json') });
    expect(resolveRef('HEAD~1', repo).commit).toBe(release);
    expect(() => resolveRef('v0.0.1', repo)).toThrow(/cannot resolve "v0.0.1"/);
  });
});
