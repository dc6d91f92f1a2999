/**
 * Starts what a benchmark measures, each in its own process on a fixed free port: the bare
 * node:http server, one mocks process with the benchmark's upstreams (unless the bare server
 * stands in for them), the bare undici proxy (the ceiling for a relay), and the reference relays
 * wired to those upstreams (or nothing, when --target names relays run by someone else).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { upstreamConfigSchema } from '../mocks/config.js';
import type { BarePacing } from './bare-server.js';
import type { BenchConfig } from './config.js';
import { freePort, ROOT, startService, type RunningService } from './processes.js';
import { probeFor } from './probe.js';

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
  /** How the reference relay runs (absent for a relay run by someone else). */
  variant?: RelaySpec['variant'];
  /** The loop/GC probe's file (bench/loop-probe.mjs), when this process started the relay with it. */
  probeFile?: string;
}

export interface ProxyService {
  url: string;
  service: RunningService;
  probeFile: string;
}

export interface RunningStack {
  /** The bare node:http server: a `bare` target, or the upstream of everything when `upstream: bare`. */
  bare?: { url: string; service: RunningService };
  /** The mock upstreams (absent when the bare server stands in for them). */
  mocks?: { upstreams: BenchUpstream[]; service: RunningService; controlUrl: string };
  /** What the relay, the proxy and `direct` call: the mocks, or the bare server under each upstream's name. */
  upstreams: BenchUpstream[];
  /** The bare undici proxy in front of the same upstreams: the ceiling for a relay. */
  proxy?: ProxyService;
  /** A second process of the same proxy: the ceiling measured against itself. */
  twin?: ProxyService;
  relays: RelayTarget[];
  services: RunningService[];
  stop(): Promise<void>;
}

/** A reference relay this benchmark starts: how it runs and from which checkout. */
export interface RelaySpec {
  /** Column name in reports (`relay`, `relay-quiet`, `base`, `head`). */
  name: string;
  variant: 'shipped' | 'quiet';
  /** The checkout it runs from (default: this one). */
  root?: string;
}

export interface StackOptions {
  /** Folder for the generated mocks / relay YAML files, the relays' data dirs and logs. */
  workDir: string;
  needBare: boolean;
  needProxy?: boolean;
  /** A second bare proxy (`twin` targets). */
  needTwin?: boolean;
  /** External relays; when empty and config.relay is true, the reference relay starts. */
  targets: Array<{ name: string; url: string; key?: string }>;
  /** Reference relays to start instead of the config's `relay_variants` (e.g. two releases). */
  relaySpecs?: RelaySpec[];
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

/** The relays a benchmark starts when nothing else is asked for: one per `relay_variants` entry. */
export function relaySpecsFor(config: BenchConfig): RelaySpec[] {
  return config.relay_variants.map((variant) => ({ name: variant === 'shipped' ? 'relay' : `relay-${variant}`, variant }));
}

/**
 * The relay's options as a user starts it (`relayLaunch` says with what): the access log at its default level (info) on stderr, request records in a data dir (as
 * the Docker image sets RELAY_DATA_DIR), metrics always on. `quiet` only lowers the log level.
 */
export function relayArgs(spec: RelaySpec, configFile: string, port: number, dataDir: string): string[] {
  const args = ['--config', configFile, '--port', String(port), '--host', '127.0.0.1', '--data-dir', dataDir];
  if (spec.variant === 'quiet') args.push('--log-level', 'warn');
  return args;
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

/**
 * How a checkout's reference relay starts as its users run it: from the production build where the
 * checkout has one (`pnpm build` first, then `node relay/launch.mjs --prod`, what `pnpm relay
 * --prod` runs: the compiled relay on plain node); a checkout from before the build (an older
 * release as `--base-ref`) runs relay/cli.ts under tsx, as its `pnpm relay` did; a copy without
 * the relay's CLI, the bench wrapper around startRelay. BENCH_RELAY_SCRIPT names another entry
 * point (run under tsx). The build runs with the node flags of the checkout's own `relay` script
 * (`exec node --min-semi-space-size=16 relay/launch.mjs`: `nodeFlags`), so each release is
 * measured with the flags its users get.
 */
export function relayLaunch(root = ROOT): { kind: 'build' | 'tsx'; entry: string; nodeFlags: string[] } {
  if (process.env.BENCH_RELAY_SCRIPT) return { kind: 'tsx', entry: process.env.BENCH_RELAY_SCRIPT, nodeFlags: [] };
  const scripts = packageScripts(root);
  if (existsSync(join(root, 'relay', 'launch.mjs')) && scripts.build) return { kind: 'build', entry: 'relay/launch.mjs', nodeFlags: launcherNodeFlags(scripts.relay) };
  return { kind: 'tsx', entry: existsSync(join(root, 'relay', 'cli.ts')) ? 'relay/cli.ts' : 'bench/relay-process.ts', nodeFlags: [] };
}

function packageScripts(root: string): Record<string, string> {
  if (!existsSync(join(root, 'package.json'))) return {};
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }).scripts ?? {};
}

/** The flags between `node` and `relay/launch.mjs` in a `relay` script (`exec node --a --b relay/launch.mjs`). */
export function launcherNodeFlags(script: string | undefined): string[] {
  const m = /\bnode((?:\s+--\S+)*)\s+relay\/launch\.mjs\b/.exec(script ?? '');
  return m ? m[1].trim().split(/\s+/).filter(Boolean) : [];
}

/** Builds a checkout's relay (`pnpm build`): the benchmark measures the tree as it is, uncommitted changes included. */
export function buildRelay(root: string, log?: (line: string) => void): void {
  const t0 = Date.now();
  try {
    execFileSync('pnpm', ['run', '--silent', 'build'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`pnpm build in ${root} failed: ${e.stderr?.toString().trim() || e.message}`);
  }
  log?.(`built the relay in ${root} (pnpm build, ${Date.now() - t0} ms)`);
}

export async function startStack(config: BenchConfig, opts: StackOptions): Promise<RunningStack> {
  mkdirSync(opts.workDir, { recursive: true });
  const services: RunningService[] = [];
  const stopAll = async () => {
    for (const s of services.reverse()) await s.stop();
  };
  try {
    let bare: RunningStack['bare'];
    if (opts.needBare || config.upstream === 'bare') {
      const port = await freePort();
      const pacing = barePacing(config);
      const args = ['--port', String(port), '--ttft', String(pacing.ttft), '--chunk-delay', String(pacing.chunkDelay), '--tokens', String(pacing.tokens)];
      const service = await startService({ name: 'bare', script: 'bench/bare-server.ts', args, ports: [port] });
      services.push(service);
      bare = { url: `http://127.0.0.1:${port}`, service };
    }

    const tokenOf = (u: BenchConfig['upstreams'][number]) => ((u as { tokens?: string[] }).tokens ?? [])[0] ?? '';
    let mocks: RunningStack['mocks'];
    let upstreams: BenchUpstream[];
    if (config.upstream === 'bare') {
      upstreams = config.upstreams.map((u) => ({ name: u.name, kind: u.kind, url: bare!.url, token: tokenOf(u) }));
      opts.log?.(`bare server ${bare!.url} answers for ${upstreams.map((u) => u.name).join(', ')}`);
    } else {
      const ports: number[] = [];
      for (let i = 0; i < config.upstreams.length; i++) ports.push(opts.mocksPort ? opts.mocksPort + i : await freePort());
      const upstreamFiles = config.upstreams.map((u, i) => ({ ...u, port: ports[i] }));
      const mocksFile = join(opts.workDir, 'mocks.yaml');
      writeFileSync(mocksFile, stringify({ upstreams: upstreamFiles }));
      const mocksService = await startService({ name: 'mocks', script: 'mocks/cli.ts', args: ['--config', mocksFile], ports });
      services.push(mocksService);
      upstreams = config.upstreams.map((u, i) => ({ name: u.name, kind: u.kind, url: `http://127.0.0.1:${ports[i]}`, token: tokenOf(u) }));
      mocks = { upstreams, service: mocksService, controlUrl: upstreams[0].url };
      for (const u of upstreams) opts.log?.(`mock ${u.name} (${u.kind}) ${u.url}`);
    }

    const startProxy = async (name: 'proxy' | 'twin'): Promise<ProxyService> => {
      const port = await freePort();
      const openai = upstreams.find((u) => u.kind === 'openai') ?? upstreams[0];
      const claude = upstreams.find((u) => u.kind === 'claude');
      const args = ['--port', String(port), '--openai', openai.url, '--openai-token', openai.token];
      if (claude) args.push('--claude', claude.url, '--claude-token', claude.token);
      const probe = probeFor(opts.workDir, name);
      const service = await startService({ name, script: 'bench/bare-proxy.ts', args, ports: [port], nodeFlags: probe.nodeFlags, env: probe.env });
      services.push(service);
      return { url: `http://127.0.0.1:${port}`, service, probeFile: probe.file };
    };
    let proxy: ProxyService | undefined;
    let twin: ProxyService | undefined;
    if (opts.needProxy || opts.needTwin) {
      proxy = await startProxy('proxy');
      opts.log?.(`bare undici proxy (the ceiling) ${proxy.url}`);
    }
    if (opts.needTwin) {
      twin = await startProxy('twin');
      opts.log?.(`its twin (the same proxy, a second process: the ceiling against itself) ${twin.url}`);
    }

    const relays: RelayTarget[] = opts.targets.map((t) => ({ name: t.name, url: t.url.replace(/\/$/, ''), key: t.key ?? BENCH_RELAY_KEY }));
    if (relays.length === 0 && config.relay) {
      const relayFile = join(opts.workDir, 'relay.yaml');
      writeFileSync(relayFile, stringify(relayConfigFor(config, upstreams)));
      const specs = opts.relaySpecs ?? relaySpecsFor(config);
      for (const root of new Set(specs.map((s) => s.root ?? ROOT))) if (relayLaunch(root).kind === 'build') buildRelay(root, opts.log);
      for (const [i, spec] of specs.entries()) {
        const port = await freePort();
        const root = spec.root ?? ROOT;
        const launch = relayLaunch(root);
        const dataDir = join(opts.workDir, `${spec.name}-data`);
        const probe = probeFor(opts.workDir, spec.name);
        const nodeFlags = [...(opts.relayNodeFlags ?? []), ...probe.nodeFlags];
        const args = relayArgs(spec, relayFile, port, dataDir);
        const service = await startService({
          name: spec.name,
          ...(launch.kind === 'build'
            ? { command: [process.execPath, ...launch.nodeFlags, ...nodeFlags, join(root, launch.entry), '--prod', ...args] as [string, ...string[]] }
            : { script: launch.entry, nodeFlags, args }),
          cwd: root,
          // In-memory live state and the embedded record store in dataDir: a benchmark measures
          // the relay, not whichever Redis/MySQL the shell points at. The log level is the CLI's
          // default unless the variant sets one, whatever the shell exports.
          // RELAY_ADMIN_PORT=0: the admin listener on a free port, as several relays of one run
          // must not share 8081 (an environment variable, which a release before it ignores).
          env: { REDIS_URL: '', MYSQL_URL: '', RELAY_LOG_LEVEL: 'info', RELAY_DATA_DIR: dataDir, RELAY_ADMIN_PORT: '0', ...probe.env },
          outputFile: join(opts.workDir, `${spec.name}.log`),
          ports: [port],
        });
        services.push(service);
        const url = `http://127.0.0.1:${port}`;
        // The injected-delay proxies sit in front of the first relay only.
        if (opts.relayDelayMs === undefined || i > 0) {
          relays.push({ name: spec.name, url, key: BENCH_RELAY_KEY, pid: service.pid, variant: spec.variant, probeFile: probe.file });
          const how = launch.kind === 'build' ? 'production build' : `${launch.entry} under tsx`;
          opts.log?.(`${spec.name} (${spec.variant}, ${how}${spec.root ? `, from ${spec.root}` : ''}) ${url}, output in ${spec.name}.log`);
          continue;
        }
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
          const name = delays.length > 1 ? `${spec.name}+${delay}ms` : spec.name;
          relays.push({ name, url: `http://127.0.0.1:${proxyPort}`, key: BENCH_RELAY_KEY, pid: service.pid, variant: spec.variant, probeFile: probe.file });
          opts.log?.(`${name} http://127.0.0.1:${proxyPort} -> ${spec.name} ${url} behind a ${delay} ms delay proxy`);
        }
      }
    }
    return { bare, mocks, upstreams, proxy, twin, relays, services, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
