/**
 * The default target: the reference relay started in this process on a free port with a
 * TestClock, a fresh data directory (so a restart keeps its records) and a random admin token.
 * Virtual time moves the same TestClock the relay's timers read.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TestClock } from '../../lib/clock.js';
import { startRelay, type RunningRelay } from '../../relay/index.js';
import type { RelayConfig } from '../../relay/config/schema.js';
import { CAPABILITIES, type Capability } from '../engine/schema.js';
import type { Adapter, OpenTargetOptions, Target } from '../engine/target.js';
import { AdminClient } from './admin-client.js';
import { AdminTarget } from './reference.js';

const ALL: ReadonlySet<Capability> = new Set(CAPABILITIES);

/**
 * RELAYLAB_SCENARIO_STORES=shared runs the in-process relay on Redis (REDIS_URL) and MySQL
 * (MYSQL_URL) instead of memory + embedded, under a prefix unique to this run, so the suites can
 * prove the shared stores too without colliding with parallel runs.
 */
function storeOptions(): { redisUrl?: string; mysqlUrl?: string; statePrefix?: string } {
  if (process.env.RELAYLAB_SCENARIO_STORES !== 'shared') return {};
  return { redisUrl: process.env.REDIS_URL, mysqlUrl: process.env.MYSQL_URL, statePrefix: `scn_${randomBytes(6).toString('hex')}` };
}

class InProcessTarget extends AdminTarget {
  constructor(
    private relay: RunningRelay,
    private readonly config: RelayConfig,
    private readonly clock: TestClock,
    private readonly dataDir: string,
    private readonly stores: ReturnType<typeof storeOptions>,
  ) {
    super('in-process', relay.url, new AdminClient(relay.url, relay.adminToken), ALL);
  }

  override async advance(ms: number): Promise<void> {
    await this.clock.advance(ms);
  }

  protected override async restart(): Promise<void> {
    const port = Number(new URL(this.relay.url).port);
    await this.relay.close();
    this.relay = await startRelay({
      config: this.config,
      clock: this.clock,
      host: '127.0.0.1',
      port,
      dataDir: this.dataDir,
      ...this.stores,
      adminToken: this.relay.adminToken,
      logLevel: process.env.RELAYLAB_RELAY_LOG ?? 'silent',
    });
    this.relayUrl = this.relay.url;
    this.admin = new AdminClient(this.relay.url, this.relay.adminToken);
  }

  override async close(): Promise<void> {
    await this.relay.close();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export function inProcessAdapter(): Adapter {
  return {
    name: 'in-process',
    capabilities: ALL,
    mockPortBase: 0,
    async open(o: OpenTargetOptions): Promise<Target> {
      const clock = new TestClock();
      const dataDir = mkdtempSync(join(tmpdir(), 'relaylab-scenario-relay-'));
      const config = o.layout as RelayConfig;
      const stores = storeOptions();
      const relay = await startRelay({
        ...stores,
        config,
        clock,
        host: '127.0.0.1',
        port: 0,
        dataDir,
        adminToken: `adm-${randomBytes(12).toString('hex')}`,
        logLevel: process.env.RELAYLAB_RELAY_LOG ?? 'silent',
      });
      return new InProcessTarget(relay, config, clock, dataDir, stores);
    },
  };
}
