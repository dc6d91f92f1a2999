/**
 * Installs a third-party relay on demand: its package.json and package-lock.json (in this folder,
 * versions and overrides pinned) are copied to `.relaylab/peers/<peer>/` under the working
 * directory (git-ignored; RELAYLAB_PEERS_DIR moves it) and installed there with `npm ci`, from the
 * npm registry and nothing else. Install scripts are not run: neither relay needs one (Portkey's
 * postinstall is patch-package with no patches shipped). Once installed, a relay starts without
 * any network access; a lockfile that did not change is not installed again.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

export const PEERS = ['portkey', 'ccr'] as const;
export type Peer = (typeof PEERS)[number];

/** This folder: one sub-folder of pinned package files per peer. */
export const PEER_SOURCES = import.meta.dirname;

export function peersDir(): string {
  return resolve(process.env.RELAYLAB_PEERS_DIR ?? join(process.cwd(), '.relaylab', 'peers'));
}

export function peerDir(peer: Peer): string {
  return join(peersDir(), peer);
}

const PINNED_FILES = ['package.json', 'package-lock.json'];

function upToDate(src: string, dest: string): boolean {
  if (!existsSync(join(dest, 'node_modules'))) return false;
  return PINNED_FILES.every((f) => existsSync(join(dest, f)) && readFileSync(join(src, f), 'utf8') === readFileSync(join(dest, f), 'utf8'));
}

/** Installs the peer if its pinned files changed or it never was; returns its folder. */
export async function ensureInstalled(peer: Peer, log: (line: string) => void = () => {}): Promise<string> {
  const src = join(PEER_SOURCES, peer);
  const dest = peerDir(peer);
  if (upToDate(src, dest)) return dest;
  mkdirSync(dest, { recursive: true });
  for (const f of PINNED_FILES) copyFileSync(join(src, f), join(dest, f));
  log(`installing ${peer} into ${dest} (npm ci) ...`);
  try {
    await promisify(execFile)('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd: dest, maxBuffer: 16 << 20 });
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`installing ${peer} failed: ${e.stderr?.trim() || e.message}`);
  }
  return dest;
}
