/**
 * `pnpm relay [--prod]` (relay/launch.mjs) with real processes: pnpm's child is the relay itself
 * (node, no shell, no tsx CLI in between), POST /admin/restart still works, and a SIGKILL of
 * what the supervisor started (pnpm) leaves no relay behind holding the port.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const ADMIN = 'adm-launch-test-token-000001';
const CONFIG = `
channels:
  - name: main
    endpoints: [{ name: placeholder, type: claude, base_url: "http://127.0.0.1:9", token: sk-ant-placeholder-0000 }]
keys: [{ key: rk-launch-test-key-000001, name: placeholder }]
`;

let dir: string;
const started: ChildProcess[] = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'relay-launch-'));
  await writeFile(join(dir, 'relay.yaml'), CONFIG);
  // The compiled relay, as `pnpm build` writes it (a couple of seconds).
  const build = spawnSync('pnpm', ['build'], { cwd: ROOT, encoding: 'utf8' });
  expect(build.status, build.stderr + build.stdout).toBe(0);
}, 120_000);
afterAll(async () => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

/** Parent pid and command line of every process, from /proc (no ps needed). */
function processes(): Array<{ pid: number; ppid: number; cmd: string[] }> {
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // The command name in parentheses may hold spaces; the fields after it are fixed.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean);
      out.push({ pid: Number(name), ppid, cmd });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The pid whose open files include the socket listening on 127.0.0.1:port (/proc/net/tcp). */
function listenerOf(port: number): number | undefined {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const line = readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find((f) => f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A'); // 0A: LISTEN
  if (!line) return undefined;
  const socket = `socket:[${line[9]}]`;
  for (const { pid } of processes()) {
    try {
      if (readdirSync(`/proc/${pid}/fd`).some((fd) => readlinkSync(`/proc/${pid}/fd/${fd}`) === socket)) return pid;
    } catch {
      // not ours to read, or gone
    }
  }
  return undefined;
}

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^\S+ \([^)]*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function startPnpmRelay(prod: boolean): Promise<{ pnpm: ChildProcess; url: string; adminUrl: string; output: () => string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, RELAY_ADMIN_TOKEN: ADMIN };
  delete env.REDIS_URL;
  delete env.MYSQL_URL;
  const args = ['relay', ...(prod ? ['--prod'] : []), '--config', join(dir, 'relay.yaml'), '--port', '0', '--data-dir', join(dir, prod ? 'prod' : 'dev'), '--log-level', 'warn'];
  const pnpm = spawn('pnpm', args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(pnpm);
  let out = '';
  pnpm.stdout!.on('data', (c) => (out += c));
  pnpm.stderr!.on('data', (c) => (out += c));
  await until('the relay to listen', () => /admin API: http/.test(out) || pnpm.exitCode !== null, 60_000);
  expect(pnpm.exitCode, out).toBeNull();
  return {
    pnpm,
    url: /relay listening on (http:\/\/\S+)/.exec(out)![1],
    adminUrl: /admin API: (http:\/\/[^/\s]+)\/admin\//.exec(out)![1],
    output: () => out,
  };
}

describe.each([
  { mode: 'pnpm relay --prod (dist/relay/cli.js)', prod: true, entry: 'dist/relay/cli.js' },
  { mode: 'pnpm relay (the sources, tsx in process)', prod: false, entry: 'relay/cli.ts' },
])('$mode', ({ prod }) => {
  it('runs the relay as pnpm\'s own child, restarts on POST /admin/restart, and dies with pnpm on SIGKILL', { timeout: 120_000 }, async () => {
    const { pnpm, url, adminUrl, output } = await startPnpmRelay(prod);
    const port = Number(new URL(url).port);

    // No wrapper: pnpm's one child is node running the launcher, and that very process holds
    // the client port (a tsx-in-process run may have esbuild's service as a child, no relay).
    const kids = processes().filter((p) => p.ppid === pnpm.pid);
    expect(kids.map((k) => k.cmd.filter((a) => !a.startsWith('--')).slice(0, 2)), output()).toEqual([[expect.stringMatching(/(^|\/)node$/), 'relay/launch.mjs']]);
    // With the node flags of the `relay` script (V8's young generation pinned).
    expect(kids[0].cmd).toContain('--min-semi-space-size=16');
    const relayPid = kids[0].pid;
    expect(kids[0].cmd.includes('--prod')).toBe(prod);
    expect(listenerOf(port)).toBe(relayPid);
    expect((await request(`${url}/healthz`)).statusCode).toBe(200);

    // The admin API's restart (pnpm conformance:reference relies on it) works under the launcher.
    const restart = await request(`${adminUrl}/admin/restart`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: '{}' });
    expect(restart.statusCode).toBe(202);
    await restart.body.dump();
    await until('the restart', () => /relay restarted on/.test(output()), 30_000);
    expect((await request(`${url}/healthz`)).statusCode).toBe(200);
    expect(alive(relayPid)).toBe(true);

    // SIGKILL of what the supervisor started: the relay notices and leaves, freeing its port.
    pnpm.kill('SIGKILL');
    await until('the relay process to exit', () => !alive(relayPid), 20_000);
    expect(await portOpen(port)).toBe(false);
    expect(output()).toMatch(/the process that started it \(pid \d+\) is gone; shutting down/);
  });
});
