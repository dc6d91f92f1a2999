/**
 * `pnpm stack [--json] [--port N]`: the example mocks (mocks/examples/basic.yaml) and a reference
 * relay pointed at them, in one process. Prints where everything is and how to point an SDK or a
 * coding agent (Claude Code, Codex CLI) at the relay; with --json, one JSON line once everything
 * listens:
 *   {"relay":{"url","keys":[...]},"mocks":[{"name","kind","url","tokens":[...]}],"admin":{"url","token"},
 *    "agents":{"claude":[turn 1, turn 2],"codex":[turn 1, turn 2],"codexHome"}}
 * `agents` holds the very command lines the banner prints (agents/agents.test.ts runs them).
 * Runs until SIGINT / SIGTERM.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
  return { strategy: 'priority', cross_channel_failover: true, channels, keys: [{ key: clientKey, name: 'stack' }], billing: STACK_BILLING };
}

/**
 * Demo prices (dollars per million tokens) so `/admin/billing/ledger` shows what each request,
 * an agent's turn or a retried cut stream, cost; no balance, so nothing is ever refused.
 */
export const STACK_BILLING = {
  unpriced_models: 'free',
  prices: {
    'claude-*': { input: 3, output: 15, cache_write: 3.75, cache_read: 0.3 },
    'gpt-*': { input: 1.25, output: 10, cache_read: 0.125 },
  },
};

/** The environment variable Codex reads the relay key from (the provider's `env_key`). */
export const CODEX_KEY_ENV = 'RELAYLAB_API_KEY';

/**
 * A Codex CLI config (`$CODEX_HOME/config.toml`) with the relay as its model provider, on the
 * Responses wire API, and nothing that would call elsewhere (plugins, analytics).
 */
export function codexConfig(relayUrl: string): string {
  return [
    'model = "gpt-5"',
    'model_provider = "relaylab"',
    '',
    '[model_providers.relaylab]',
    'name = "relaylab stack"',
    `base_url = "${relayUrl}/v1"`,
    'wire_api = "responses"',
    `env_key = "${CODEX_KEY_ENV}"`,
    '',
    '[features]',
    'plugins = false',
    'remote_plugin = false',
    '',
    '[analytics]',
    'enabled = false',
    '',
  ].join('\n');
}

export interface AgentCommands {
  /** `claude -p` then `claude -p --continue`: two turns of one session. */
  claude: [string, string];
  /** `codex exec` then `codex exec resume --last`. */
  codex: [string, string];
  codexHome: string;
}

/** Shell command lines that run each agent against the relay, a first turn and a second one. */
export function agentCommands(relayUrl: string, clientKey: string, codexHome: string): AgentCommands {
  const claude = `ANTHROPIC_BASE_URL=${relayUrl} ANTHROPIC_AUTH_TOKEN=${clientKey} CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 claude -p`;
  const codex = `CODEX_HOME=${shellWord(codexHome)} ${CODEX_KEY_ENV}=${clientKey} codex exec --skip-git-repo-check`;
  return {
    claude: [`${claude} "say hi"`, `${claude} --continue "say more"`],
    codex: [`${codex} "say hi"`, `${codex} resume --last "say more"`],
    codexHome,
  };
}

/** A word the shell reads back as itself (a temporary directory may hold anything). */
function shellWord(s: string): string {
  return /^[\w./:-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

/** The banner's lines on the coding agents, the commands of agentCommands verbatim. */
export function agentBanner(agents: AgentCommands): string[] {
  return [
    'Coding agents (each line runs one turn; the second continues the first one\'s session):',
    `  Claude Code:  ${agents.claude[0]}`,
    `                ${agents.claude[1]}`,
    `  Codex CLI:    ${agents.codex[0]}`,
    `                ${agents.codex[1]}`,
    `  (CODEX_HOME holds a config.toml naming the relay as Codex's model provider; removed when the stack stops)`,
  ];
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
  const codexHome = mkdtempSync(join(tmpdir(), 'relaylab-codex-'));
  writeFileSync(join(codexHome, 'config.toml'), codexConfig(relay.url));
  const agents = agentCommands(relay.url, clientKey, codexHome);
  const stop = () => {
    void Promise.allSettled([relay.close(), fleet.close()]).then(() => {
      rmSync(codexHome, { recursive: true, force: true });
      process.exit(0);
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  if (values.json) {
    const line = {
      relay: { url: relay.url, keys: [clientKey] },
      mocks: fleet.upstreams.map((u) => ({ name: u.name, kind: u.kind, url: u.url, tokens: u.tokens })),
      admin: { url: `${relay.adminUrl}/admin`, token: relay.adminToken },
      agents,
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
    return;
  }
  const out = [
    `relay:      ${relay.url}`,
    `client key: ${clientKey}`,
    `admin:      ${relay.adminUrl}/admin/  (Authorization: Bearer ${relay.adminToken}; /metrics there too)`,
    `            requests: ${relay.adminUrl}/admin/requests  ledger (demo prices, unmetered): ${relay.adminUrl}/admin/billing/ledger`,
    '',
    'mocks:',
    ...fleet.upstreams.map((u) => `  ${u.name.padEnd(12)} ${u.kind.padEnd(16)} ${u.url}`),
    '',
    ...agentBanner(agents),
    '',
    'Point an SDK or curl at the relay:',
    `  Anthropic SDK:  ANTHROPIC_BASE_URL=${relay.url} ANTHROPIC_API_KEY=${clientKey}`,
    `  OpenAI SDK:     OPENAI_BASE_URL=${relay.url}/v1 OPENAI_API_KEY=${clientKey}`,
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
