/**
 * SIGTERM against a real relay process (`relay/cli.ts`) during 100 in-flight streams: every
 * stream either completes or ends with the protocol's error event (never a bare reset), the
 * process exits 0, no new connection is accepted, and the ledger holds no pending charge.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { startMocks, type MockFleet } from '../../mocks/index.js';
import { EmbeddedLedgerStore } from '../billing/ledger-embedded.js';

const UPSTREAM_TOKEN = 'sk-ant-api03-SHUTDOWN-upstream-000001';
const CLIENT_KEY = 'rk-shutdown-client-key-000002';
const ADMIN_TOKEN = 'adm-shutdown-admin-token-000003';
const STREAMS = 100;

let fleet: MockFleet | undefined;
let child: ChildProcess | undefined;
let dir: string | undefined;
afterEach(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await fleet?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  fleet = child = dir = undefined;
});

/** Starts `relay/cli.ts` as its own process; resolves with its URL once it listens. */
async function spawnRelay(
  configPath: string,
  dataDir: string,
  env: Record<string, string>,
): Promise<{ proc: ChildProcess; url: string; adminUrl: string; stderr: () => string; exited: Promise<number | null> }> {
  const clean = { ...process.env };
  delete clean.REDIS_URL;
  delete clean.MYSQL_URL;
  const proc = spawn(process.execPath, ['--import', 'tsx', 'relay/cli.ts', '--config', configPath, '--port', '0', '--data-dir', dataDir, '--log-level', 'info'], {
    cwd: join(import.meta.dirname, '..', '..'),
    env: { ...clean, RELAY_ADMIN_TOKEN: ADMIN_TOKEN, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  let out = '';
  proc.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const [url, adminUrl] = await new Promise<[string, string]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`relay did not start:\n${out}\n${err}`)), 20_000);
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /relay listening on (\S+)/.exec(out);
      const a = /admin API: (\S+)\/admin\//.exec(out);
      if (m && a) {
        clearTimeout(timer);
        resolve([m[1], a[1]]);
      }
    });
    proc.on('exit', (code) => reject(new Error(`relay exited ${code}:\n${out}\n${err}`)));
  });
  return { proc, url, adminUrl, stderr: () => err, exited };
}

async function metric(adminUrl: string, name: string): Promise<number> {
  const res = await request(`${adminUrl}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const text = await res.body.text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

describe('graceful shutdown on SIGTERM', () => {
  it('finishes or cleanly ends 100 in-flight streams, settles every charge, and exits 0', { timeout: 90_000 }, async () => {
    fleet = await startMocks({
      upstreams: [
        {
          name: 'claude',
          kind: 'claude',
          tokens: [UPSTREAM_TOKEN],
          output: { tokens: 12 },
          stream: { chunkDelay: '400ms' },
          // Opus streams are slow: still running when the deadline passes.
          rules: [{ match: { model: 'claude-opus-4-1' }, action: { chunk_delay: '2500ms' } }],
        },
      ],
    });
    dir = await mkdtemp(join(tmpdir(), 'relay-shutdown-'));
    const configPath = join(dir, 'relay.yaml');
    await writeFile(
      configPath,
      [
        'health: { enabled: false }',
        'channels:',
        '  - name: main',
        '    endpoints:',
        `      - { name: A, type: claude, base_url: "${fleet.get('claude').url}", token: ${UPSTREAM_TOKEN} }`,
        'keys:',
        `  - { name: tester, key: ${CLIENT_KEY} }`,
        'billing:',
        '  default_balance: 100',
        '  prices:',
        '    claude-sonnet-4-5: { input: 3, output: 15 }',
        '    claude-opus-4-1: { input: 15, output: 75 }',
        '',
      ].join('\n'),
    );
    const relay = await spawnRelay(configPath, dir, { RELAY_SHUTDOWN_DEADLINE: '7s' });
    child = relay.proc;

    const agent = new Agent({ connections: STREAMS + 10 });
    const results = Array.from({ length: STREAMS }, (_, i) =>
      request(`${relay.url}/v1/messages`, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'x-api-key': CLIENT_KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json', 'x-request-id': `sd-${i}` },
        body: JSON.stringify({
          model: i % 2 ? 'claude-opus-4-1' : 'claude-sonnet-4-5',
          max_tokens: 100,
          stream: true,
          messages: [{ role: 'user', content: `stream number ${i}` }],
        }),
      }).then(
        async (res) => {
          let text = '';
          try {
            for await (const chunk of res.body) text += chunk;
            return { status: res.statusCode, text, error: undefined as string | undefined };
          } catch (err) {
            return { status: res.statusCode, text, error: (err as Error).message };
          }
        },
        (err: Error) => ({ status: 0, text: '', error: err.message }),
      ),
    );
    // SIGTERM only once every request is in flight (most of them already streaming).
    let inFlight = 0;
    for (let i = 0; i < 200 && inFlight < STREAMS; i++) {
      await new Promise((r) => setTimeout(r, 50));
      inFlight = await metric(relay.adminUrl, 'relay_in_flight_requests');
    }
    expect(inFlight).toBe(STREAMS);
    expect(await metric(relay.adminUrl, 'relay_active_streams')).toBeGreaterThan(0);
    const signalledAt = Date.now();
    relay.proc.kill('SIGTERM');

    // No new connection is served once draining began (refused, or reset if it was already in the backlog).
    let late = '';
    for (let i = 0; i < 50 && !late.startsWith('ECONN'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      const probe = new Agent();
      late = await request(`${relay.url}/healthz`, { dispatcher: probe }).then(
        async (r) => (await r.body.text(), `status ${r.statusCode}`),
        (err: Error & { code?: string }) => err.code ?? err.message,
      );
      await probe.destroy();
    }
    expect(['ECONNREFUSED', 'ECONNRESET']).toContain(late);

    const all = await Promise.all(results);
    const code = await relay.exited;
    expect(code).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(7000 + 5000 + 3000);

    let completed = 0;
    let endedWithError = 0;
    const drained = /^.*"msg":"drained".*$/m.exec(relay.stderr())?.[0];
    for (const r of all) {
      expect(r.error, `no stream may end in a bare reset (${drained}; got ${r.text.slice(-300)})`).toBeUndefined();
      expect(r.status).toBe(200);
      const events = [...r.text.matchAll(/^event: (\S+)$/gm)].map((m) => m[1]);
      if (events.at(-1) === 'message_stop') completed++;
      else if (events.at(-1) === 'error') endedWithError++;
    }
    expect(completed + endedWithError).toBe(STREAMS);
    expect(completed).toBeGreaterThanOrEqual(STREAMS / 2);
    expect(endedWithError).toBeGreaterThan(0);

    // Every charge settled: nothing pending, one closing row per request.
    const ledger = new EmbeddedLedgerStore(dir);
    expect(await ledger.pending()).toEqual([]);
    const closing = (await ledger.ledger({ kinds: ['settle', 'refund'] })).filter((r) => r.keyName === 'tester');
    expect(closing).toHaveLength(STREAMS);
    await ledger.shutdown();

    // Logs are structured, carry request ids, and never show a token.
    const log = relay.stderr();
    expect(log).toContain('"msg":"draining"');
    expect(log).toMatch(/"requestId":"sd-\d+~req_[^"]+","keyName":"tester"/);
    for (const secret of [UPSTREAM_TOKEN, CLIENT_KEY, ADMIN_TOKEN]) expect(log).not.toContain(secret);
    await agent.close();
  });
});
