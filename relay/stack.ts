/**
 * `pnpm stack [--json] [--port N]`: the example mocks (mocks/examples/basic.yaml) and a reference
 * relay pointed at them, in one process. Prints where everything is and how to point an SDK or a
 * CLI at the relay; with --json, one JSON line once everything listens:
 *   {"relay":{"url","keys":[...]},"mocks":[{"name","kind","url","tokens":[...]}],"admin":{"url","token"}}
 * Runs until SIGINT / SIGTERM.
 */
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startMocks, type MockFleet } from '../mocks/index.js';
import type { EndpointConfig, RelayConfig } from './config/schema.js';
import { startRelay } from './server.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const STACK_MOCKS = join(ROOT, 'mocks', 'examples', 'basic.yaml');

/** A relay layout over a running fleet: one endpoint per mock token, one channel per kind. */
export async function stackLayout(fleet: MockFleet, clientKey: string): Promise<RelayConfig> {
  const channels: NonNullable<RelayConfig['channels']> = [];
  let priority = 1;
  for (const up of fleet.upstreams) {
    const endpoints: EndpointConfig[] = [];
    if (up.kind === 'chatgpt-oauth') {
      const jwt = await fleet.control.issueJwt(up.name, { accountId: 'acc-1', expiresInSec: 3600, refreshToken: 'rt-mock-account-1' });
      endpoints.push({ name: up.name, type: 'chatgpt-oauth', base_url: up.url, token: jwt.accessToken, account_id: 'acc-1', refresh_token: jwt.refreshToken });
    } else {
      up.tokens.forEach((token, i) =>
        endpoints.push({ name: up.tokens.length > 1 ? `${up.name}-${i + 1}` : up.name, type: up.kind, base_url: up.url, token, priority: i + 1 }),
      );
    }
    channels.push({ name: up.name, priority: priority++, endpoints });
  }
  return { strategy: 'priority', cross_channel_failover: true, channels, keys: [{ key: clientKey, name: 'stack' }] };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { json: { type: 'boolean' }, port: { type: 'string' }, host: { type: 'string' } } });
  const host = values.host ?? '127.0.0.1';
  const fleet = await startMocks(STACK_MOCKS, { host });
  const clientKey = `rk-stack-${randomBytes(12).toString('hex')}`;
  const relay = await startRelay({
    config: await stackLayout(fleet, clientKey),
    host,
    port: values.port ? Number(values.port) : 0,
    logLevel: process.env.RELAY_LOG_LEVEL ?? 'warn',
    redisUrl: process.env.REDIS_URL || undefined,
    mysqlUrl: process.env.MYSQL_URL || undefined,
    adminToken: process.env.RELAY_ADMIN_TOKEN || undefined,
  });
  const stop = () => {
    void Promise.allSettled([relay.close(), fleet.close()]).then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  if (values.json) {
    const line = {
      relay: { url: relay.url, keys: [clientKey] },
      mocks: fleet.upstreams.map((u) => ({ name: u.name, kind: u.kind, url: u.url, tokens: u.tokens })),
      admin: { url: `${relay.adminUrl}/admin`, token: relay.adminToken },
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
    return;
  }
  const out = [
    `relay:      ${relay.url}`,
    `client key: ${clientKey}`,
    `admin:      ${relay.adminUrl}/admin/  (Authorization: Bearer ${relay.adminToken}; /metrics there too)`,
    '',
    'mocks:',
    ...fleet.upstreams.map((u) => `  ${u.name.padEnd(12)} ${u.kind.padEnd(16)} ${u.url}`),
    '',
    'Point a client at the relay:',
    `  Claude Code / Anthropic SDK:  ANTHROPIC_BASE_URL=${relay.url} ANTHROPIC_API_KEY=${clientKey}`,
    `  OpenAI SDK / Codex:           OPENAI_BASE_URL=${relay.url}/v1 OPENAI_API_KEY=${clientKey}`,
    `  curl:  curl ${relay.url}/v1/messages -H 'x-api-key: ${clientKey}' -H 'content-type: application/json' \\`,
    `           -d '{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}'`,
    '',
    'Ctrl-C stops everything.',
  ];
  console.log(out.join('\n'));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
