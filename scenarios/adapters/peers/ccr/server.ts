/**
 * Starts claude-code-router 2.0.0 (installed on demand, see ../install.ts) on 127.0.0.1, with a
 * home of its own so it never reads or writes the user's ~/.claude-code-router.
 *
 * How the relay is run matters for restarts: a restart (restartCcr, as `ccr restart` and its
 * `POST /api/restart` do it) kills the PID in its PID file and starts a detached
 * `node cli.js start`, so the process this module started is not the one that serves
 * afterwards. stop() kills whatever the PID file names. NODE_OPTIONS carries the loopback shim into every respawn: with
 * no providers configured, claude-code-router listens on 0.0.0.0 without authentication.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { canConnect, freePort, startService } from '../../../../bench/processes.js';
import { ensureInstalled, peerDir } from '../install.js';
import { LOOPBACK_SHIM, type RunningPeer, type StartPeerOptions } from '../peer.js';

/** claude-code-router's config.json, as far as relaylab writes it. */
export interface CcrConfig {
  HOST: string;
  PORT: number;
  APIKEY?: string;
  LOG?: boolean;
  API_TIMEOUT_MS?: number;
  Providers: Array<{ name: string; api_base_url: string; api_key: string; models: string[]; transformer?: { use: unknown[] } }>;
  /** Scenario -> "provider,model" (`default` serves every request here). */
  Router: Record<string, string | number>;
  /** Scenario -> "provider,model" tried in order when the routed provider answers an error. */
  fallback?: Record<string, string[]>;
  [k: string]: unknown;
}

export function defaultCcrHome(): string {
  return join(peerDir('ccr'), 'home');
}

export function configFile(home: string): string {
  return join(home, '.claude-code-router', 'config.json');
}

function pidFile(home: string): string {
  return join(home, '.claude-code-router', '.claude-code-router.pid');
}

export function readConfig(home: string): CcrConfig | undefined {
  const file = configFile(home);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as CcrConfig) : undefined;
}

export function writeConfig(home: string, config: CcrConfig): void {
  mkdirSync(join(home, '.claude-code-router'), { recursive: true });
  writeFileSync(configFile(home), `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
}

/** A provider that goes nowhere (the discard port). */
export const UNCONFIGURED_PROVIDER = { name: 'unconfigured', api_base_url: 'http://127.0.0.1:9/v1/chat/completions', api_key: 'unconfigured', models: ['unconfigured'] };

/** A config that routes nowhere but makes the relay bind loopback and check a key. */
export function placeholderConfig(port: number): CcrConfig {
  return {
    HOST: '127.0.0.1',
    PORT: port,
    APIKEY: `ccr-${randomBytes(12).toString('hex')}`,
    LOG: false,
    Providers: [UNCONFIGURED_PROVIDER],
    Router: { default: 'unconfigured,unconfigured' },
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function runningPid(home: string): number | undefined {
  if (!existsSync(pidFile(home))) return undefined;
  const pid = Number(readFileSync(pidFile(home), 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
}

/** Stops the instance the PID file names (a respawned one included) and waits until it is gone. */
async function stopByPidFile(home: string): Promise<void> {
  const pid = runningPid(home);
  if (pid === undefined) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && alive(pid); i++) await sleep(30);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

function cliPath(dir: string): string {
  return join(dir, 'node_modules', '@musistudio', 'claude-code-router', 'dist', 'cli.js');
}

/** Its HOME, `ccr` on PATH (its own /api/restart runs `ccr restart`), and the loopback shim for every process it spawns. */
function serverEnv(dir: string, home: string): Record<string, string> {
  return {
    HOME: home,
    PATH: `${join(dir, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${LOOPBACK_SHIM}`.trim(),
  };
}

export interface StartCcrOptions extends StartPeerOptions {
  /** The relay's HOME (config, PID file, logs); default .relaylab/peers/ccr/home. */
  home?: string;
}

export async function startCcr(opts: StartCcrOptions = {}): Promise<RunningPeer & { home: string }> {
  const dir = await ensureInstalled('ccr', opts.log);
  const home = opts.home ?? defaultCcrHome();
  // Only an instance of this home can be named by its PID file: a leftover of an earlier run.
  await stopByPidFile(home);
  const port = opts.port ?? (await freePort());
  const config = readConfig(home) ?? placeholderConfig(port);
  writeConfig(home, { ...config, HOST: '127.0.0.1', PORT: port });
  const service = await startService({
    name: 'claude-code-router',
    command: [process.execPath, cliPath(dir), 'start'],
    cwd: dir,
    env: serverEnv(dir, home),
    ports: [port],
    startTimeoutMs: 30_000,
  });
  return {
    name: 'ccr',
    url: `http://127.0.0.1:${port}`,
    home,
    output: service.output,
    async stop() {
      await stopByPidFile(home);
      await service.stop();
    },
  };
}

/**
 * Applies config.json by restarting the relay the way `ccr restart` does (what its
 * `POST /api/restart` runs): stop the process its PID file names, start a detached
 * `node cli.js start` in the same HOME, and wait until the new process has written its PID and
 * accepts connections on the configured port. Done here rather than through the API, which
 * starts a whole `ccr` CLI process only to start the server: each of the 2.7 MB bundle's
 * start-ups costs seconds on a busy machine, and a scorecard restarts it dozens of times.
 */
export async function restartCcr(home: string, timeoutMs = 30_000): Promise<void> {
  const dir = peerDir('ccr');
  const port = readConfig(home)?.PORT;
  if (port === undefined) throw new Error(`claude-code-router: no config.json in ${home}`);
  await stopByPidFile(home);
  const child = spawn(process.execPath, [cliPath(dir), 'start'], { cwd: dir, env: { ...process.env, ...serverEnv(dir, home) }, detached: true, stdio: 'ignore' });
  child.unref();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pid = runningPid(home);
    if (pid !== undefined && (await canConnect(port, '127.0.0.1'))) return;
    if (child.exitCode !== null && child.exitCode !== 0) throw new Error(`claude-code-router exited (${child.exitCode}) while restarting`);
    if (Date.now() > deadline) throw new Error(`claude-code-router did not come back within ${timeoutMs} ms of a restart`);
    await sleep(50);
  }
}
