/**
 * The JSON result of a benchmark run and everything computed from it: per-round metrics (what
 * bench:compare tests), relay-vs-baseline metrics, the target checks, and the export in
 * the shape github-action-benchmark reads. Pure functions over plain data.
 */
import type { TargetKind } from './config.js';
import type { BenchEnvironment } from './environment.js';
import type { LatencySummary } from './histogram.js';
import type { TimelinePoint } from './load-result.js';
import type { ProbeReading } from './probe.js';
import { rssGrowthPct, type ResourceSample } from './resources.js';
import { mean, median, type Better } from './stats.js';

export const RESULT_SCHEMA = 'relaylab.bench/v1';

/**
 * What a target stands for in the figures: the reference relay as shipped (`pnpm relay`
 * defaults: access log at info, request records, metrics) or quiet (log at warn), the ceiling
 * (the bare undici proxy), its twin (a second process of that proxy: the ceiling against itself),
 * the baseline (the upstream called directly) or the floor (the bare server, for the mock).
 * Relays run by someone else have none.
 */
export type Variant = 'as shipped' | 'quiet' | 'ceiling' | 'ceiling twin' | 'baseline' | 'floor';

/** A target's name with what it stands for, as summary lines and reports show it: `relay (as shipped)`. */
export function targetLabel(name: string, variant: Variant | undefined): string {
  return variant && variant !== name ? `${name} (${variant})` : name;
}

export interface StreamRecord {
  streams: number;
  completed: number;
  incomplete: number;
  stalls: number;
  /** Streams with no first event within the stall window (older results: absent). */
  startTimeouts?: number;
  events: number;
  eventsPerSecond: number;
  ttfb: LatencySummary;
  firstEvent: LatencySummary;
  /**
   * From send to the first content event (first-content.ts): the figure streams are judged by,
   * since a relay may hold the start events until the answer begins. Older results: absent (they
   * timed the first event only, which is not the same figure and is not substituted for it).
   */
  firstContent?: LatencySummary;
  gap: LatencySummary;
  total: LatencySummary;
  /** Encoded HdrHistograms (µs), same keys. */
  histograms: { ttfb: string; firstEvent: string; firstContent?: string; gap: string; total: string };
  eventsTimeline: number[];
  expectedGapMs?: number;
  /**
   * How late the upstream's paced writes left during the run, by its own clock
   * (GET /__mock/stats): the mock's in direct and relay runs, the bare server's in bare runs. The
   * share of the gap jitter that is the upstream's, apart from the client's and the relay's.
   */
  upstreamLateMs?: { p50: number; p99: number; max: number };
  /** The same, as results before the bare server streamed called it (the mock's). */
  mockLateMs?: { p50: number; p99: number; max: number };
  /** How late the load client's own event loop ran during the run (older results: absent). */
  clientDelayMs?: { p50: number; p99: number; max: number };
}

export interface RunRecord {
  /** The phase instance, e.g. `closed-chat-c50`. */
  phase: string;
  /** The phase as named in the file, before list expansion (e.g. `closed`). */
  phaseName?: string;
  /** Target name: bare, direct, proxy, relay, relay-quiet, or a --target name. */
  target: string;
  /** What the target is (older results: absent). */
  kind?: TargetKind;
  /** What the target stands for (older results: absent). */
  variant?: Variant;
  /** The phase's baseline target (its first), which relative metrics compare against. */
  baseline: string;
  /** A relay run's ceiling: the bare proxy measured in the same phase and round, when the phase has one. */
  ceiling?: string;
  round: number;
  /** Measured at the same time as the phase's other targets (an open phase with side_by_side), not in turn. */
  sideBySide?: boolean;
  /** When the measured run began (epoch ms; older results: absent). */
  startedAtMs?: number;
  load: 'closed' | 'open' | 'stream';
  request: string;
  connections?: number;
  rate?: number;
  durationMs: number;
  ok: number;
  errors: number;
  statusCounts: Record<string, number>;
  /** Successful responses per second. */
  rps: number;
  latency: LatencySummary;
  /** Encoded HdrHistogram of latency in µs (compressed base64). */
  histogram: string;
  /** Open model: latency from the actual send (no coordinated-omission correction). */
  serviceLatency?: LatencySummary;
  timeline: TimelinePoint[];
  stream?: StreamRecord;
  /** The relay process's RSS/CPU during this run (when this process started the relay). */
  resources?: ResourceSample[];
  /** CPU of the load generator (this process) during the run, % of one core. */
  clientCpuPct?: number;
  /** CPU of the mocks process during the run, % of one core. */
  mockCpuPct?: number;
  /** The mocks process's RSS/CPU during the run (a run against the mocks, not the bare server). */
  mockResources?: ResourceSample[];
  /** CPU of the bare server during a run against it (the mock sits idle then), % of one core. */
  bareCpuPct?: number;
  /** Requests each mock upstream received during this run (journal counts). */
  upstreamCounts?: Record<string, number>;
  /** The target process's event-loop lateness, GC pauses and CPU wait during the run (bench/loop-probe.mjs). */
  probe?: ProbeReading;
}

export interface Metric {
  /** `<phase>/<target>/<metric>`. */
  name: string;
  unit: string;
  better: Better;
  /** One value per measured round, in round order. */
  values: number[];
  mean: number;
  /**
   * The median of the rounds (what checks and summaries report: one wild round does not move it)
   * and the spread (older results: absent; `median(values)` then).
   */
  median?: number;
  min?: number;
  max?: number;
  /** Gated metrics decide bench:compare's exit code; the others are shown for information. */
  gate: boolean;
  /** Default minimum effect (%) for bench:compare. */
  minEffectPct: number;
  /** Default minimum effect in the metric's unit (a change must exceed both). */
  minEffectAbs: number;
}

export interface CheckResult {
  label: string;
  metric: string;
  /** The target the metric is of, and what it stands for (`relay`, as shipped). */
  target?: string;
  variant?: Variant;
  /** The rounds' values: `actual` is their median, or their worst for failures (`judgedBy`). */
  rounds?: number[];
  /** Older results: absent (the median). */
  judgedBy?: 'median' | 'worst round';
  op: '<' | '<=' | '>' | '>=';
  value: number;
  actual: number | null;
  ok: boolean | null;
  /**
   * A ratio to the ceiling: the same metric of the ceiling's twin in the same run (median and
   * rounds), when the phase ran one. Two identical proxies read this far apart, so a relay's figure
   * is told from the ceiling's only by more than that.
   */
  twin?: { actual: number; rounds: number[] };
}

export interface TargetInfo {
  name: string;
  kind: TargetKind;
  variant?: Variant;
  url: string;
}

export interface BenchResult {
  schema: typeof RESULT_SCHEMA;
  benchmark: string;
  description: string;
  startedAt: string;
  finishedAt: string;
  environment: BenchEnvironment;
  /** The benchmark config as run (after CLI overrides) plus the CLI options. */
  config: Record<string, unknown>;
  targets: TargetInfo[];
  runs: RunRecord[];
  metrics: Metric[];
  checks: CheckResult[];
  /** CPU per request of every sampled target (relays and the ceiling) side by side, per non-stream phase. */
  cpuPerRequest?: CpuPerRequestRow[];
  thresholds: Record<string, number>;
  notes: string[];
}

interface MetricDef {
  unit: string;
  better: Better;
  /** Gate bench:compare when the target is not the baseline. */
  gate: boolean;
  minEffectPct: number;
  minEffectAbs?: number;
}

/*
 * What gates a comparison: the metrics RELATIVE to the baseline measured in the same round
 * (throughput ratio, added latency, added time to first event). A busy machine slows the mock
 * and the relay alike, so these survive the noise that makes absolute figures from two runs
 * incomparable on shared cores; the absolute figures are reported for information.
 */
const DEFS: Record<string, MetricDef> = {
  rps: { unit: 'req/s', better: 'bigger', gate: false, minEffectPct: 5 },
  p50_ms: { unit: 'ms', better: 'smaller', gate: false, minEffectPct: 5, minEffectAbs: 0.1 },
  p90_ms: { unit: 'ms', better: 'smaller', gate: false, minEffectPct: 5, minEffectAbs: 0.1 },
  p99_ms: { unit: 'ms', better: 'smaller', gate: false, minEffectPct: 10, minEffectAbs: 0.5 },
  max_ms: { unit: 'ms', better: 'smaller', gate: false, minEffectPct: 25, minEffectAbs: 1 },
  error_pct: { unit: '%', better: 'smaller', gate: true, minEffectPct: 5, minEffectAbs: 0.5 },
  rps_ratio: { unit: 'ratio', better: 'bigger', gate: true, minEffectPct: 5 },
  added_p50_ms: { unit: 'ms', better: 'smaller', gate: true, minEffectPct: 10, minEffectAbs: 0.25 },
  added_p90_ms: { unit: 'ms', better: 'smaller', gate: false, minEffectPct: 10, minEffectAbs: 0.5 },
  added_p99_ms: { unit: 'ms', better: 'smaller', gate: true, minEffectPct: 20, minEffectAbs: 1 },
  added_max_ms: { unit: 'ms', better: 'smaller', gate: false, minEffectPct: 25, minEffectAbs: 2 },
  ttfb_p50_ms: { unit: 'ms', better: 'smaller', gate: false, minEffectPct: 5, minEffectAbs: 0.1 },
  first_event_p50_ms: { unit: 'ms', better: 'smaller', gate: false, minEffectPct: 5, minEffectAbs: 0.1 },
  first_event_p99_ms: { unit: 'ms', better: 'smaller', gate: false, minEffectPct: 10, minEffectAbs: 0.5 },
  gap_p50_ms: { unit: 'ms', better: 'smaller', gate: false, minEffectPct: 5, minEffectAbs: 0.5 },
  gap_p99_ms: { unit: 'ms', better: 'smaller', gate: false, minEffectPct: 10, minEffectAbs: 1 },
  upstream_late_p99_ms: { unit: 'ms', better: 'smaller', gate: false, minEffectPct: 20, minEffectAbs: 1 },
  client_delay_p99_ms: { unit: 'ms', better: 'smaller', gate: false, minEffectPct: 20, minEffectAbs: 1 },
  events_per_s: { unit: 'events/s', better: 'bigger', gate: false, minEffectPct: 5 },
  stalls: { unit: 'count', better: 'smaller', gate: true, minEffectPct: 0, minEffectAbs: 1 },
  start_timeouts: { unit: 'count', better: 'smaller', gate: true, minEffectPct: 0, minEffectAbs: 1 },
  incomplete_pct: { unit: '%', better: 'smaller', gate: true, minEffectPct: 5, minEffectAbs: 0.5 },
  first_content_p50_ms: { unit: 'ms', better: 'smaller', gate: false, minEffectPct: 5, minEffectAbs: 0.1 },
  first_content_p99_ms: { unit: 'ms', better: 'smaller', gate: false, minEffectPct: 10, minEffectAbs: 0.5 },
  // What a stream target adds to the wait for the answer: gated. The added first EVENT is shown
  // only: a relay that holds the start events until the first content (so it can still fail over
  // invisibly) delays its first event by design, and a proxy that forwards them at once does not.
  first_content_added_p50_ms: { unit: 'ms', better: 'smaller', gate: true, minEffectPct: 10, minEffectAbs: 0.25 },
  first_event_added_p50_ms: { unit: 'ms', better: 'smaller', gate: false, minEffectPct: 10, minEffectAbs: 0.25 },
  ttfb_added_p50_ms: { unit: 'ms', better: 'smaller', gate: false, minEffectPct: 10, minEffectAbs: 0.25 },
  gap_added_p99_ms: { unit: 'ms', better: 'smaller', gate: true, minEffectPct: 20, minEffectAbs: 1 },
  rss_max_mb: { unit: 'MB', better: 'smaller', gate: false, minEffectPct: 10, minEffectAbs: 5 },
  rss_growth_pct: { unit: '%', better: 'smaller', gate: false, minEffectPct: 10, minEffectAbs: 2 },
  // The same floor-to-floor growth of RSS less V8's young generation (from the probe, once a
  // second): what a leak raises, without the young generation's resizing (bench/loop-probe.mjs).
  rss_less_young_growth_pct: { unit: '%', better: 'smaller', gate: false, minEffectPct: 10, minEffectAbs: 2 },
  young_max_mb: { unit: 'MB', better: 'smaller', gate: false, minEffectPct: 10, minEffectAbs: 5 },
  mock_rss_max_mb: { unit: 'MB', better: 'smaller', gate: false, minEffectPct: 10, minEffectAbs: 5 },
  mock_rss_growth_pct: { unit: '%', better: 'smaller', gate: false, minEffectPct: 10, minEffectAbs: 2 },
  cpu_mean_pct: { unit: '% of a core', better: 'smaller', gate: false, minEffectPct: 10, minEffectAbs: 5 },
  client_cpu_pct: { unit: '% of a core', better: 'smaller', gate: false, minEffectPct: 10, minEffectAbs: 5 },
  mock_cpu_pct: { unit: '% of a core', better: 'smaller', gate: false, minEffectPct: 10, minEffectAbs: 5 },
  bare_cpu_pct: { unit: '% of a core', better: 'smaller', gate: false, minEffectPct: 10, minEffectAbs: 5 },
  bare_cpu_ms_per_req: { unit: 'ms CPU', better: 'smaller', gate: false, minEffectPct: 10, minEffectAbs: 0.02 },
  // Relative to the ceiling (the bare undici proxy in the same phase and round): what the issue's
  // targets are stated in. Ratios of added latencies divide two small differences, so they swing
  // with noise; only the throughput ratio gates.
  rps_vs_ceiling: { unit: 'ratio', better: 'bigger', gate: true, minEffectPct: 5 },
  added_p50_vs_ceiling: { unit: 'ratio', better: 'smaller', gate: false, minEffectPct: 20 },
  added_p99_vs_ceiling: { unit: 'ratio', better: 'smaller', gate: false, minEffectPct: 20 },
  first_content_added_p50_vs_ceiling: { unit: 'ratio', better: 'smaller', gate: false, minEffectPct: 20 },
  // Older results' name for a ratio of added first events (no longer derived; see above).
  first_event_added_p50_vs_ceiling: { unit: 'ratio', better: 'smaller', gate: false, minEffectPct: 20 },
  gap_added_p99_vs_ceiling: { unit: 'ratio', better: 'smaller', gate: false, minEffectPct: 20 },
  cpu_per_req_vs_ceiling: { unit: 'ratio', better: 'smaller', gate: false, minEffectPct: 10 },
  cpu_per_stream_vs_ceiling: { unit: 'ratio', better: 'smaller', gate: false, minEffectPct: 10 },
  // CPU time per request survives a busy machine far better than throughput does.
  cpu_ms_per_req: { unit: 'ms CPU', better: 'smaller', gate: false, minEffectPct: 10, minEffectAbs: 0.02 },
  // A stream run's CPU over its streams (each its request and all its events).
  cpu_ms_per_stream: { unit: 'ms CPU', better: 'smaller', gate: false, minEffectPct: 10, minEffectAbs: 0.05 },
  // The target's own pauses (bench/loop-probe.mjs): whose was a long latency.
  loop_delay_p99_ms: { unit: 'ms', better: 'smaller', gate: false, minEffectPct: 20, minEffectAbs: 1 },
  loop_delay_max_ms: { unit: 'ms', better: 'smaller', gate: false, minEffectPct: 25, minEffectAbs: 2 },
  gc_max_ms: { unit: 'ms', better: 'smaller', gate: false, minEffectPct: 25, minEffectAbs: 1 },
  gc_pct: { unit: '% of the run', better: 'smaller', gate: false, minEffectPct: 10, minEffectAbs: 0.5 },
  cpu_wait_pct: { unit: '% of the run', better: 'smaller', gate: false, minEffectPct: 20, minEffectAbs: 2 },
  mock_cpu_ms_per_req: { unit: 'ms CPU', better: 'smaller', gate: false, minEffectPct: 10, minEffectAbs: 0.02 },
  client_cpu_ms_per_req: { unit: 'ms CPU', better: 'smaller', gate: false, minEffectPct: 10, minEffectAbs: 0.02 },
};

/** Values of the per-run metrics (absolute, one run alone). */
export function runMetrics(run: RunRecord): Record<string, number> {
  const m: Record<string, number> = {};
  const total = run.ok + run.errors;
  if (run.stream) {
    const s = run.stream;
    m.ttfb_p50_ms = s.ttfb.p50;
    m.first_event_p50_ms = s.firstEvent.p50;
    m.first_event_p99_ms = s.firstEvent.p99;
    if (s.firstContent) {
      m.first_content_p50_ms = s.firstContent.p50;
      m.first_content_p99_ms = s.firstContent.p99;
    }
    m.gap_p50_ms = s.gap.p50;
    m.gap_p99_ms = s.gap.p99;
    m.events_per_s = s.eventsPerSecond;
    m.stalls = s.stalls;
    m.start_timeouts = s.startTimeouts ?? 0;
    m.incomplete_pct = s.streams ? (s.incomplete / s.streams) * 100 : 0;
    const late = s.upstreamLateMs ?? s.mockLateMs;
    if (late) m.upstream_late_p99_ms = late.p99;
    if (s.clientDelayMs) m.client_delay_p99_ms = s.clientDelayMs.p99;
  } else {
    m.rps = run.rps;
    m.p50_ms = run.latency.p50;
    m.p90_ms = run.latency.p90;
    m.p99_ms = run.latency.p99;
    m.max_ms = run.latency.max;
    m.error_pct = total ? (run.errors / total) * 100 : 0;
  }
  const perRequest = (pct: number) => (run.rps > 0 ? (pct * 10) / run.rps : NaN);
  if (run.clientCpuPct !== undefined) {
    m.client_cpu_pct = run.clientCpuPct;
    if (!run.stream) m.client_cpu_ms_per_req = perRequest(run.clientCpuPct);
  }
  if (run.bareCpuPct !== undefined) {
    m.bare_cpu_pct = run.bareCpuPct;
    if (!run.stream) m.bare_cpu_ms_per_req = perRequest(run.bareCpuPct);
  }
  if (run.mockCpuPct !== undefined) {
    m.mock_cpu_pct = run.mockCpuPct;
    if (!run.stream) m.mock_cpu_ms_per_req = perRequest(run.mockCpuPct);
  }
  if (run.mockResources && run.mockResources.length > 1) {
    m.mock_rss_max_mb = Math.max(...run.mockResources.map((s) => s.rssMb));
    m.mock_rss_growth_pct = rssGrowthPct(run.mockResources);
  }
  if (run.resources && run.resources.length > 1) {
    const r = run.resources;
    m.rss_max_mb = Math.max(...r.map((s) => s.rssMb));
    m.rss_growth_pct = rssGrowthPct(r);
    m.cpu_mean_pct = mean(r.slice(1).map((s) => s.cpuPct));
    // rps of a stream run is streams completed per second: CPU per stream.
    if (!run.stream) m.cpu_ms_per_req = perRequest(m.cpu_mean_pct);
    else m.cpu_ms_per_stream = perRequest(m.cpu_mean_pct);
  }
  if (run.probe) {
    const p = run.probe;
    m.loop_delay_p99_ms = p.loopDelayMs.p99;
    m.loop_delay_max_ms = p.loopDelayMs.max;
    m.gc_max_ms = p.gc.maxMs;
    m.gc_pct = run.durationMs > 0 ? (p.gc.totalMs / run.durationMs) * 100 : NaN;
    if (p.runQueueWaitMs !== undefined && run.durationMs > 0) m.cpu_wait_pct = (p.runQueueWaitMs / run.durationMs) * 100;
    if (p.memory && p.memory.length > 1) {
      m.rss_less_young_growth_pct = rssGrowthPct(p.memory.map((x) => ({ t: x.t, rssMb: x.rssMb - x.youngMb, cpuPct: 0 })));
      m.young_max_mb = Math.max(...p.memory.map((x) => x.youngMb));
    }
  }
  return m;
}

/** Metrics of a run relative to its baseline run of the same phase and round. */
export function relativeMetrics(run: RunRecord, base: RunRecord): Record<string, number> {
  const m: Record<string, number> = {};
  if (run.stream && base.stream) {
    m.first_event_added_p50_ms = run.stream.firstEvent.p50 - base.stream.firstEvent.p50;
    if (run.stream.firstContent && base.stream.firstContent) m.first_content_added_p50_ms = run.stream.firstContent.p50 - base.stream.firstContent.p50;
    m.ttfb_added_p50_ms = run.stream.ttfb.p50 - base.stream.ttfb.p50;
    m.gap_added_p99_ms = run.stream.gap.p99 - base.stream.gap.p99;
  } else {
    m.rps_ratio = base.rps > 0 ? run.rps / base.rps : 0;
    m.added_p50_ms = run.latency.p50 - base.latency.p50;
    m.added_p90_ms = run.latency.p90 - base.latency.p90;
    m.added_p99_ms = run.latency.p99 - base.latency.p99;
    m.added_max_ms = run.latency.max - base.latency.max;
  }
  return m;
}

/**
 * A relay run against its ceiling (the bare proxy, same phase and round) and the phase's baseline:
 * throughput and CPU per request as ratios, and the latency each adds over the baseline as a
 * ratio of the relay's to the proxy's. A ratio whose divisor is not positive (the proxy added
 * nothing measurable) is left out rather than reported as infinite.
 */
export function ceilingMetrics(run: RunRecord, ceil: RunRecord, base: RunRecord | undefined): Record<string, number> {
  const m: Record<string, number> = {};
  const ratio = (a: number, b: number) => (b > 0 ? a / b : NaN);
  if (run.stream && ceil.stream) {
    if (base?.stream) {
      const [r, c, b] = [run.stream.firstContent, ceil.stream.firstContent, base.stream.firstContent];
      if (r && c && b) m.first_content_added_p50_vs_ceiling = ratio(r.p50 - b.p50, c.p50 - b.p50);
      m.gap_added_p99_vs_ceiling = ratio(run.stream.gap.p99 - base.stream.gap.p99, ceil.stream.gap.p99 - base.stream.gap.p99);
    }
  } else {
    m.rps_vs_ceiling = ratio(run.rps, ceil.rps);
    if (base) {
      m.added_p50_vs_ceiling = ratio(run.latency.p50 - base.latency.p50, ceil.latency.p50 - base.latency.p50);
      m.added_p99_vs_ceiling = ratio(run.latency.p99 - base.latency.p99, ceil.latency.p99 - base.latency.p99);
    }
  }
  const own = runMetrics(run);
  const ceiling = runMetrics(ceil);
  if (own.cpu_ms_per_req !== undefined && ceiling.cpu_ms_per_req !== undefined) m.cpu_per_req_vs_ceiling = ratio(own.cpu_ms_per_req, ceiling.cpu_ms_per_req);
  if (own.cpu_ms_per_stream !== undefined && ceiling.cpu_ms_per_stream !== undefined) m.cpu_per_stream_vs_ceiling = ratio(own.cpu_ms_per_stream, ceiling.cpu_ms_per_stream);
  return m;
}

export function deriveMetrics(runs: readonly RunRecord[]): Metric[] {
  const byName = new Map<string, { def: MetricDef; values: Array<[number, number]>; gate: boolean }>();
  const add = (name: string, key: string, round: number, value: number, isBaseline: boolean) => {
    const def = DEFS[key];
    if (!def || !Number.isFinite(value)) return;
    let entry = byName.get(name);
    if (!entry) byName.set(name, (entry = { def, values: [], gate: def.gate && !isBaseline }));
    entry.values.push([round, value]);
  };
  const sameRound = (run: RunRecord, target: string | undefined) => runs.find((r) => r.phase === run.phase && r.round === run.round && r.target === target);
  for (const run of runs) {
    // The baseline, the ceiling and its twin are references, not what is under test: they never gate.
    const isReference = run.target === run.baseline || run.kind === 'proxy' || run.kind === 'twin' || run.kind === 'bare';
    for (const [key, value] of Object.entries(runMetrics(run))) add(`${run.phase}/${run.target}/${key}`, key, run.round, value, isReference);
    const base = run.target === run.baseline ? undefined : sameRound(run, run.baseline);
    if (base) for (const [key, value] of Object.entries(relativeMetrics(run, base))) add(`${run.phase}/${run.target}/${key}`, key, run.round, value, isReference);
    const ceil = run.ceiling ? sameRound(run, run.ceiling) : undefined;
    if (ceil) for (const [key, value] of Object.entries(ceilingMetrics(run, ceil, base))) add(`${run.phase}/${run.target}/${key}`, key, run.round, value, isReference);
  }
  return [...byName.entries()].map(([name, e]) => {
    const values = e.values.sort((a, b) => a[0] - b[0]).map((v) => v[1]);
    return {
      name,
      unit: e.def.unit,
      better: e.def.better,
      values,
      mean: mean(values),
      median: median(values),
      min: Math.min(...values),
      max: Math.max(...values),
      gate: e.gate,
      minEffectPct: e.def.minEffectPct,
      minEffectAbs: e.def.minEffectAbs ?? 0,
    };
  });
}

/**
 * Expands `relay` in a check's metric to every relay target, then compares the median of the
 * metric's rounds (each round's value is already relative to that round's baseline and ceiling):
 * on a shared machine one starved round moves a mean far more than the median.
 */
/**
 * Failures (errors, stalls, streams cut or never started) are judged by the worst round, not the
 * median: a target that failed 40% of one round's requests did not run "with zero errors", and a
 * median of three rounds would hide it. Latency and throughput keep the median (one starved round
 * on shared cores says nothing about the target).
 */
const JUDGED_BY_WORST_ROUND = new Set(['error_pct', 'stalls', 'start_timeouts', 'incomplete_pct']);

export function evaluateChecks(
  checks: ReadonlyArray<{ metric: string; op: CheckResult['op']; value: number; label?: string }>,
  metrics: readonly Metric[],
  relayNames: readonly string[],
  variants: ReadonlyMap<string, Variant | undefined> = new Map(),
): CheckResult[] {
  const out: CheckResult[] = [];
  for (const c of checks) {
    const parts = c.metric.split('/');
    const names = parts[1] === 'relay' ? relayNames.map((r) => [parts[0], r, ...parts.slice(2)].join('/')) : [c.metric];
    for (const metric of names) {
      const found = metrics.find((m) => m.name === metric);
      const worst = JUDGED_BY_WORST_ROUND.has(metric.split('/')[2] ?? '');
      const worstOf = (m: Metric) => (m.better === 'smaller' ? Math.max(...m.values) : Math.min(...m.values));
      const actual = found ? (worst ? worstOf(found) : (found.median ?? median(found.values))) : null;
      const ok = actual === null ? null : compareOp(actual, c.op, c.value);
      const [phase, target, key] = metric.split('/');
      const result: CheckResult = { label: c.label ?? `${metric} ${c.op} ${c.value}`, metric, target, variant: variants.get(target), rounds: found?.values, judgedBy: worst ? 'worst round' : 'median', op: c.op, value: c.value, actual, ok };
      const twin = key?.endsWith('_vs_ceiling') && target !== 'twin' ? metrics.find((m) => m.name === `${phase}/twin/${key}`) : undefined;
      if (twin) result.twin = { actual: worst ? worstOf(twin) : (twin.median ?? median(twin.values)), rounds: twin.values };
      out.push(result);
    }
  }
  return out;
}

/** One target's CPU time per request in one phase: the median of the rounds and their spread. */
export interface CpuPerRequestRow {
  phase: string;
  target: string;
  variant?: Variant;
  /** What the CPU is counted per: a request, or a whole stream (its request and every event). Older results: absent (request). */
  per?: 'request' | 'stream';
  /** µs of CPU (user + system, from /proc) per completed request, or stream. */
  medianUs: number;
  minUs: number;
  maxUs: number;
  /** A relay's CPU per request over the ceiling's, round by round, median of the rounds. */
  vsCeiling?: number;
}

/** The CPU-per-request (or per-stream) rows of a run's metrics: relays and the bare proxy side by side, per phase. */
export function cpuPerRequestRows(metrics: readonly Metric[], targets: readonly TargetInfo[]): CpuPerRequestRow[] {
  const rows: CpuPerRequestRow[] = [];
  for (const m of metrics) {
    const [phase, target, key] = m.name.split('/');
    const per = key === 'cpu_ms_per_req' ? 'request' : key === 'cpu_ms_per_stream' ? 'stream' : undefined;
    if (!per) continue;
    const vs = metrics.find((x) => x.name === `${phase}/${target}/cpu_per_${per === 'request' ? 'req' : 'stream'}_vs_ceiling`);
    rows.push({
      phase,
      target,
      variant: targets.find((t) => t.name === target)?.variant,
      per,
      medianUs: (m.median ?? median(m.values)) * 1000,
      minUs: Math.min(...m.values) * 1000,
      maxUs: Math.max(...m.values) * 1000,
      vsCeiling: vs ? (vs.median ?? median(vs.values)) : undefined,
    });
  }
  return rows;
}

/** `0.949 (rounds 0.91, 0.95, 1.02)`: a median with every round's value beside it. */
export function withRounds(median: number, rounds: readonly number[] | undefined, digits = 3, judgedBy: CheckResult['judgedBy'] = 'median'): string {
  const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(digits) : String(v));
  return rounds && rounds.length > 1 ? `${judgedBy} ${fmt(median)} (rounds ${rounds.map(fmt).join(', ')})` : fmt(median);
}

export function compareOp(actual: number, op: CheckResult['op'], value: number): boolean {
  switch (op) {
    case '<':
      return actual < value;
    case '<=':
      return actual <= value;
    case '>':
      return actual > value;
    case '>=':
      return actual >= value;
  }
}

/**
 * Writes the two github-action-benchmark input files next to `prefix`:
 * `<prefix>.smaller.json` (tool: customSmallerIsBetter) and `<prefix>.bigger.json`
 * (tool: customBiggerIsBetter), each a plain `[{ name, unit, value, range, extra }]` array.
 */
export function githubBenchmarkFiles(result: Pick<BenchResult, 'benchmark' | 'metrics' | 'environment'>, prefix: string): Array<{ path: string; text: string }> {
  const g = toGithubBenchmark(result);
  return [
    { path: `${prefix}.smaller.json`, text: JSON.stringify(g.customSmallerIsBetter, null, 1) },
    { path: `${prefix}.bigger.json`, text: JSON.stringify(g.customBiggerIsBetter, null, 1) },
  ];
}

/** One entry of github-action-benchmark's `customSmallerIsBetter` / `customBiggerIsBetter` input. */
export interface GithubBenchmarkEntry {
  name: string;
  unit: string;
  value: number;
  range?: string;
  extra?: string;
}

/**
 * github-action-benchmark takes one tool per file, so the export is two arrays: metrics where
 * smaller is better and metrics where bigger is better. `range` is ± one standard deviation.
 */
export function toGithubBenchmark(result: Pick<BenchResult, 'benchmark' | 'metrics' | 'environment'>): {
  customSmallerIsBetter: GithubBenchmarkEntry[];
  customBiggerIsBetter: GithubBenchmarkEntry[];
} {
  const entry = (m: Metric): GithubBenchmarkEntry => {
    const sd = m.values.length > 1 ? Math.sqrt(m.values.reduce((s, v) => s + (v - m.mean) ** 2, 0) / (m.values.length - 1)) : 0;
    return {
      name: `${result.benchmark}/${m.name}`,
      unit: m.unit,
      value: Number(m.mean.toPrecision(6)),
      range: `± ${Number(sd.toPrecision(3))}`,
      extra: `${m.values.length} rounds; node ${result.environment.node}; ${result.environment.cores} cores; commit ${result.environment.git.commit.slice(0, 12)}`,
    };
  };
  return {
    customSmallerIsBetter: result.metrics.filter((m) => m.better === 'smaller').map(entry),
    customBiggerIsBetter: result.metrics.filter((m) => m.better === 'bigger').map(entry),
  };
}
