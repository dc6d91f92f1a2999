/**
 * `pnpm relay --config <file.yaml> [--host 127.0.0.1] [--port 8080] [--admin-host 127.0.0.1]
 *   [--admin-port 8081] [--data-dir ./data] [--billing-instance-lease 10s] [--billing-recovery-grace 10m]`
 * Starts the reference relay: clients on --port, the admin API and /metrics on --admin-port
 * (config `admin:`, RELAY_ADMIN_HOST / RELAY_ADMIN_PORT; 8081, or a free port when --port is 0).
 * Environment: RELAY_HOST, RELAY_PORT, RELAY_ADMIN_TOKEN, RELAY_METRICS_TOKEN,
 * RELAY_DATA_DIR, RELAY_LOG_LEVEL, REDIS_URL, MYSQL_URL, RELAY_STATE_PREFIX, RELAY_TEST_CLOCK=1, and the config
 * overrides listed in relay/config/load.ts (RELAY_STRATEGY, RELAY_MAX_ATTEMPTS ...). Service settings
 * (RELAY_SECRET_KEY, RELAY_SHUTDOWN_DEADLINE, body and timeout limits): relay/service/README.md.
 */
import { parseArgs } from 'node:util';
import { parseDuration } from '../lib/duration.js';
import { maskToken } from '../lib/mask.js';
import { ConfigError } from '../lib/yaml-config.js';
import { SplitLedgerError } from './billing/index.js';
import { loadRelayConfig } from './config/load.js';
import { startRelay, type RunningRelay } from './server.js';
import { exitOnSignals } from './service/index.js';
import { runMain } from '../lib/main.js';

const USAGE =
  'usage: pnpm relay --config <file.yaml> [--host 127.0.0.1] [--port 8080] [--admin-host 127.0.0.1] [--admin-port 8081] [--data-dir dir] [--log-level info]\n' +
  '                  [--billing-instance-lease 10s] [--billing-recovery-grace 10m]   (MySQL billing recovery; relay/billing/README.md)';
/** The admin listener's port when neither flag, environment nor config names one. */
const DEFAULT_ADMIN_PORT = 8081;

function parsePort(text: string): number | undefined {
  const port = Number(text);
  return Number.isInteger(port) && port >= 0 && port <= 65535 ? port : undefined;
}

async function main(): Promise<number> {
  let values: {
    config?: string;
    host?: string;
    port?: string;
    'admin-host'?: string;
    'admin-port'?: string;
    'data-dir'?: string;
    'log-level'?: string;
    help?: boolean;
    'billing-instance-lease'?: string;
    'billing-recovery-grace'?: string;
  };
  try {
    ({ values } = parseArgs({
      options: {
        config: { type: 'string', short: 'c' },
        host: { type: 'string' },
        port: { type: 'string', short: 'p' },
        'admin-host': { type: 'string' },
        'admin-port': { type: 'string' },
        'data-dir': { type: 'string' },
        'log-level': { type: 'string' },
        'billing-instance-lease': { type: 'string' },
        'billing-recovery-grace': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const config = values.config ?? process.env.RELAY_CONFIG;
  if (!config) {
    console.error(USAGE);
    return 2;
  }
  const portText = values.port ?? process.env.RELAY_PORT ?? '8080';
  const port = parsePort(portText);
  if (port === undefined) {
    console.error(`invalid port "${portText}"`);
    return 2;
  }
  const adminPort = values['admin-port'] === undefined ? undefined : parsePort(values['admin-port']);
  if (values['admin-port'] !== undefined && adminPort === undefined) {
    console.error(`invalid admin port "${values['admin-port']}"`);
    return 2;
  }
  let billingRecovery: { instanceLeaseMs?: number; graceMs?: number };
  try {
    billingRecovery = {
      instanceLeaseMs: optionalDuration(values['billing-instance-lease']),
      graceMs: optionalDuration(values['billing-recovery-grace']),
    };
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const givenToken = process.env.RELAY_ADMIN_TOKEN;
  let relay: RunningRelay;
  // POST /admin/restart: this process owns the relay, so it can stop it and start it again on the
  // same ports, records, admin token and clock (a test clock keeps its time).
  const restart = async (options: Parameters<typeof startRelay>[0]) => {
    const old = relay;
    await old.close();
    const again = { ...options, port: old.port, adminPort: Number(new URL(old.adminUrl).port), adminToken: old.adminToken, clock: old.clock };
    relay = await startRelay({ ...again, restart: () => void restart(again).catch(onRestartError) });
    console.log(`relay restarted on ${relay.url}`);
  };
  const onRestartError = (err: Error) => {
    console.error(`relay restart failed: ${err.message}`);
    process.exit(1);
  };
  try {
    // The config file (with RELAY_ADMIN_HOST / RELAY_ADMIN_PORT applied) may name the admin listener.
    const fileAdmin = loadRelayConfig(config).admin;
    const options = {
      config,
      host: values.host ?? process.env.RELAY_HOST ?? '127.0.0.1',
      port,
      adminHost: values['admin-host'] ?? fileAdmin.host,
      adminPort: adminPort ?? fileAdmin.port ?? (port === 0 ? 0 : DEFAULT_ADMIN_PORT),
      dataDir: values['data-dir'] ?? process.env.RELAY_DATA_DIR,
      adminToken: givenToken,
      redisUrl: process.env.REDIS_URL || undefined,
      mysqlUrl: process.env.MYSQL_URL || undefined,
      statePrefix: process.env.RELAY_STATE_PREFIX || undefined,
      logLevel: values['log-level'] ?? process.env.RELAY_LOG_LEVEL ?? 'info',
      billingRecovery,
    };
    relay = await startRelay({ ...options, restart: () => void restart(options).catch(onRestartError) });
  } catch (err) {
    if (err instanceof ConfigError || err instanceof SplitLedgerError) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }
  console.log(`relay listening on ${relay.url}`);
  console.log(`admin API: ${relay.adminUrl}/admin/ and ${relay.adminUrl}/metrics (Authorization: Bearer ${givenToken ? maskToken(relay.adminToken) : relay.adminToken})`);
  // SIGTERM / SIGINT drain in-flight requests and streams first; a second signal exits at once.
  const deadlineMs = parseDuration(process.env.RELAY_SHUTDOWN_DEADLINE || '30s');
  exitOnSignals(() => relay.shutdown(deadlineMs));
  return -1;
}

function optionalDuration(value: string | undefined): number | undefined {
  return value === undefined ? undefined : parseDuration(value);
}

runMain(main);
