/**
 * The relay as a service, in process against the mocks: health and readiness, metrics, the
 * admin API's auth and docs, masking, body and slow-client limits, per-key rate limits, tokens
 * sealed at rest.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { afterEach, describe, expect, it } from 'vitest';
import type { MockFleet } from '../../mocks/index.js';
import type { RelayConfig } from '../config/schema.js';
import { admin, ask, call, claudeBody, CLIENT_KEY, requestLog, startStack, type TestStack } from '../testing.js';
import type { StartRelayOptions } from '../server.js';

const TOKEN_A = 'sk-ant-api03-SECRET-token-A-0000000001';
const TOKEN_B = 'sk-ant-api03-SECRET-token-B-0000000002';
const OAI_TOKEN = 'sk-proj-SECRET-openai-token-000003';
const REFRESH = 'rt-SECRET-refresh-token-0000000004';
const LIMITED_KEY = 'rk-limited-SECRET-key-000005';

let stacks: TestStack[] = [];
afterEach(async () => {
  for (const s of stacks) await s.close();
  stacks = [];
});

function layout(m: MockFleet): RelayConfig {
  return {
    channels: [
      {
        name: 'main',
        endpoints: [
          { name: 'A', type: 'claude', base_url: m.get('claude').url, token: TOKEN_A, priority: 1 },
          { name: 'B', type: 'claude', base_url: m.get('claude').url, token: TOKEN_B, priority: 2 },
          { name: 'O', type: 'openai', base_url: m.get('openai').url, token: OAI_TOKEN },
          { name: 'X', type: 'chatgpt-oauth', base_url: m.get('openai').url, token: OAI_TOKEN, account_id: 'acc-1', refresh_token: REFRESH },
        ],
      },
    ],
    keys: [
      { key: CLIENT_KEY, name: 'tester' },
      { key: LIMITED_KEY, name: 'limited', rate_limit: { requests: 2, per: '1m' } },
    ],
    billing: { prices: { 'claude-sonnet-4-5': { input: 3, output: 15 }, 'gpt-4o-mini': { input: 1, output: 2 } }, default_balance: 100 },
  };
}

async function stack(opts: Partial<StartRelayOptions> = {}): Promise<TestStack> {
  const s = await startStack(
    {
      upstreams: [
        { name: 'claude', kind: 'claude', tokens: [TOKEN_A, TOKEN_B], output: { tokens: 8 } },
        { name: 'openai', kind: 'openai', tokens: [OAI_TOKEN], output: { tokens: 8 } },
      ],
    },
    layout,
    opts,
  );
  stacks.push(s);
  return s;
}

/** The value of one sample line in Prometheus text, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('health, readiness and metrics', () => {
  it('/healthz and /readyz answer without auth; /readyz names each store it checked', async () => {
    const s = await stack();
    const live = await call(s.relay.url, 'GET', '/healthz');
    expect(live.status).toBe(200);
    expect(live.json).toEqual({ status: 'ok' });
    const ready = await call(s.relay.url, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.json.status).toBe('ready');
    expect(Object.keys(ready.json.checks).sort()).toEqual(['config', 'ledger', 'live_state', 'records']);
    for (const c of Object.values(ready.json.checks) as Array<{ ok: boolean }>) expect(c.ok).toBe(true);
  });

  it('counts requests, attempts, failovers and latency per relay, and reads live state and the ledger at scrape time', async () => {
    const s = await stack();
    const other = await stack();
    await s.mocks.control.addRule('claude', { match: { token: TOKEN_A }, action: { status: 500 } });
    expect((await ask(s.relay, '/v1/messages', claudeBody())).status).toBe(200);
    expect((await ask(s.relay, '/v1/messages', claudeBody(), { 'x-api-key': 'rk-wrong-key-000000' })).status).toBe(401);

    // Settlement runs after the answer: scrape until the ledger shows it (bounded).
    let res = await admin(s.relay, 'GET', '/metrics');
    for (let i = 0; i < 50 && sample(res.text, 'relay_ledger_requests', { key: 'tester' }) === undefined; i++) {
      await new Promise((r) => setTimeout(r, 20));
      res = await admin(s.relay, 'GET', '/metrics');
    }
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    const m = res.text;
    expect(sample(m, 'relay_requests_total', { protocol: 'anthropic', path: '/v1/messages', status: '200', outcome: 'ok' })).toBe(1);
    expect(sample(m, 'relay_requests_total', { status: '401', outcome: 'rejected' })).toBe(1);
    // A's first 500 is retried once on A before the failover (not counted as one: same endpoint).
    expect(sample(m, 'relay_upstream_attempts_total', { endpoint: 'A', status: '500' })).toBe(2);
    expect(sample(m, 'relay_upstream_attempts_total', { endpoint: 'B', status: '200', outcome: 'ok' })).toBe(1);
    expect(sample(m, 'relay_failovers_total', { from_endpoint: 'A', to_endpoint: 'B', cross_channel: 'false' })).toBe(1);
    expect(sample(m, 'relay_upstream_attempt_duration_seconds_count', { endpoint: 'B' })).toBe(1);
    expect(sample(m, 'relay_request_duration_seconds_count', { protocol: 'anthropic', stream: 'false' })).toBe(2);
    expect(sample(m, 'relay_usage_tokens_total', { protocol: 'anthropic', kind: 'output' })).toBe(8);
    // A's 500 started a cooldown: counted when set, and visible as a gauge while it lasts.
    expect(sample(m, 'relay_cooldowns_set_total', { endpoint: 'A' })).toBeGreaterThanOrEqual(1);
    expect(sample(m, 'relay_endpoint_cooldown_seconds', { endpoint: 'A' })).toBeGreaterThan(0);
    expect(sample(m, 'relay_cooldowns_active')).toBe(1);
    expect(sample(m, 'relay_breakers_open')).toBe(0);
    expect(sample(m, 'relay_endpoint_breaker', { endpoint: 'B', phase: 'closed' })).toBe(1);
    expect(sample(m, 'relay_endpoint_health', { endpoint: 'B' })).toBe(1);
    expect(sample(m, 'relay_ledger_requests', { key: 'tester' })).toBe(1);
    expect(sample(m, 'relay_ledger_cost_dollars', { key: 'tester' })).toBeGreaterThan(0);
    expect(sample(m, 'relay_ledger_pending_reservations')).toBe(0);
    expect(sample(m, 'relay_ledger_balance_dollars', { key: 'tester' })).toBeLessThan(100);
    expect(sample(m, 'relay_in_flight_requests')).toBe(0);
    expect(sample(m, 'relay_active_streams')).toBe(0);
    // Tokens and keys never appear in metrics.
    for (const secret of ['SECRET', CLIENT_KEY]) expect(m).not.toContain(secret);

    // The other relay in this process has its own registry.
    const mine = (await admin(other.relay, 'GET', '/metrics')).text;
    expect(sample(mine, 'relay_requests_total', { status: '200' })).toBeUndefined();
  });

  it('serves /metrics and the admin API only on the admin listener, /metrics only with the admin or metrics token', async () => {
    const s = await stack({ metricsToken: 'mt-SECRET-metrics-token-0000006' });
    expect(new URL(s.relay.adminUrl).hostname).toBe('127.0.0.1');
    expect(s.relay.adminUrl).not.toBe(s.relay.url);
    // Nothing of the admin side is reachable where clients are.
    for (const path of ['/metrics', '/admin/config', '/admin/openapi.json', '/admin/docs/']) {
      const res = await call(s.relay.url, 'GET', path, undefined, { authorization: `Bearer ${s.relay.adminToken}` });
      expect(res.status, path).toBe(404);
      expect(res.text, path).not.toContain('relay_requests_total');
    }
    const metrics = (headers: Record<string, string>) => call(s.relay.adminUrl, 'GET', '/metrics', undefined, headers);
    const refused: Array<Record<string, string>> = [{}, { authorization: 'Bearer mt-wrong' }, { authorization: `Bearer ${CLIENT_KEY}` }, { 'x-api-key': CLIENT_KEY }];
    for (const headers of refused) {
      const res = await metrics(headers);
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(res.text).not.toContain('relay_');
    }
    expect((await metrics({ authorization: `Bearer ${s.relay.adminToken}` })).text).toContain('relay_requests_total');
    expect((await metrics({ authorization: 'Bearer mt-SECRET-metrics-token-0000006' })).text).toContain('relay_requests_total');
    // The metrics token opens nothing else.
    expect((await call(s.relay.adminUrl, 'GET', '/admin/config', undefined, { authorization: 'Bearer mt-SECRET-metrics-token-0000006' })).status).toBe(401);
  });

  it('shows streams in flight as active streams', async () => {
    const s = await stack();
    await s.mocks.control.addRule('claude', { action: { chunk_delay: '150ms' } });
    const pending = ask(s.relay, '/v1/messages', claudeBody({ stream: true }));
    let active = 0;
    for (let i = 0; i < 40 && active === 0; i++) {
      await new Promise((r) => setTimeout(r, 25));
      active = sample((await admin(s.relay, 'GET', '/metrics')).text, 'relay_active_streams') ?? 0;
    }
    expect(active).toBe(1);
    expect((await pending).status).toBe(200);
    expect(sample((await admin(s.relay, 'GET', '/metrics')).text, 'relay_active_streams')).toBe(0);
  });
});

describe('request ids', () => {
  it("keeps a client's x-request-id as the prefix of the relay's id, sends it upstream, returns it and logs it", async () => {
    const s = await stack();
    const res = await ask(s.relay, '/v1/messages', claudeBody(), { 'x-request-id': 'trace-42' });
    expect(res.status).toBe(200);
    const id = String(res.headers['x-request-id']);
    expect(id).toMatch(/^trace-42~req_/);
    const journal = await s.mocks.control.journal();
    expect(journal.at(-1)?.headers['x-request-id']).toBe(id);
    const log = await requestLog(s.relay, res);
    expect(log[0].requestId).toBe(id);
    // Repeating the id never shares a billing reservation: the relay's part stays unique.
    const again = await ask(s.relay, '/v1/messages', claudeBody(), { 'x-request-id': 'trace-42' });
    expect(again.headers['x-request-id']).not.toBe(id);
    // An unsafe id is not echoed into headers and logs; the relay makes its own.
    const odd = await ask(s.relay, '/v1/messages', claudeBody(), { 'x-request-id': 'a b"c<script>' });
    expect(String(odd.headers['x-request-id'])).toMatch(/^req_/);
  });
});

describe('admin API: docs, auth and masking', () => {
  it('serves OpenAPI at /admin/openapi.json and Swagger UI at /admin/docs, public and free of secrets', async () => {
    const s = await stack();
    const spec = await call(s.relay.adminUrl, 'GET', '/admin/openapi.json');
    expect(spec.status).toBe(200);
    expect(spec.json.openapi).toMatch(/^3\./);
    expect(spec.json.components.securitySchemes.adminToken).toMatchObject({ type: 'http', scheme: 'bearer' });
    const paths = Object.keys(spec.json.paths);
    for (const p of ['/admin/config', '/admin/channels/{name}/pause', '/admin/endpoints/{name}', '/admin/state', '/admin/requests', '/admin/billing/balances']) {
      expect(paths).toContain(p);
    }
    expect(paths.some((p) => p.startsWith('/admin/docs') || p === '/admin/openapi.json')).toBe(false);
    expect(spec.json.paths['/admin/state'].get.security).toEqual([{ adminToken: [] }]);
    expect(spec.text).not.toContain('SECRET');
    expect(spec.text).not.toContain(s.relay.adminToken);
    const ui = await call(s.relay.adminUrl, 'GET', '/admin/docs/');
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('swagger');
  });

  it('every documented admin route answers 401 without, with a wrong, or with a client credential', async () => {
    const s = await stack();
    const spec = (await call(s.relay.adminUrl, 'GET', '/admin/openapi.json')).json;
    const routes: Array<[string, string]> = [];
    for (const [path, ops] of Object.entries(spec.paths as Record<string, Record<string, unknown>>)) {
      for (const method of Object.keys(ops)) routes.push([method.toUpperCase(), path.replace(/\{[^}]+\}/g, 'main')]);
    }
    expect(routes.length).toBeGreaterThanOrEqual(20);
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer adm-wrong-token-000000000000' },
      { authorization: `Bearer ${CLIENT_KEY}` },
      { 'x-api-key': CLIENT_KEY },
    ];
    for (const [method, path] of routes) {
      for (const headers of attempts) {
        const body = method === 'GET' || method === 'DELETE' ? undefined : {};
        const res = await call(s.relay.adminUrl, method, path, body, headers);
        expect(res.status, `${method} ${path} with ${JSON.stringify(headers)}`).toBe(401);
      }
    }
    // And the other way: the admin token is not a client key.
    const asAdmin = await call(s.relay.url, 'POST', '/v1/messages', claudeBody(), { 'x-api-key': s.relay.adminToken, 'anthropic-version': '2023-06-01' });
    expect(asAdmin.status).toBe(401);
    expect(asAdmin.json.type).toBe('error');
    // The layout is unchanged by all of the above.
    expect((await admin(s.relay, 'GET', '/admin/config')).json.version).toBe(1);
  });

  it('no admin answer contains a raw token, key or refresh token', async () => {
    const s = await stack();
    expect((await ask(s.relay, '/v1/messages', claudeBody())).status).toBe(200);
    const spec = (await call(s.relay.adminUrl, 'GET', '/admin/openapi.json')).json;
    const gets = Object.entries(spec.paths as Record<string, Record<string, unknown>>)
      .filter(([path, ops]) => 'get' in ops && !path.includes('{'))
      .map(([path]) => path);
    expect(gets).toContain('/admin/config');
    const secrets = [TOKEN_A, TOKEN_B, OAI_TOKEN, REFRESH, CLIENT_KEY, LIMITED_KEY, s.relay.adminToken];
    for (const path of gets) {
      const res = await admin(s.relay, 'GET', path);
      expect(res.status, path).toBe(200);
      for (const secret of secrets) expect(res.text, `${path} shows ${secret}`).not.toContain(secret);
    }
    const config = (await admin(s.relay, 'GET', '/admin/config')).json.config;
    expect(config.channels[0].endpoints[0].token).toBe('sk-ant-…0001');
  });
});

describe('limits', () => {
  it('answers an oversize body 413 in the protocol shape, before reading it', async () => {
    const s = await stack({ limits: { maxBodyBytes: 2048 } });
    const big = claudeBody({ messages: [{ role: 'user', content: 'x'.repeat(4000) }] });
    const anthropic = await ask(s.relay, '/v1/messages', big);
    expect(anthropic.status).toBe(413);
    expect(anthropic.json).toMatchObject({ type: 'error', error: { type: expect.any(String), message: expect.stringContaining('2048') } });
    const openai = await ask(s.relay, '/v1/chat/completions', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'y'.repeat(4000) }] });
    expect(openai.status).toBe(413);
    expect(openai.json.error.message).toContain('2048');
    expect((await s.mocks.control.journal()).length).toBe(0);
    const ok = await ask(s.relay, '/v1/messages', claudeBody());
    expect(ok.status).toBe(200);
    const metrics = (await admin(s.relay, 'GET', '/metrics')).text;
    expect(sample(metrics, 'relay_requests_total', { protocol: 'anthropic', status: '413', outcome: 'rejected' })).toBe(1);
    expect(sample(metrics, 'relay_requests_total', { protocol: 'openai-chat', status: '413', outcome: 'rejected' })).toBe(1);
    const log = (await requestLog(s.relay, ok, 5)) as Array<{ status: number }>;
    expect(log.filter((e) => e.status === 413)).toHaveLength(2);
  });

  it('refuses a 33 MiB upload at the default limit without waiting for the body', async () => {
    const s = await stack();
    const url = new URL(s.relay.url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        { host: url.hostname, port: url.port, method: 'POST', path: '/v1/messages', headers: { 'content-length': String(33 * 1024 * 1024), 'x-api-key': CLIENT_KEY, 'content-type': 'application/json' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.write('{"model":"claude-sonnet-4-5","messages":[');
    });
    expect(status).toBe(413);
  });

  it('cuts a client that sends its headers too slowly (slow loris)', async () => {
    const s = await stack({ limits: { headersTimeoutMs: 400, connectionsCheckingIntervalMs: 100 } });
    const url = new URL(s.relay.url);
    const socket = connect(Number(url.port), url.hostname);
    const started = Date.now();
    let received = '';
    socket.on('data', (d) => (received += d.toString()));
    socket.write('POST /v1/messages HTTP/1.1\r\nHost: relay\r\n');
    const drip = setInterval(() => socket.writable && socket.write('x-slow: 1\r\n'), 100);
    await new Promise<void>((resolve) => socket.on('close', () => resolve()));
    clearInterval(drip);
    const held = Date.now() - started;
    expect(held).toBeLessThan(3_000);
    expect(received === '' || received.startsWith('HTTP/1.1 408')).toBe(true);
    // The relay still serves everyone else.
    expect((await ask(s.relay, '/v1/messages', claudeBody())).status).toBe(200);
  });

  it('rate-limits per key in the protocol shape, without touching other keys', async () => {
    const s = await stack();
    const limited = { 'x-api-key': LIMITED_KEY };
    expect((await ask(s.relay, '/v1/messages', claudeBody(), limited)).status).toBe(200);
    expect((await ask(s.relay, '/v1/messages', claudeBody(), limited)).status).toBe(200);
    const third = await ask(s.relay, '/v1/messages', claudeBody(), limited);
    expect(third.status).toBe(429);
    expect(third.json.type).toBe('error');
    expect(Number(third.headers['retry-after'])).toBeGreaterThan(0);
    expect((await ask(s.relay, '/v1/messages', claudeBody())).status).toBe(200);
  });
});

describe('tokens at rest', () => {
  const SECRET_KEY = randomBytes(32).toString('hex');
  const NEW_TOKEN = 'sk-ant-api03-SECRET-rotated-token-9999';

  it('an admin token change is stored sealed in the data dir and survives a restart with the key', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'relay-sealed-'));
    try {
      const s = await stack({ dataDir, secretKey: SECRET_KEY, mysqlUrl: '', redisUrl: '' });
      expect((await admin(s.relay, 'PATCH', '/admin/endpoints/A', { token: NEW_TOKEN })).status).toBe(200);
      await s.relay.close();
      const files = await readdir(dataDir);
      const all = (await Promise.all(files.map((f) => readFile(join(dataDir, f), 'utf8')))).join('\n');
      expect(all).toContain('enc:v1:');
      for (const secret of [NEW_TOKEN, TOKEN_B, CLIENT_KEY]) expect(all).not.toContain(secret);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it.runIf(process.env.MYSQL_URL)('the MySQL overrides row never holds the token in plain text', async () => {
    const statePrefix = `tseal${randomBytes(4).toString('hex')}`;
    const s = await stack({ secretKey: SECRET_KEY, statePrefix });
    expect((await admin(s.relay, 'PATCH', '/admin/endpoints/A', { token: NEW_TOKEN })).status).toBe(200);
    // The relay itself uses the new token at once.
    expect((await ask(s.relay, '/v1/messages', claudeBody())).status).toBe(200);
    const conn = await createConnection({ uri: process.env.MYSQL_URL! });
    try {
      const [rows] = await conn.query(`SELECT doc FROM \`${statePrefix}_relay_overrides\``);
      const doc = String((rows as Array<{ doc: string }>)[0].doc);
      expect(doc).toContain('enc:v1:');
      for (const secret of [NEW_TOKEN, TOKEN_B, OAI_TOKEN, REFRESH, CLIENT_KEY]) expect(doc).not.toContain(secret);
      await conn.query(`DROP TABLE IF EXISTS \`${statePrefix}_relay_overrides\`, \`${statePrefix}_relay_requests\``);
    } finally {
      await conn.end();
    }
  });
});
