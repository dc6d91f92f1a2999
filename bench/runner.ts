/**
 * Runs one benchmark: starts the stack, then for each round and phase runs every target with a
 * warm-up before each measured run. Targets take turns in a rotating order (round 1: direct,
 * relay; round 2: relay, direct; ...), so slow drift on a shared machine hits both sides alike.
 */
import { performance } from 'node:perf_hooks';
import { runClosedLoad } from './closed-load.js';
import { expandPhases, type BenchConfig, type PhaseInstance, type TargetKind } from './config.js';
import { captureEnvironment, finishEnvironment } from './environment.js';
import { encodeHistogram, summarize } from './histogram.js';
import type { LoadRunResult } from './load-result.js';
import { runOpenLoad } from './open-load.js';
import { buildRequest, REQUEST_SHAPES, TERMINAL_MARKERS, type HttpRequestSpec } from './requests.js';
import { sampleProcess, type ResourceSample } from './resources.js';
import { probeWindow, type ProbeReading } from './probe.js';
import { cpuPerRequestRows, deriveMetrics, evaluateChecks, RESULT_SCHEMA, runMetrics, targetLabel, type BenchResult, type RunRecord, type TargetInfo, type Variant } from './results.js';
import { startStack, type RelaySpec, type RunningStack } from './stack.js';
import type { StreamRunResult } from './stream-client.js';
import { StreamLoadWorker } from './stream-worker.js';
import { MockControlClient } from '../mocks/control-client.js';

export interface RunOptions {
  config: BenchConfig;
  /** Where generated mocks/relay configs go. */
  workDir: string;
  rounds?: number;
  durationMs?: number;
  warmupMs?: number;
  /** Relays run by someone else (`--target name=url`); replaces the reference relay. */
  targets?: Array<{ name: string; url: string; key?: string }>;
  mocksPort?: number;
  relayDelayMs?: number | number[];
  relayNodeFlags?: string[];
  /** Reference relays to start instead of the config's `relay_variants` (two releases side by side). */
  relaySpecs?: RelaySpec[];
  /** Progress: phase label and overall fraction 0..1. */
  onProgress?: (label: string, fraction: number) => void;
  log?: (line: string) => void;
}

interface ResolvedTarget {
  name: string;
  kind: TargetKind;
  origin: string;
  credential: string;
  pid?: number;
  /** What the target stands for in the figures: the relay as shipped or quiet, the ceiling, the baseline. */
  variant?: Variant;
  /** The loop/GC probe's file, when the target's process runs with bench/loop-probe.mjs. */
  probeFile?: string;
}

function targetsFor(instance: PhaseInstance, stack: RunningStack): ResolvedTarget[] {
  const out: ResolvedTarget[] = [];
  const shape = REQUEST_SHAPES[instance.request];
  for (const kind of instance.phase.targets) {
    if (kind === 'bare') out.push({ name: 'bare', kind, origin: stack.bare!.url, credential: 'bare', variant: 'floor' });
    else if (kind === 'proxy') out.push({ name: 'proxy', kind, origin: stack.proxy!.url, credential: 'proxy', pid: stack.proxy!.service.pid, variant: 'ceiling', probeFile: stack.proxy!.probeFile });
    else if (kind === 'twin') out.push({ name: 'twin', kind, origin: stack.twin!.url, credential: 'proxy', pid: stack.twin!.service.pid, variant: 'ceiling twin', probeFile: stack.twin!.probeFile });
    else if (kind === 'direct') {
      // The direct baseline calls a healthy upstream: faults are what the relay must absorb.
      const faulted = new Set(instance.phase.faults.filter((f) => f.rules.length > 0).map((f) => f.upstream));
      const candidates = stack.upstreams.filter((u) => u.kind === shape.upstreamKind);
      const up = candidates.find((u) => !faulted.has(u.name)) ?? candidates[0];
      if (!up) throw new Error(`phase ${instance.id}: no upstream of kind ${shape.upstreamKind} for direct ${instance.request} requests`);
      out.push({ name: 'direct', kind, origin: up.url, credential: up.token, variant: 'baseline' });
    } else {
      for (const r of stack.relays) {
        const variant = r.variant === 'shipped' ? 'as shipped' : r.variant;
        out.push({ name: r.name, kind, origin: r.url, credential: r.key, pid: r.pid, variant, probeFile: r.probeFile });
      }
    }
  }
  return out;
}

/**
 * The process that answers this target's requests, or feeds the relay or proxy that does: the
 * bare server in a bare run or when it stands in for the upstreams, else the mock. Both answer the
 * mock's `/__mock/stats` route with how late their paced writes left.
 */
function upstreamOf(stack: RunningStack, target: ResolvedTarget): { name: 'bare' | 'mock'; url: string; pid: number } {
  if (target.kind === 'bare' || !stack.mocks) return { name: 'bare', url: stack.bare!.url, pid: stack.bare!.service.pid };
  return { name: 'mock', url: stack.mocks.controlUrl, pid: stack.mocks.service.pid };
}

async function control(stack: RunningStack, method: string, path: string, body?: unknown): Promise<unknown> {
  if (!stack.mocks) throw new Error(`mock control ${method} ${path}: this benchmark runs without mocks (upstream: bare)`);
  const res = await fetch(`${stack.mocks.controlUrl}/__mock${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`mock control ${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

async function upstreamCounts(stack: RunningStack): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const u of stack.mocks?.upstreams ?? []) {
    const entries = (await control(stack, 'GET', `/journal?upstream=${encodeURIComponent(u.name)}`)) as unknown[];
    counts[u.name] = entries.length;
  }
  return counts;
}

/** Runs one load against one target (a warm-up run and a measured run are the same load). */
async function runLoad(
  instance: PhaseInstance,
  target: ResolvedTarget,
  request: HttpRequestSpec,
  durationMs: number,
  onFraction: (f: number) => void,
  streamWorker: () => StreamLoadWorker,
): Promise<LoadRunResult | StreamRunResult> {
  const phase = instance.phase;
  switch (instance.load) {
    case 'closed':
      return runClosedLoad({ origin: target.origin, request, connections: instance.connections!, durationMs, onProgress: onFraction });
    case 'open':
      return runOpenLoad({ origin: target.origin, request, rate: instance.rate!, durationMs, maxConnections: phase.max_connections, onProgress: onFraction });
    case 'stream': {
      // The warm-up runs as many streams as the round: a relay in steady state holds that many
      // keep-alive connections to its upstream, and a warm-up of a tenth left the measured round
      // opening the other nine tenths (undici clients, sockets, handshakes) under full load,
      // which is a cold start, not the relay's per-stream cost.
      // In a worker thread: a collection of this thread's heap (the closed phases' garbage) must
      // not pause the client in the middle of a round. The same worker for warm-up and round.
      const streams = phase.streams!;
      return streamWorker().run({
        origin: target.origin,
        request,
        streams,
        rampMs: phase.ramp,
        stallMs: phase.stall,
        terminalMarkers: TERMINAL_MARKERS[REQUEST_SHAPES[instance.request].protocol],
        contentProtocol: REQUEST_SHAPES[instance.request].protocol,
        onProgress: onFraction,
      });
    }
  }
}

function toRecord(instance: PhaseInstance, target: ResolvedTarget, baseline: string, ceiling: string | undefined, round: number, r: LoadRunResult | StreamRunResult): RunRecord {
  const rec: RunRecord = {
    phase: instance.id,
    phaseName: instance.phase.name,
    target: target.name,
    kind: target.kind,
    variant: target.variant,
    baseline,
    ceiling: target.kind === 'relay' || target.kind === 'twin' ? ceiling : undefined,
    round,
    load: instance.load,
    request: instance.request,
    connections: instance.connections,
    rate: instance.rate,
    durationMs: r.durationMs,
    ok: r.ok,
    errors: r.errors,
    statusCounts: r.statusCounts,
    rps: r.ok / (r.durationMs / 1000),
    latency: summarize(r.latency),
    histogram: encodeHistogram(r.latency),
    serviceLatency: r.serviceLatency ? summarize(r.serviceLatency) : undefined,
    timeline: r.timeline,
  };
  if ('stream' in r) {
    const s = r.stream;
    rec.stream = {
      streams: s.streams,
      completed: s.completed,
      incomplete: s.incomplete,
      stalls: s.stalls,
      startTimeouts: s.startTimeouts,
      events: s.events,
      eventsPerSecond: s.eventsPerSecond,
      ttfb: summarize(s.ttfb),
      firstEvent: summarize(s.firstEvent),
      firstContent: summarize(s.firstContent),
      gap: summarize(s.gap),
      total: summarize(s.total),
      histograms: { ttfb: encodeHistogram(s.ttfb), firstEvent: encodeHistogram(s.firstEvent), firstContent: encodeHistogram(s.firstContent), gap: encodeHistogram(s.gap), total: encodeHistogram(s.total) },
      eventsTimeline: s.eventsTimeline,
      expectedGapMs: instance.phase.expected_gap,
      clientDelayMs: s.loopDelay,
    };
  }
  return rec;
}

function durationOf(r: RunRecord, opts: RunOptions, config: BenchConfig): number {
  const phase = config.phases.find((p) => p.name === r.phaseName);
  return opts.durationMs ?? phase?.duration ?? config.duration;
}

function meanCpu(samples: readonly ResourceSample[]): number {
  const xs = samples.slice(1);
  return xs.length ? xs.reduce((s, x) => s + x.cpuPct, 0) / xs.length : 0;
}

/** Estimated cost of one phase run in progress units (ms of load, warm-up included). */
function phaseCost(instance: PhaseInstance, durationMs: number, warmupMs: number): number {
  return instance.load === 'stream' ? 2 * durationMs : durationMs + warmupMs;
}

export async function runBenchmark(opts: RunOptions): Promise<BenchResult> {
  const config = opts.config;
  const rounds = opts.rounds ?? config.rounds;
  const startedAt = new Date().toISOString();
  const environment = captureEnvironment();
  const instances = expandPhases(config.phases);
  const needBare = instances.some((i) => i.phase.targets.includes('bare'));
  const needProxy = instances.some((i) => i.phase.targets.includes('proxy'));
  const needTwin = instances.some((i) => i.phase.targets.includes('twin'));
  const stack = await startStack(config, {
    workDir: opts.workDir,
    needBare,
    needProxy,
    needTwin,
    relaySpecs: opts.relaySpecs,
    targets: opts.targets ?? [],
    mocksPort: opts.mocksPort,
    relayDelayMs: opts.relayDelayMs,
    relayNodeFlags: opts.relayNodeFlags,
    log: opts.log,
  });
  const notes: string[] = [];
  const runs: RunRecord[] = [];
  const targetInfo = new Map<string, TargetInfo>();
  let worker: StreamLoadWorker | undefined;
  const streamWorker = () => (worker ??= new StreamLoadWorker());
  try {
    if (stack.relays.length === 0 && instances.some((i) => i.phase.targets.includes('relay'))) {
      throw new Error(`benchmark ${config.name} has relay targets but no relay (relay: false and no --target)`);
    }
    const costs = instances.map((i) => {
      const d = opts.durationMs ?? i.phase.duration ?? config.duration;
      const w = opts.warmupMs ?? i.phase.warmup ?? config.warmup;
      return phaseCost(i, d, w) * targetsFor(i, stack).length;
    });
    const totalCost = costs.reduce((a, b) => a + b, 0) * rounds;
    let doneCost = 0;

    for (let round = 0; round < rounds; round++) {
      for (const [idx, instance] of instances.entries()) {
        const durationMs = opts.durationMs ?? instance.phase.duration ?? config.duration;
        const baseWarmupMs = opts.warmupMs ?? instance.phase.warmup ?? config.warmup;
        // The first round also warms freshly started processes (JIT, pools, the delay proxy):
        // with the normal warm-up its measured runs came out several times slower than the rest.
        const warmupMs = round === 0 && baseWarmupMs > 0 ? Math.max(3 * baseWarmupMs, 2000) : baseWarmupMs;
        const targets = targetsFor(instance, stack);
        const baseline = targets[0].name;
        const ceiling = targets.find((t) => t.kind === 'proxy')?.name;
        for (const t of targets) targetInfo.set(t.name, { name: t.name, kind: t.kind, variant: t.variant, url: t.origin });
        // Rotate the order each round; the baseline keeps its role whatever its turn.
        const order = targets.map((_, i) => targets[(i + round) % targets.length]);
        const unit = costs[idx] / targets.length;
        const hasFaults = instance.phase.faults.length > 0;
        for (const f of instance.phase.faults) await control(stack, 'PUT', `/upstreams/${encodeURIComponent(f.upstream)}/rules`, f.rules);
        // One request per target, for its warm-up and its measured run alike.
        const requests = new Map(targets.map((t) => [t, buildRequest(instance.request, { credential: t.credential, maxTokens: instance.phase.max_tokens })]));
        const measure = async (target: ResolvedTarget, progress: (part: number, weight: number) => (f: number) => void): Promise<RunRecord> => {
          const request = requests.get(target)!;
          const every = Math.max(100, Math.min(1000, durationMs / 20));
          const sampler = target.pid ? sampleProcess(target.pid, every) : undefined;
          // The mock and this process are sampled too: a run where either sits near 100% of a
          // core measured the load generator or the mock, not the relay.
          const upstream = upstreamOf(stack, target);
          const upstreamSampler = sampleProcess(upstream.pid, every);
          const scheduler = new MockControlClient(upstream.url);
          if (instance.load === 'stream') await scheduler.resetStats();
          const closeProbe = target.pid && target.probeFile ? await probeWindow(target.pid, target.probeFile) : undefined;
          const cpu0 = process.cpuUsage();
          const t0 = performance.now();
          const startedAtMs = Date.now();
          let result: LoadRunResult | StreamRunResult;
          try {
            result = await runLoad(instance, target, request, durationMs, progress(warmWeight, 1 - warmWeight), streamWorker);
          } catch (err) {
            upstreamSampler.stop();
            sampler?.stop();
            throw err;
          }
          const cpu = process.cpuUsage(cpu0);
          const probe = await closeProbe?.();
          const record = toRecord(instance, target, baseline, ceiling, round, result);
          record.startedAtMs = startedAtMs;
          if (probe) record.probe = probe;
          record.clientCpuPct = ((cpu.user + cpu.system) / 1000 / (performance.now() - t0)) * 100;
          if (upstream.name === 'bare') record.bareCpuPct = meanCpu(upstreamSampler.stop());
          else {
            // The mock's memory over the run too: agent-sized bodies are journaled there.
            record.mockResources = upstreamSampler.stop();
            record.mockCpuPct = meanCpu(record.mockResources);
          }
          if (record.stream) record.stream.upstreamLateMs = (await scheduler.stats()).latenessMs;
          if (sampler) record.resources = sampler.stop();
          return record;
        };
        const warm = (target: ResolvedTarget, progress: (part: number, weight: number) => (f: number) => void) => {
          const request = requests.get(target)!;
          if (warmupMs > 0 || instance.load === 'stream') return runLoad(instance, target, request, warmupMs, progress(0, warmWeight), streamWorker);
        };
        const warmWeight = instance.load === 'stream' ? 0.5 : warmupMs / (durationMs + warmupMs);
        const label = (target: ResolvedTarget) => `${instance.id} ${targetLabel(target.name, target.variant)} round ${round + 1}/${rounds}`;
        try {
          if (instance.phase.side_by_side) {
            // Every target at once, each at the full rate: one window for all (see side_by_side).
            const base = doneCost;
            const all = `${instance.id} ${order.map((t) => targetLabel(t.name, t.variant)).join(' + ')} side by side, round ${round + 1}/${rounds}`;
            const progress = (part: number, weight: number) => (f: number) => opts.onProgress?.(all, (base + unit * targets.length * (part + weight * f)) / totalCost);
            await Promise.all(order.map((t, i) => warm(t, i === 0 ? progress : () => () => undefined)));
            if (hasFaults) await control(stack, 'DELETE', '/journal');
            const t0 = performance.now();
            const records = await Promise.all(order.map((t, i) => measure(t, i === 0 ? progress : () => () => undefined)));
            const elapsed = Math.round(performance.now() - t0);
            const counts = hasFaults ? await upstreamCounts(stack) : undefined;
            for (const [i, record] of records.entries()) {
              if (counts) record.upstreamCounts = counts;
              record.sideBySide = true;
              runs.push(record);
              opts.log?.(`${label(order[i])} (side by side): ${summaryLine(record)} (${elapsed} ms)`);
            }
            doneCost += unit * targets.length;
          } else {
            for (const target of order) {
              const base = doneCost;
              const progress = (part: number, weight: number) => (f: number) => opts.onProgress?.(label(target), (base + unit * (part + weight * f)) / totalCost);
              await warm(target, progress);
              if (hasFaults) await control(stack, 'DELETE', '/journal');
              const t0 = performance.now();
              const record = await measure(target, progress);
              if (hasFaults) record.upstreamCounts = await upstreamCounts(stack);
              runs.push(record);
              doneCost += unit;
              opts.log?.(`${label(target)}: ${summaryLine(record)} (${Math.round(performance.now() - t0)} ms)`);
            }
          }
        } finally {
          for (const f of instance.phase.faults) await control(stack, 'DELETE', `/upstreams/${encodeURIComponent(f.upstream)}/rules`);
        }
      }
    }
  } finally {
    await worker?.close();
    await stack.stop();
  }
  const metrics = deriveMetrics(runs);
  const relayNames = stack.relays.map((r) => r.name);
  const checks = evaluateChecks(config.checks, metrics, relayNames, new Map([...targetInfo.values()].map((t) => [t.name, t.variant])));
  for (const r of runs) {
    // An open-model run that could not keep up measured its own queue: say so next to the figures.
    if (r.load === 'open' && r.rate && r.ok < 0.9 * r.rate * (durationOf(r, opts, config) / 1000)) {
      notes.push(`${r.phase} ${r.target} round ${r.round + 1}: ${Math.round(r.ok / (durationOf(r, opts, config) / 1000))} of ${r.rate} req/s completed (saturated); its latency is mostly queueing`);
    }
  }
  const env = finishEnvironment(environment);
  const targets = [...targetInfo.values()];
  if (env.loadAverage.start > env.cores * 0.5) notes.push(`machine busy at start: load average ${env.loadAverage.start.toFixed(2)} on ${env.cores} cores; compare ratios, not absolute figures`);
  return {
    schema: RESULT_SCHEMA,
    benchmark: config.name,
    description: config.description,
    startedAt,
    finishedAt: new Date().toISOString(),
    environment: env,
    config: { ...config, rounds, durationMs: opts.durationMs, warmupMs: opts.warmupMs, targets: opts.targets?.map((t) => ({ name: t.name, url: t.url })), relayDelayMs: opts.relayDelayMs },
    targets,
    runs,
    metrics,
    checks,
    cpuPerRequest: cpuPerRequestRows(metrics, targets),
    thresholds: config.thresholds,
    notes,
  };
}

export function summaryLine(r: RunRecord): string {
  const relayCpu = r.resources && r.resources.length > 1 ? ` ${r.target} ${Math.round(meanCpu(r.resources))}%` : '';
  // The process that answered (or fed the relay): the bare server in a bare run or standing in for the upstreams, else the mock.
  const upstream = r.bareCpuPct !== undefined ? 'bare' : 'mock';
  const cpu = ` [cpu: load ${Math.round(r.clientCpuPct ?? 0)}% ${upstream} ${Math.round((upstream === 'bare' ? r.bareCpuPct : r.mockCpuPct) ?? 0)}%${relayCpu}]`;
  const probe = r.probe ? ` [${probeLine(r.probe, r.durationMs)}]` : '';
  if (r.stream) {
    const s = r.stream;
    const who = [s.upstreamLateMs ? `${upstream} late p99 ${s.upstreamLateMs.p99} ms` : '', s.clientDelayMs ? `client loop delay p99 ${s.clientDelayMs.p99} ms` : ''].filter(Boolean);
    const late = who.length ? ` (${who.join(', ')})` : '';
    const content = s.firstContent ? `first content p50 ${s.firstContent.p50.toFixed(2)} ms (first event ${s.firstEvent.p50.toFixed(2)})` : `first event p50 ${s.firstEvent.p50.toFixed(2)} ms`;
    return `${s.completed}/${s.streams} streams, ${content}, gap p99 ${s.gap.p99.toFixed(2)} ms${late}, ${Math.round(s.eventsPerSecond)} events/s, ${s.stalls} stalls, ${s.startTimeouts} without a first event in time${cpu}${probe}`;
  }
  const perReq = runMetrics(r).cpu_ms_per_req;
  const cpuPerReq = perReq === undefined ? '' : `, ${Math.round(perReq * 1000)} µs CPU/req`;
  return `${Math.round(r.rps)} req/s, p50 ${r.latency.p50.toFixed(2)} ms, p99 ${r.latency.p99.toFixed(2)} ms, ${r.errors} errors${cpuPerReq}${cpu}${probe}`;
}

/** The probed process's own pauses during a run: its event loop, its collections, its wait for a CPU. */
export function probeLine(p: ProbeReading, durationMs: number): string {
  const kinds = Object.entries(p.gc.byKind)
    .filter(([, k]) => k.count > 0)
    .map(([kind, k]) => `${kind} ${k.count}x max ${k.maxMs.toFixed(1)}`)
    .join(', ');
  const wait = p.runQueueWaitMs === undefined ? '' : `; waited for a CPU ${((p.runQueueWaitMs / durationMs) * 100).toFixed(0)}% of the run`;
  return `loop late p99 ${p.loopDelayMs.p99.toFixed(1)} max ${p.loopDelayMs.max.toFixed(1)} ms; gc ${((p.gc.totalMs / durationMs) * 100).toFixed(1)}% of the run${kinds ? ` (${kinds} ms)` : ''}${wait}`;
}
