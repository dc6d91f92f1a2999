/**
 * A real crash, end to end: a relay process (node itself, no wrapper) streams answers to N
 * concurrent clients and is killed with SIGKILL mid-flight; a new relay process starts on the
 * same records. No stubs: the ledger, the request log and the recovery are the relay's own.
 *
 * What must hold after the restart (relay/billing/README.md, "Crash"):
 *   - nothing is pending;
 *   - every request whose client received the terminal event (message_stop) is charged once,
 *     as the upstream reported it (the mocks' journal), by the relay that served it;
 *   - every request whose client did not receive it is refunded (outside the 50 ms window).
 * The relay charges a complete answer before releasing its terminal event, so there is no
 * window in which a client has its whole answer and the ledger does not know it; the other way
 * round, an answer charged in the last 50 ms before the kill may not have reached its client.
 * Runs on the embedded stores (a data dir) and, with MYSQL_URL and REDIS_URL, on both.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { startMocks, type MockFleet } from '../../mocks/index.js';
import { MysqlLedgerStore } from './ledger-mysql.js';

const ROOT = join(import.meta.dirname, '..', '..');
const TOKEN = 'sk-ant-api03-kill-relay-000001';
const KEY = 'rk-kill-relay-client-0001';
const ADMIN = 'adm-kill-relay-test-token-0001';
const N = 24;
const STAGGER_MS = 100;
/** The kill comes once this many clients hold a whole answer (the later ones are mid-stream then). */
const KILL_AFTER_WHOLE = 3;
const PRICE = { input: 3, output: 15 }; // $ per million tokens
/** The documented loss window: an answer charged this shortly before the kill may not reach its client whole. */
const WINDOW_MS = 50;

interface ClientResult {
  /** Undefined when the relay died before the answer's head reached the client. */
  requestId: string | undefined;
  /** The terminal event arrived: the client holds the whole answer. */
  whole: boolean;
}

let fleet: MockFleet | undefined;
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await fleet?.close();
  fleet = undefined;
});

function startRelayProcess(configFile: string, env: Record<string, string>): Promise<{ child: ChildProcess; url: string; adminUrl: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'relay', 'cli.ts'), '--config', configFile, '--port', '0', '--log-level', 'warn'], {
      cwd: ROOT,
      env: { ...process.env, REDIS_URL: '', MYSQL_URL: '', ...env, RELAY_ADMIN_TOKEN: ADMIN },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    let err = '';
    child.stderr!.on('data', (c) => (err += c));
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /relay listening on (http:\/\/\S+)/.exec(out);
      const a = /admin API: (http:\/\/[^/\s]+)\/admin\//.exec(out);
      if (m && a) resolve({ child, url: m[1], adminUrl: a[1] });
    });
    child.on('exit', (code, signal) => reject(new Error(`relay exited (${code ?? signal}) before listening: ${err}${out}`)));
  });
}

/** One streaming client: reads until the stream ends or breaks, and says whether it got message_stop. */
async function streamOnce(url: string, n: number, onWhole: () => void): Promise<ClientResult> {
  let requestId: string | undefined;
  let text = '';
  try {
    const res = await request(`${url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': KEY, 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 200, stream: true, messages: [{ role: 'user', content: `crash test #${n}` }] }),
    });
    if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}: ${await res.body.text()}`);
    requestId = String(res.headers['x-request-id']);
    for await (const chunk of res.body) text += chunk.toString();
  } catch (err) {
    // The relay died mid-request: what arrived is what the client has. Anything else is a failure.
    if (!/other side closed|ECONNRESET|socket|terminated/i.test((err as Error).message)) throw err;
  }
  const whole = /event: message_stop\r?\n/.test(text);
  if (whole) onWhole();
  return { requestId, whole };
}

async function adminGet(url: string, path: string): Promise<any> {
  const res = await request(url + path, { headers: { authorization: `Bearer ${ADMIN}` } });
  return res.body.json();
}

const stores = [{ name: 'embedded stores', shared: false }];
if (process.env.MYSQL_URL && process.env.REDIS_URL) stores.push({ name: 'MySQL + Redis', shared: true });

describe.each(stores)('a relay killed with SIGKILL mid-stream, restarted: $name', ({ shared }) => {
  it('charges exactly the answers clients received whole and refunds the rest', async () => {
    fleet = await startMocks({
      upstreams: [{ name: 'claude', kind: 'claude', tokens: [TOKEN], output: { tokens: 60 }, stream: { chunk_delay: '40ms' } }],
    });
    const dir = mkdtempSync(join(tmpdir(), 'relay-kill-'));
    const configFile = join(dir, 'relay.yaml');
    writeFileSync(
      configFile,
      JSON.stringify({
        health: { enabled: false },
        keys: [{ key: KEY, name: 'tester' }],
        channels: [{ name: 'main', endpoints: [{ name: 'A', type: 'claude', base_url: fleet.get('claude').url, token: TOKEN }] }],
        billing: { balances: { tester: 10 }, prices: { 'claude-sonnet-4-5': PRICE } },
      }),
    );
    const prefix = `k${randomBytes(4).toString('hex')}`;
    const env: Record<string, string> = shared
      ? { MYSQL_URL: process.env.MYSQL_URL!, REDIS_URL: process.env.REDIS_URL!, RELAY_STATE_PREFIX: prefix }
      : { RELAY_DATA_DIR: join(dir, 'data') };
    try {
      const first = await startRelayProcess(configFile, env);
      let wholeSoFar = 0;
      let killTime: () => void = () => undefined;
      const enoughWhole = new Promise<void>((r) => (killTime = r));
      const clients: Array<Promise<ClientResult>> = [];
      for (let i = 0; i < N; i++) {
        clients.push(streamOnce(first.url, i, () => ++wholeSoFar >= KILL_AFTER_WHOLE && killTime()));
        await new Promise((r) => setTimeout(r, STAGGER_MS));
      }
      await Promise.race([enoughWhole, new Promise((r) => setTimeout(r, 30_000))]);
      const exited = new Promise((r) => first.child.once('exit', r));
      const killedAt = Date.now();
      first.child.kill('SIGKILL');
      await exited;
      const results = await Promise.all(clients);
      const whole = results.filter((r) => r.whole);
      const cut = results.filter((r) => !r.whole);
      // The kill landed mid-flight: some answers were whole, some were not.
      expect(whole.length).toBeGreaterThan(0);
      expect(cut.length).toBeGreaterThan(0);

      const second = await startRelayProcess(configFile, env);
      // Recovery runs at open: the killed process is gone (embedded: its data dir is ours now;
      // MySQL: its pid on this host no longer runs).
      expect((await adminGet(second.adminUrl, '/admin/billing/pending')).pending).toEqual([]);
      const { rows } = (await adminGet(second.adminUrl, '/admin/billing/ledger?key=tester&limit=10000')) as {
        rows: Array<{ requestId: string; kind: string; time: number; cost?: number; rule?: string; usage?: { inputTokens: number; outputTokens: number } }>;
      };
      const journal = await fleet.control.journal();
      for (const r of whole) {
        const closing = rows.filter((x) => x.requestId === r.requestId && (x.kind === 'settle' || x.kind === 'refund'));
        // Settled by the relay that served it, or (MySQL) by recovery from its completion record.
        expect(closing, `${r.requestId}: the client has the whole answer`).toMatchObject([{ kind: 'settle', rule: expect.stringMatching(/^(recovered:)?success$/) }]);
        const upstream = journal.find((e) => e.headers['x-request-id'] === r.requestId);
        expect(upstream?.usage).toBeTruthy();
        expect(closing[0].usage).toMatchObject({ inputTokens: upstream!.usage!.inputTokens, outputTokens: upstream!.usage!.outputTokens });
        const cost = Math.round((upstream!.usage!.inputTokens * PRICE.input) + upstream!.usage!.outputTokens * PRICE.output);
        expect(closing[0].cost).toBe(cost);
      }
      // Charged in the window (the last WINDOW_MS before the kill): its terminal chunk may not have
      // reached the client. Outside it, a client without the whole answer was refunded.
      const inWindow = (row: { time: number }) => row.time >= killedAt - WINDOW_MS;
      for (const r of cut.filter((c) => c.requestId !== undefined)) {
        const closing = rows.filter((x) => x.requestId === r.requestId && (x.kind === 'settle' || x.kind === 'refund'));
        if (closing.length === 1 && closing[0].kind === 'settle' && inWindow(closing[0])) continue;
        expect(closing, `${r.requestId}: the client did not get the whole answer`).toMatchObject([{ kind: 'refund', cost: 0, rule: 'recovered:incomplete' }]);
      }
      // Whatever else was reserved (a client that never saw the answer's head) was refunded: the
      // charged requests are the whole answers (and any charged in the window), every reservation closed once.
      const charged = rows.filter((x) => x.kind === 'settle' && !(inWindow(x) && !whole.some((w) => w.requestId === x.requestId)));
      expect(charged.map((x) => x.requestId).sort()).toEqual(whole.map((r) => r.requestId).sort());
      const reserved = rows.filter((x) => x.kind === 'precharge').map((x) => x.requestId).sort();
      expect(rows.filter((x) => x.kind === 'settle' || x.kind === 'refund').map((x) => x.requestId).sort()).toEqual(reserved);
      const balance = (await adminGet(second.adminUrl, '/admin/billing/balances')).balances.find((b: { keyName: string }) => b.keyName === 'tester').balance;
      const total = rows.filter((x) => x.kind === 'settle').reduce((sum, x) => sum + (x.cost ?? 0), 0);
      expect(balance).toBe(10_000_000 - total);
      second.child.kill('SIGTERM');
      await new Promise((r) => second.child.once('exit', r));
    } finally {
      if (shared) {
        const s = await MysqlLedgerStore.open({ url: process.env.MYSQL_URL!, prefix: `${prefix}_` });
        await s.dropTables();
        await s.shutdown();
      }
    }
  }, 90_000);
});
