/**
 * The HTML side of `bench:compare`: the outcome, a table of every metric (base vs head, change,
 * p-value, minimum effect, verdict) and a bar chart of the gated metrics' changes.
 */
import type { Comparison, MetricComparison } from '../bench/compare.js';
import { intervalText, signed } from '../bench/compare.js';
import type { BenchResult } from '../bench/results.js';
import { calibrationText } from './bench-report.js';
import { badge, barChart, details, el, page, table, tiles, type Verdict as BadgeVerdict } from './html.js';

const BADGE: Record<MetricComparison['verdict'], BadgeVerdict> = { regression: 'fail', improvement: 'pass', unchanged: 'info', noisy: 'skip' };

function num(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  const a = Math.abs(v);
  return a >= 1000 ? v.toFixed(0) : a >= 10 ? v.toFixed(2) : v.toFixed(3);
}

function rows(metrics: readonly MetricComparison[], alpha: number) {
  return metrics.map((m) => [
    el('code', {}, m.name),
    m.unit,
    `${num(m.baseMean)} (${m.base.length}×, cv ${m.baseCvPct.toFixed(1)}%)`,
    `${num(m.headMean)} (${m.head.length}×, cv ${m.headCvPct.toFixed(1)}%)`,
    [`${signed(m.changePct)}%`, el('div', { class: 'muted small' }, intervalText(m, alpha))],
    m.better === 'smaller' ? 'smaller' : 'bigger',
    Number.isFinite(m.p) ? m.p.toFixed(3) : 'n/a',
    m.minEffectAbs ? `${m.minEffectPct}% and ${m.minEffectAbs} ${m.unit}` : `${m.minEffectPct}%`,
    [badge(BADGE[m.verdict], m.verdict.toUpperCase()), m.note ? el('div', { class: 'muted small' }, m.note) : ''],
  ]);
}

export function renderCompareReport(c: Comparison, base: BenchResult, head: BenchResult): string {
  const gated = c.metrics.filter((m) => m.gate);
  const info = c.metrics.filter((m) => !m.gate);
  const count = (v: MetricComparison['verdict']) => gated.filter((m) => m.verdict === v).length;
  const headers = ['metric', 'unit', c.base.label, c.head.label, 'change', 'better', 'p (Welch)', 'min effect', 'verdict'];
  const bars = gated
    .filter((m) => Number.isFinite(m.changePct))
    .map((m) => {
      const worse = m.better === 'smaller' ? m.changePct > 0 : m.changePct < 0;
      return { label: m.name, value: Math.abs(m.changePct), note: `${signed(m.changePct)}% (${m.verdict})`, color: m.verdict === 'regression' ? '#c4320a' : worse ? '#ca8504' : '#12805c' };
    });
  return page({
    title: `relaylab benchmark comparison: ${c.benchmark}`,
    subtitle: `${c.base.label} (${c.base.commit.slice(0, 12)}) vs ${c.head.label} (${c.head.commit.slice(0, 12)}) · Welch's t-test, alpha ${c.alpha}`,
    body: [
      tiles([
        { label: 'outcome', value: c.outcome.toUpperCase(), verdict: c.outcome === 'regression' ? 'fail' : c.outcome === 'noisy' ? 'skip' : 'pass' },
        { label: 'regressions', value: count('regression'), verdict: count('regression') ? 'fail' : 'pass' },
        { label: 'improvements', value: count('improvement') },
        { label: 'too noisy to tell', value: count('noisy'), verdict: count('noisy') ? 'skip' : undefined },
        { label: 'unchanged', value: count('unchanged') },
      ]),
      el('p', {}, c.summary),
      c.warnings.map((w) => el('p', {}, badge('skip', 'WARNING'), ' ', w)),
      el(
        'p',
        { class: 'muted small' },
        'A gated metric regresses when its change is at least its minimum effect in the worse direction AND Welch\'s t-test over the measured rounds is significant. A large change that is not significant is reported as too noisy to tell.',
      ),
      table(
        ['', 'node', 'CPU', 'cores', 'load avg', 'µs per system call / JSON probe', 'rounds', 'started'],
        [base, head].map((r, i) => [
          i === 0 ? c.base.label : c.head.label,
          r.environment.node,
          r.environment.cpuModel,
          r.environment.cores,
          `${r.environment.loadAverage.start.toFixed(2)} → ${(r.environment.loadAverage.end ?? NaN).toFixed(2)}`,
          calibrationText(r.environment.calibration),
          String((r.config as { rounds?: number }).rounds ?? ''),
          r.startedAt,
        ]),
      ),
      el('h2', {}, 'Gated metrics'),
      table(headers, rows(gated, c.alpha)),
      bars.length ? barChart(bars, { title: 'Change of gated metrics (|%|; red = regression, amber = worse but not a regression)', width: 900 }) : '',
      el('h2', {}, 'Other metrics'),
      details(`${info.length} metrics shown for information`, table(headers, rows(info, c.alpha))),
      c.onlyInBase.length || c.onlyInHead.length ? el('p', { class: 'muted small' }, `Only in base: ${c.onlyInBase.join(', ') || '–'}. Only in head: ${c.onlyInHead.join(', ') || '–'}.`) : '',
    ],
  });
}
