/**
 * Starts what a benchmark measures, each in its own process on a fixed free port: the bare
 * node:http ceiling, one mocks process with the benchmark's upstreams, and the reference relay
 * wired to those upstreams (or nothing, when --target names relays run by someone else).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { upstreamConfigSchema } from '../mocks/config.js';
import type { BarePacing } from './bare-server.js';
import type { BenchConfig } from './config.js';
import { freePort, ROOT, startService, type RunningService } from './processes.js';

export const BENCH_RELAY_KEY = 'rk-bench-0123456789';

export interface BenchUpstream {
  name: string;
  kind: string;
  url: string;
  token: string;
}

export interface RelayTarget {
  /** Column name in reports: `relay` for the reference relay, or the --target name. */
  name: string;
  url: string;
  key: string;
  /** Set when this process started the relay, so its resources can be sampled. */
  pid?: number;
}

export interface RunningStack {
  bare?: { url: string; service: RunningService };
  mocks: { upstreams: BenchUpstream[]; service: RunningService; controlUrl: string };
  relays: RelayTarget[];
  services: RunningService[];
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Folder for the generated mocks / relay YAML files. */
  workDir: string;
  needBare: boolean;
  /** External relays; when empty and config.relay is true, the reference relay starts. */
  targets: Array<{ name: string; url: string; key?: string }>;
  /** First port for the mock upstreams (consecutive), so an external relay can be pointed at them. */
  mocksPort?: number;
  /** Extra node flags for the reference relay (e.g. --cpu-prof). */
  relayNodeFlags?: string[];
  /**
   * Put a delay proxy (ms) in front of the reference relay: the injected-regression check. Several
   * delays give several targets (`relay+0ms`, `relay+2ms`) in front of the same relay process,
   * measured side by side in one run.
   */
  relayDelayMs?: number | number[];
  log?: (line: string) => void;
}

/** The reference relay config for a benchmark: one channel with every upstream as an endpoint. */
export function relayConfigFor(config: BenchConfig, upstreams: readonly BenchUpstream[]): Record<string, unknown> {
  const base: Record<string, unknown> = {
    strategy: 'priority',
    // Health probes would add upstream traffic the benchmark does not count.
    health: { enabled: false },
    channels: [
      {
        name: 'bench',
        endpoints: upstreams.map((u, i) => ({ name: u.name, type: u.kind, base_url: u.url, token: u.token, priority: i + 1 })),
      },
    ],
    keys: [{ key: BENCH_RELAY_KEY, name: 'bench' }],
  };
  return { ...base, ...config.relay_config };
}

/**
 * The bare server streams on the schedule of the benchmark's first chat or messages upstream, so a
 * bare-vs-direct stream phase compares the mock with the least node:http can do on the same
 * schedule (pacing and token count as the mock resolves them, defaults included).
 */
export function barePacing(config: BenchConfig): BarePacing {
  const first = config.upstreams.find((u) => u.kind === 'openai' || u.kind === 'claude');
  if (!first) return { ttft: 0, chunkDelay: 0, tokens: 16 };
  const up = upstreamConfigSchema.parse(first);
  const chunkDelay = up.stream.tokensPerSecond ? 1000 / up.stream.tokensPerSecond : up.stream.chunkDelay;
  return { ttft: up.stream.ttft, chunkDelay, tokens: up.output.tokens };
}

/** The relay's own CLI when it exists, else the bench wrapper around startRelay (same flags). */
function relayScript(): string {
  return process.env.BENCH_RELAY_SCRIPT ?? (existsSync(join(ROOT, 'relay', 'cli.ts')) ? 'relay/cli.ts' : 'bench/relay-process.ts');
}

export async function startStack(config: BenchConfig, opts: StackOptions): Promise<RunningStack> {
  mkdirSync(opts.workDir, { recursive: true });
  const services: RunningService[] = [];
  const stopAll = async () => {
    for (const s of services.reverse()) await s.stop();
  };
  try {
    let bare: RunningStack['bare'];
    if (opts.needBare) {
      const port = await freePort();
      const pacing = barePacing(config);
      const args = ['--port', String(port), '--ttft', String(pacing.ttft), '--chunk-delay', String(pacing.chunkDelay), '--tokens', String(pacing.tokens)];
      const service = await startService({ name: 'bare', script: 'bench/bare-server.ts', args, ports: [port] });
      services.push(service);
      bare = { url: `http://127.0.0.1:${port}`, service };
    }

    const ports: number[] = [];
    for (let i = 0; i < config.upstreams.length; i++) ports.push(opts.mocksPort ? opts.mocksPort + i : await freePort());
    const upstreamFiles = config.upstreams.map((u, i) => ({ ...u, port: ports[i] }));
    const mocksFile = join(opts.workDir, 'mocks.yaml');
    writeFileSync(mocksFile, stringify({ upstreams: upstreamFiles }));
    const mocksService = await startService({ name: 'mocks', script: 'mocks/cli.ts', args: ['--config', mocksFile], ports });
    services.push(mocksService);
    const upstreams: BenchUpstream[] = config.upstreams.map((u, i) => ({
      name: u.name,
      kind: u.kind,
      url: `http://127.0.0.1:${ports[i]}`,
      token: ((u as { tokens?: string[] }).tokens ?? [])[0] ?? '',
    }));
    for (const u of upstreams) opts.log?.(`mock ${u.name} (${u.kind}) ${u.url}`);

    const relays: RelayTarget[] = opts.targets.map((t) => ({ name: t.name, url: t.url.replace(/\/$/, ''), key: t.key ?? BENCH_RELAY_KEY }));
    if (relays.length === 0 && config.relay) {
      const port = await freePort();
      const relayFile = join(opts.workDir, 'relay.yaml');
      writeFileSync(relayFile, stringify(relayConfigFor(config, upstreams)));
      const service = await startService({
        name: 'relay',
        script: relayScript(),
        args: ['--config', relayFile, '--port', String(port), '--host', '127.0.0.1', '--log-level', 'warn'],
        // In-memory state: a benchmark measures the relay, not whichever Redis/MySQL the shell points at.
        env: { REDIS_URL: '', MYSQL_URL: '', RELAY_LOG_LEVEL: 'warn' },
        nodeFlags: opts.relayNodeFlags,
        ports: [port],
      });
      services.push(service);
      const url = `http://127.0.0.1:${port}`;
      if (opts.relayDelayMs === undefined) {
        relays.push({ name: 'relay', url, key: BENCH_RELAY_KEY, pid: service.pid });
        opts.log?.(`relay ${url}`);
      } else {
        const delays = Array.isArray(opts.relayDelayMs) ? opts.relayDelayMs : [opts.relayDelayMs];
        for (const delay of delays) {
          const proxyPort = await freePort();
          services.push(
            await startService({
              name: `delayed-proxy-${delay}`,
              script: 'bench/delayed-proxy.ts',
              args: ['--port', String(proxyPort), '--target', url, '--delay', String(delay)],
              ports: [proxyPort],
            }),
          );
          const name = delays.length > 1 ? `relay+${delay}ms` : 'relay';
          relays.push({ name, url: `http://127.0.0.1:${proxyPort}`, key: BENCH_RELAY_KEY, pid: service.pid });
          opts.log?.(`${name} http://127.0.0.1:${proxyPort} -> relay ${url} behind a ${delay} ms delay proxy`);
        }
      }
    }
    return { bare, mocks: { upstreams, service: mocksService, controlUrl: upstreams[0].url }, relays, services, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
