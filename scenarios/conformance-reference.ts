/**
 * pnpm conformance:reference [suite...] [--verbose]
 *
 * Every suite against the reference relay OUT of process, the way a relay maintainer runs them:
 * `pnpm relay` is started here (virtual clock RELAY_TEST_CLOCK=1, its own data dir, a billing
 * section so scenarios can configure billing), driven over HTTP by the reference adapter
 * (PUT /admin/config, POST /admin/restart ...), and stopped afterwards. Reports land in
 * reports/out/reference/. Exit codes as `pnpm conformance`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMain, runMain } from '../lib/main.js';
import { main as conformance } from './conformance.js';
import { REPORT_DIR } from './engine/output.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** No channels: each scenario PUTs its own. The billing section opens the ledger; scenarios without one run free. */
const BOOT_CONFIG = 'channels: []\nhealth: { enabled: false }\nbilling: { prices: {}, unpriced_models: free }\n';

const START_TIMEOUT_MS = 30_000;

/** Starts `relay/cli.ts` in its own process; resolves with its URL once it listens. */
function startRelayProcess(dir: string, adminToken: string): Promise<{ proc: ChildProcess; url: string; adminUrl: string }> {
  const config = join(dir, 'relay.yaml');
  writeFileSync(config, BOOT_CONFIG);
  const env: NodeJS.ProcessEnv = { ...process.env, RELAY_TEST_CLOCK: '1', RELAY_ADMIN_TOKEN: adminToken };
  // The in-process stores: a scenario run must not share Redis/MySQL state with anything else.
  delete env.REDIS_URL;
  delete env.MYSQL_URL;
  const proc = spawn(process.execPath, ['--import', 'tsx', 'relay/cli.ts', '--config', config, '--host', '127.0.0.1', '--port', '0', '--data-dir', join(dir, 'data'), '--log-level', 'warn'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolveStart, reject) => {
    const timer = setTimeout(() => reject(new Error(`the relay did not start within ${START_TIMEOUT_MS / 1000}s:\n${out}`)), START_TIMEOUT_MS);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /relay listening on (\S+)/.exec(out);
      const admin = /admin API: (\S+)\/admin\//.exec(out);
      if (m && admin) {
        clearTimeout(timer);
        resolveStart({ proc, url: m[1], adminUrl: admin[1] });
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the relay exited (${code}) before listening:\n${out}`));
    });
  });
}

export async function main(argv: string[]): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'relaylab-reference-'));
  const adminToken = `adm-${randomBytes(12).toString('hex')}`;
  let relay: { proc: ChildProcess; url: string; adminUrl: string } | undefined;
  try {
    relay = await startRelayProcess(dir, adminToken);
    console.log(`reference relay (pnpm relay, out of process) at ${relay.url}`);
    return await conformance([...argv, '--target', relay.url, '--adapter', 'reference', '--admin-url', relay.adminUrl, '--admin-token', adminToken, '--out', join(REPORT_DIR, 'reference')]);
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  } finally {
    if (relay && relay.proc.exitCode === null) {
      const exited = new Promise((r) => relay!.proc.once('exit', r));
      relay.proc.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) runMain(() => main(process.argv.slice(2)), { crashCode: 2 });
