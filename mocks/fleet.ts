/**
 * `startMocks`: validates a config (object or YAML path), starts one HTTP server per upstream
 * (127.0.0.1, free ports unless configured) sharing one journal and one clock, and returns their
 * URLs with a control client.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SystemClock, type Clock } from '../lib/clock.js';
import { loadYamlConfig, validateConfig } from '../lib/yaml-config.js';
import type { UpstreamKind } from '../protocols/types.js';
import { mocksConfigSchema, type MocksConfig, type ResolvedMocksConfig } from './config.js';
import { createControlHandler } from './control-api.js';
import { MockControlClient } from './control-client.js';
import { Journal } from './journal.js';
import { Pacer } from './pacer.js';
import { ScheduleStats } from './stats.js';
import { createUpstreamServer } from './server.js';
import { MockUpstream } from './upstream.js';

export interface RunningUpstream {
  name: string;
  kind: UpstreamKind;
  url: string;
  port: number;
  /** Accepted tokens at start (verbatim: tests use them to call the upstream). */
  tokens: string[];
}

export interface MockFleet {
  upstreams: RunningUpstream[];
  /** Throws on an unknown name. */
  get(name: string): RunningUpstream;
  control: MockControlClient;
  /** The fleet's journal, in process (the control API serves the same data over HTTP). */
  journal: Journal;
  close(): Promise<void>;
}

export interface StartMocksOptions {
  /** Interface to bind (default: config `host`, else 127.0.0.1). */
  host?: string;
  /** Clock for latency, pacing, JWT expiry and task progress (default: the system clock). */
  clock?: Clock;
}

export function resolveMocksConfig(config: MocksConfig | string): ResolvedMocksConfig {
  return typeof config === 'string' ? loadYamlConfig(config, mocksConfigSchema) : validateConfig(config, mocksConfigSchema, 'mocks config');
}

export async function startMocks(config: MocksConfig | string, opts: StartMocksOptions = {}): Promise<MockFleet> {
  const resolved = resolveMocksConfig(config);
  const clock = opts.clock ?? new SystemClock();
  const host = opts.host ?? resolved.host ?? '127.0.0.1';
  const journal = new Journal({ max: resolved.journal.max, maxBytes: resolved.journal.max_bytes, maxBodyBytes: resolved.journal.max_body_bytes });
  const upstreams = new Map<string, MockUpstream>();
  for (const u of resolved.upstreams) upstreams.set(u.name, new MockUpstream(u, clock));
  const stats = new ScheduleStats();
  const pacer = new Pacer(clock);
  const control = createControlHandler({ journal, upstreams, stats });

  const servers: Server[] = [];
  try {
    for (const up of upstreams.values()) {
      const server = createUpstreamServer(up, { journal, clock, control, stats, pacer });
      servers.push(server);
      await listen(server, up.config.port, host);
      up.port = (server.address() as AddressInfo).port;
      up.url = `http://${host.includes(':') ? `[${host}]` : host}:${up.port}`;
    }
  } catch (err) {
    await Promise.all(servers.map(closeServer));
    throw err;
  }

  const running: RunningUpstream[] = [...upstreams.values()].map((u) => ({ name: u.name, kind: u.kind, url: u.url, port: u.port, tokens: [...u.config.tokens] }));
  let closed: Promise<void> | undefined;
  return {
    upstreams: running,
    get(name) {
      const u = running.find((r) => r.name === name);
      if (!u) throw new Error(`no mock upstream named "${name}" (have: ${running.map((r) => r.name).join(', ')})`);
      return u;
    },
    control: new MockControlClient(running[0].url),
    journal,
    close() {
      closed ??= Promise.all(servers.map(closeServer)).then(() => undefined);
      return closed;
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // Thousands of streams may connect at once; node's default backlog (511) would turn the excess
    // into SYN retries that look like seconds of time-to-first-byte.
    server.listen({ port, host, backlog: 4096 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    // Hanging and stalled responses would keep close() waiting forever.
    server.closeAllConnections();
    server.close(() => resolve());
  });
}
