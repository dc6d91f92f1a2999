import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { launcherNodeFlags, relayLaunch } from './stack.js';

function checkout(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'bench-checkout-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('relayLaunch', () => {
  it('starts the production build where the checkout has one, else relay/cli.ts under tsx', () => {
    const built = checkout({ 'package.json': JSON.stringify({ scripts: { build: 'esbuild ...', relay: 'exec node relay/launch.mjs' } }), 'relay/launch.mjs': '', 'relay/cli.ts': '' });
    expect(relayLaunch(built)).toEqual({ kind: 'build', entry: 'relay/launch.mjs', nodeFlags: [] });
    // With the node flags its own `relay` script gives the launcher.
    const flagged = checkout({ 'package.json': JSON.stringify({ scripts: { build: 'esbuild ...', relay: 'exec node --min-semi-space-size=16 --x=1 relay/launch.mjs' } }), 'relay/launch.mjs': '' });
    expect(relayLaunch(flagged).nodeFlags).toEqual(['--min-semi-space-size=16', '--x=1']);
    // A release from before the production build (no build script, no launcher): as its pnpm relay ran it.
    const before = checkout({ 'package.json': JSON.stringify({ scripts: { relay: 'tsx relay/cli.ts' } }), 'relay/cli.ts': '' });
    expect(relayLaunch(before)).toEqual({ kind: 'tsx', entry: 'relay/cli.ts', nodeFlags: [] });
    const launcherOnly = checkout({ 'package.json': '{}', 'relay/launch.mjs': '', 'relay/cli.ts': '' });
    expect(relayLaunch(launcherOnly).kind).toBe('tsx');
  });

  it("reads the node flags of this checkout's `relay` script", () => {
    expect(launcherNodeFlags('exec node relay/launch.mjs')).toEqual([]);
    expect(launcherNodeFlags('exec node --min-semi-space-size=16 relay/launch.mjs')).toEqual(['--min-semi-space-size=16']);
    expect(launcherNodeFlags('tsx relay/cli.ts')).toEqual([]);
    expect(launcherNodeFlags(undefined)).toEqual([]);
    expect(relayLaunch().nodeFlags).toEqual(launcherNodeFlags((JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.relay));
  });
});
