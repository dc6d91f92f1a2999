/**
 * The default target: the reference relay started in this process for each scenario, on a free
 * port with a TestClock, a fresh data directory (so a restart keeps its records) and a random
 * admin token. Changes go through its admin API; virtual time moves the TestClock its timers read.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TestClock } from '../../lib/clock.js';
import { startRelay, type RunningRelay } from '../../relay/index.js';
import type { RelayConfig } from '../../relay/config/schema.js';
import type { AdapterCapabilities, Configured, RelayAdapter } from './api.js';
import { AdminClient } from './admin-client.js';
import { AdminDriver, REFERENCE_CAPABILITIES } from './reference.js';

const IN_PROCESS_CAPABILITIES: AdapterCapabilities = { ...REFERENCE_CAPABILITIES, restart: true };

/**
 * RELAYLAB_SCENARIO_STORES=shared runs the in-process relay on Redis (REDIS_URL) and MySQL
 * (MYSQL_URL) instead of memory + embedded, under a prefix unique to this run, so the suites can
 * prove the shared stores too without colliding with parallel runs.
 */
function storeOptions(): { redisUrl?: string; mysqlUrl?: string; statePrefix?: string } {
  if (process.env.RELAYLAB_SCENARIO_STORES !== 'shared') return {};
  return { redisUrl: process.env.REDIS_URL, mysqlUrl: process.env.MYSQL_URL, statePrefix: `scn_${randomBytes(6).toString('hex')}` };
}

/** One scenario's relay: what a restart needs to start it again on the same records. */
interface Running {
  relay: RunningRelay;
  config: RelayConfig;
  clock: TestClock;
  dataDir: string;
  stores: ReturnType<typeof storeOptions>;
  driver: AdminDriver;
}

function start(r: Omit<Running, 'relay' | 'driver'>, port: number, adminPort: number, adminToken: string): Promise<RunningRelay> {
  return startRelay({
    ...r.stores,
    config: r.config,
    clock: r.clock,
    host: '127.0.0.1',
    port,
    adminPort,
    dataDir: r.dataDir,
    adminToken,
    logLevel: process.env.RELAYLAB_RELAY_LOG ?? 'silent',
  });
}

export function inProcessAdapter(): RelayAdapter {
  let running: Running | undefined;
  const current = (): Running => {
    if (!running) throw new Error('the in-process relay is not running (configure first)');
    return running;
  };
  const teardown = async () => {
    const r = running;
    running = undefined;
    if (!r) return;
    await r.relay.close();
    rmSync(r.dataDir, { recursive: true, force: true });
  };
  return {
    name: 'in-process',
    capabilities: IN_PROCESS_CAPABILITIES,
    async configure(layout): Promise<Configured> {
      await teardown();
      const base = { config: layout.reference as RelayConfig, clock: new TestClock(), dataDir: mkdtempSync(join(tmpdir(), 'relaylab-scenario-relay-')), stores: storeOptions() };
      const relay = await start(base, 0, 0, `adm-${randomBytes(12).toString('hex')}`);
      running = { ...base, relay, driver: new AdminDriver(new AdminClient(relay.adminUrl, relay.adminToken)) };
      return { url: relay.url };
    },
    async apply(change) {
      const r = current();
      if (change.kind !== 'restart') return r.driver.change(change);
      const port = Number(new URL(r.relay.url).port);
      // The same admin port too: the driver keeps talking to it.
      const adminPort = Number(new URL(r.relay.adminUrl).port);
      await r.relay.close();
      r.relay = await start(r, port, adminPort, r.relay.adminToken);
    },
    readRecords: (limit) => current().driver.readRecords(limit),
    advance: (ms) => current().clock.advance(ms),
    healthCheck: () => current().driver.healthCheck(),
    state: () => current().driver.state(),
    stats: () => current().driver.stats(),
    billing: () => current().driver.billing(),
    teardown,
  };
}
