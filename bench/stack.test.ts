import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { relayLaunch } from './stack.js';

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
    const built = checkout({ 'package.json': JSON.stringify({ scripts: { build: 'esbuild ...' } }), 'relay/launch.mjs': '', 'relay/cli.ts': '' });
    expect(relayLaunch(built)).toEqual({ kind: 'build', entry: 'relay/launch.mjs' });
    // A release from before the production build (no build script, no launcher): as its pnpm relay ran it.
    const before = checkout({ 'package.json': JSON.stringify({ scripts: { relay: 'tsx relay/cli.ts' } }), 'relay/cli.ts': '' });
    expect(relayLaunch(before)).toEqual({ kind: 'tsx', entry: 'relay/cli.ts' });
    const launcherOnly = checkout({ 'package.json': '{}', 'relay/launch.mjs': '', 'relay/cli.ts': '' });
    expect(relayLaunch(launcherOnly).kind).toBe('tsx');
  });
});
