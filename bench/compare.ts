/**
 * Compares two benchmark results metric by metric: change in per cent and a verdict from
 * Welch's t-test over the measured rounds plus a minimum effect (stats.ts). Gated metrics
 * (the relay's throughput, p50, p99, first content, gap) decide the outcome; the rest are shown.
 */
import { machinesDiffer } from './calibration.js';
import { deriveMetrics, type BenchResult, type Metric } from './results.js';
import { judge, type Better, type VerdictResult } from './stats.js';

/** One metric of two runs: its samples plus the verdict `judge` gave them. */
export interface MetricComparison extends VerdictResult {
  name: string;
  unit: string;
  better: Better;
  gate: boolean;
  base: number[];
  head: number[];
  /** Why a regression or an improvement was downgraded to noisy (the reference it is measured against moved). */
  note?: string;
}

export type Outcome = 'regression' | 'noisy' | 'pass';

export interface Comparison {
  benchmark: string;
  alpha: number;
  base: { commit: string; startedAt: string; label: string };
  head: { commit: string; startedAt: string; label: string };
  metrics: MetricComparison[];
  /** Metrics in only one of the two results. */
  onlyInBase: string[];
  onlyInHead: string[];
  outcome: Outcome;
  summary: string;
  /** The baseline (mock / bare) moved a lot: the machine changed between the runs. */
  warnings: string[];
}

export interface CompareOptions {
  alpha?: number;
  /** Minimum effect per metric, by exact name or glob (`*` within and across segments). */
  thresholds?: Record<string, number>;
  baseLabel?: string;
  headLabel?: string;
}

export function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

/** The most specific matching threshold: an exact name beats a glob; longer globs beat shorter. */
export function thresholdFor(metric: string, thresholds: Record<string, number>, fallback: number): number {
  if (metric in thresholds) return thresholds[metric];
  const globs = Object.keys(thresholds)
    .filter((k) => k.includes('*') && globToRegExp(k).test(metric))
    .sort((a, b) => b.length - a.length);
  return globs.length ? thresholds[globs[0]] : fallback;
}

export function compareResults(base: BenchResult, head: BenchResult, opts: CompareOptions = {}): Comparison {
  if (base.benchmark !== head.benchmark) throw new Error(`cannot compare benchmark "${base.benchmark}" with "${head.benchmark}"`);
  const alpha = opts.alpha ?? 0.1;
  // Thresholds: the benchmark file's, then the command line's (which win).
  const thresholds = { ...(base.thresholds ?? {}), ...(head.thresholds ?? {}), ...(opts.thresholds ?? {}) };
  // Re-derived from the raw runs when present, so older result files are judged by today's rules.
  const baseMetrics = base.runs.length ? deriveMetrics(base.runs) : base.metrics;
  const headMetrics = head.runs.length ? deriveMetrics(head.runs) : head.metrics;
  const baseBy = new Map(baseMetrics.map((m) => [m.name, m]));
  const headBy = new Map(headMetrics.map((m) => [m.name, m]));
  const metrics: MetricComparison[] = [];
  for (const h of headMetrics) {
    const b = baseBy.get(h.name);
    if (!b) continue;
    metrics.push(compareMetric(b, h, thresholdFor(h.name, thresholds, h.minEffectPct), alpha));
  }
  guardAgainstMovingBaseline(metrics, [...base.runs, ...head.runs]);
  const gated = metrics.filter((m) => m.gate);
  const regressions = gated.filter((m) => m.verdict === 'regression');
  const noisy = gated.filter((m) => m.verdict === 'noisy');
  const outcome: Outcome = regressions.length ? 'regression' : noisy.length ? 'noisy' : 'pass';
  const summary =
    outcome === 'regression'
      ? `REGRESSION in ${regressions.length} of ${gated.length} gated metrics: ${regressions.map((m) => `${m.name} ${signed(m.changePct)}%`).join(', ')}`
      : outcome === 'noisy'
        ? `no regression shown, but ${noisy.length} of ${gated.length} gated metrics moved more than their minimum effect without significance or while their baseline moved too (${noisy.map((m) => m.name).join(', ')}): the runs are too noisy to tell; rerun with more --rounds on a quieter machine`
        : `no regression: ${gated.length} gated metrics within their minimum effect or better`;
  const baselines = new Set(['bare', 'direct', ...[...base.runs, ...head.runs].map((r) => r.baseline)]);
  const warnings = metrics
    .filter((m) => baselines.has(m.name.split('/')[1] ?? '') && /\/(rps|p50_ms)$/.test(m.name) && Math.abs(m.changePct) >= 25)
    .map(
      (m) =>
        `baseline ${m.name} moved ${signed(m.changePct)}% between the runs: the machine was not the same (load, other processes); absolute figures are not comparable, relative ones (ratios, added latency) are what gates`,
    );
  const untimed = baseMetrics.some((m) => /\/first_event_p50_ms$/.test(m.name)) && !baseMetrics.some((m) => /\/first_content_p50_ms$/.test(m.name));
  if (untimed && headMetrics.some((m) => /\/first_content_p50_ms$/.test(m.name)))
    warnings.push(
      'the base result timed streams to their first event only (from before first content was timed): the first-content metrics, which streams are judged by, are in the head alone; first_event_* are compared but do not gate (a relay that holds the start events until the answer begins delays its first event by design)',
    );
  const differ = machinesDiffer(base.environment.calibration, head.environment.calibration);
  if (differ) warnings.unshift(`the runs were not on comparable machines (${differ}): even relative figures move with the price of a system call; compare two builds measured on one machine`);
  return {
    benchmark: head.benchmark,
    alpha,
    base: { commit: base.environment.git.commit, startedAt: base.startedAt, label: opts.baseLabel ?? 'base' },
    head: { commit: head.environment.git.commit, startedAt: head.startedAt, label: opts.headLabel ?? 'head' },
    metrics,
    onlyInBase: baseMetrics.filter((m) => !headBy.has(m.name)).map((m) => m.name),
    onlyInHead: headMetrics.filter((m) => !baseBy.has(m.name)).map((m) => m.name),
    outcome,
    summary,
    warnings,
  };
}

/** The baseline metric a relative metric is measured against, by metric key. */
const BASELINE_OF: Record<string, string> = {
  rps_ratio: 'rps',
  added_p50_ms: 'p50_ms',
  added_p90_ms: 'p90_ms',
  added_p99_ms: 'p99_ms',
  added_max_ms: 'max_ms',
  first_event_added_p50_ms: 'first_event_p50_ms',
  first_content_added_p50_ms: 'first_content_p50_ms',
  ttfb_added_p50_ms: 'ttfb_p50_ms',
  gap_added_p99_ms: 'gap_p99_ms',
};

/** The ceiling metric a `*_vs_ceiling` metric is measured against, by metric key. */
const CEILING_OF: Record<string, string> = {
  rps_vs_ceiling: 'rps',
  added_p50_vs_ceiling: 'added_p50_ms',
  added_p99_vs_ceiling: 'added_p99_ms',
  first_event_added_p50_vs_ceiling: 'first_event_added_p50_ms',
  first_content_added_p50_vs_ceiling: 'first_content_added_p50_ms',
  gap_added_p99_vs_ceiling: 'gap_added_p99_ms',
  cpu_per_req_vs_ceiling: 'cpu_ms_per_req',
};

/**
 * Rounds of one run share that run's machine state, so the t-test cannot tell a slower relay
 * from a busier machine between two runs. A relative metric is only called a regression, or an
 * improvement, when what it is relative to (the direct call, or the bare proxy for a ratio to the
 * ceiling, measured in the same runs) did not move; otherwise it is "noisy", with the reason. The
 * rule is the same both ways: a moved reference explains a better figure as well as a worse one.
 */
export function guardAgainstMovingBaseline(metrics: MetricComparison[], runs: ReadonlyArray<{ phase: string; baseline: string; ceiling?: string }>): void {
  const byName = new Map(metrics.map((m) => [m.name, m]));
  for (const m of metrics) {
    if (m.verdict !== 'regression' && m.verdict !== 'improvement') continue;
    const [phase, , key] = m.name.split('/');
    const baseKey = BASELINE_OF[key];
    const ceilingKey = CEILING_OF[key];
    let ref: MetricComparison | undefined;
    if (baseKey) {
      const baseline = runs.find((r) => r.phase === phase)?.baseline ?? 'direct';
      ref = byName.get(`${phase}/${baseline}/${baseKey}`);
    } else if (ceilingKey) {
      const ceiling = runs.find((r) => r.phase === phase && r.ceiling)?.ceiling ?? 'proxy';
      ref = byName.get(`${phase}/${ceiling}/${ceilingKey}`);
    }
    if (ref && ref.verdict !== 'unchanged') {
      m.note = `${m.verdict === 'regression' ? 'worse' : 'better'}, but ${ref.name}, which it is measured against, itself changed ${signed(ref.changePct)}% (${ref.verdict}) between the runs`;
      m.verdict = 'noisy';
    }
  }
}

/** A metric's interval as a change in per cent of the base mean: `[-12.3%, +1.4%]`. */
export function intervalText(m: Pick<MetricComparison, 'interval' | 'baseMean'>, alpha: number): string {
  const [lo, hi] = m.interval;
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return 'no interval (fewer than two rounds on a side)';
  const pct = (d: number) => `${signed(m.baseMean === 0 ? NaN : (d / Math.abs(m.baseMean)) * 100)}%`;
  return `[${pct(lo)}, ${pct(hi)}] at ${Math.round((1 - alpha) * 100)}%`;
}

/**
 * Two relays measured side by side in ONE run (`--target a=... --target b=...`, or
 * `--relay-delay 0,2`) as a base and a head result: each keeps the shared baseline runs and its
 * own relay's runs, renamed to `relay`. Rounds are then paired in time, so machine drift between
 * two runs cannot pass for a regression.
 */
export function splitTargets(result: BenchResult, baseTarget: string, headTarget: string): [BenchResult, BenchResult] {
  const names = new Set(result.runs.map((r) => r.target));
  for (const t of [baseTarget, headTarget]) if (!names.has(t)) throw new Error(`target "${t}" not in ${result.benchmark} (has: ${[...names].join(', ')})`);
  const side = (keep: string, drop: string): BenchResult => {
    const runs = result.runs.filter((r) => r.target !== drop || drop === keep).map((r) => (r.target === keep ? { ...r, target: 'relay' } : r));
    return { ...result, runs, metrics: deriveMetrics(runs) };
  };
  return [side(baseTarget, headTarget), side(headTarget, baseTarget)];
}

function compareMetric(b: Metric, h: Metric, minEffectPct: number, alpha: number): MetricComparison {
  const r = judge({ base: b.values, head: h.values, better: h.better, minEffectPct, minEffectAbs: h.minEffectAbs ?? 0, alpha });
  return { name: h.name, unit: h.unit, better: h.better, gate: h.gate, base: b.values, head: h.values, ...r };
}

export function signed(v: number, digits = 1): string {
  if (!Number.isFinite(v)) return v > 0 ? '+inf' : v < 0 ? '-inf' : 'n/a';
  return `${v >= 0 ? '+' : ''}${v.toFixed(digits)}`;
}

/** The terminal table; colour only when asked (a TTY). */
export function formatComparison(c: Comparison, color = false): string {
  const paint = (code: string, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const verdictText = (m: MetricComparison) => {
    const v = m.verdict.toUpperCase();
    if (!m.gate) return paint('2', m.verdict);
    return m.verdict === 'regression' ? paint('31;1', v) : m.verdict === 'improvement' ? paint('32', v) : m.verdict === 'noisy' ? paint('33', v) : v;
  };
  const rows = c.metrics.map((m) => [
    (m.gate ? '* ' : '  ') + m.name,
    fmt(m.baseMean),
    fmt(m.headMean),
    m.unit,
    `${signed(m.changePct)}%`,
    Number.isFinite(m.p) ? m.p.toFixed(3) : 'n/a',
    m.minEffectAbs ? `${m.minEffectPct}%, ${m.minEffectAbs}` : `${m.minEffectPct}%`,
    verdictText(m),
  ]);
  const header = ['metric (* = gated)', c.base.label, c.head.label, 'unit', 'change', 'p', 'min effect', 'verdict'];
  const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => plain(r[i]).length)));
  const line = (r: string[]) => r.map((cell, i) => (i === 0 ? cell + ' '.repeat(widths[i] - plain(cell).length) : ' '.repeat(widths[i] - plain(cell).length) + cell)).join('  ');
  const out = [
    `${c.benchmark}: ${c.base.label} ${c.base.commit.slice(0, 12)} (${c.base.startedAt}) vs ${c.head.label} ${c.head.commit.slice(0, 12)} (${c.head.startedAt}); Welch t-test, alpha ${c.alpha}`,
    line(header),
    ...rows.map(line),
  ];
  if (c.onlyInBase.length) out.push(`only in ${c.base.label}: ${c.onlyInBase.join(', ')}`);
  if (c.onlyInHead.length) out.push(`only in ${c.head.label}: ${c.onlyInHead.join(', ')}`);
  // Every noisy metric with what the rounds allow its change to be: a wide interval that reaches
  // past the minimum effect says "rerun", not "fine".
  const noisy = c.metrics.filter((x) => x.verdict === 'noisy');
  for (const m of noisy.filter((x) => x.gate)) {
    out.push(
      paint(
        '33',
        `noisy (gated): ${m.name} ${fmt(m.baseMean)} -> ${fmt(m.headMean)} ${m.unit} (${signed(m.changePct)}%), change ${intervalText(m, c.alpha)}, p ${Number.isFinite(m.p) ? m.p.toFixed(3) : 'n/a'}${m.note ? `; ${m.note}` : ''}`,
      ),
    );
  }
  const ungated = noisy.filter((x) => !x.gate).length;
  if (ungated) out.push(paint('2', `${ungated} ungated metrics noisy too (shown for information; their intervals are in the HTML report)`));
  for (const w of c.warnings) out.push(paint('33', `warning: ${w}`));
  const tone = c.outcome === 'regression' ? '31;1' : c.outcome === 'noisy' ? '33' : '32';
  out.push(paint(tone, c.summary));
  return out.join('\n') + '\n';
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  const a = Math.abs(v);
  return a >= 1000 ? v.toFixed(0) : a >= 10 ? v.toFixed(2) : v.toFixed(3);
}
