/**
 * The benchmark report: one self-contained HTML page per run (or several runs side by side),
 * built on the shared shell in reports/html.ts. Per phase: the overhead table (every target
 * against the phase's baseline), latency percentile curves, latency histograms, throughput over
 * time; streaming phases add first-content / gap figures; relay RSS and CPU over the run; the
 * issue's target checks on top.
 */
import { decodeHistogram, binnedCounts, percentileCurve, type Histogram } from '../bench/histogram.js';
import type { BenchResult, Metric, RunRecord } from '../bench/results.js';
import { badge, details, el, lineChart, page, raw, table, tiles, type Content, type LineSeries, type Raw } from './html.js';

const fmt = (v: number | null | undefined, digits = 2): string => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits));
const fmtInt = (v: number): string => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '–');

function sd(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((s, v) => s + (v - m) ** 2, 0) / (values.length - 1));
}

/** "12.3 ± 0.4" over the rounds. */
function meanSd(values: readonly number[], digits = 2): string {
  if (values.length === 0) return '–';
  const m = values.reduce((a, b) => a + b, 0) / values.length;
  return values.length > 1 ? `${fmt(m, digits)} ± ${fmt(sd(values), digits)}` : fmt(m, digits);
}

function mergedHistogram(encoded: readonly string[]): Histogram | undefined {
  let acc: Histogram | undefined;
  for (const e of encoded) {
    const h = decodeHistogram(e);
    if (!acc) acc = h;
    else acc.add(h);
  }
  return acc;
}

/** x position of a percentile on a "nines" axis: 0 = p0, 1 = p90, 2 = p99, 3 = p99.9 ... */
function nines(p: number): number {
  return p >= 100 ? 4.5 : -Math.log10(1 - p / 100);
}

function percentileChart(title: string, byTarget: Map<string, string[]>): Raw {
  const series: LineSeries[] = [];
  for (const [target, encoded] of byTarget) {
    const h = mergedHistogram(encoded);
    if (!h || h.totalCount === 0) continue;
    series.push({ name: target, points: percentileCurve(h).map((p) => [nines(p.percentile), p.ms]) });
  }
  return lineChart(series, { title, xLabel: 'percentile (0 = min, 1 = p90, 2 = p99, 3 = p99.9, 4.5 = max)', yLabel: 'ms' });
}

function histogramChart(title: string, byTarget: Map<string, string[]>): Raw {
  const series: LineSeries[] = [];
  for (const [target, encoded] of byTarget) {
    const h = mergedHistogram(encoded);
    if (!h || h.totalCount === 0) continue;
    const bins = binnedCounts(h, 40);
    const total = bins.reduce((s, b) => s + b.count, 0) || 1;
    series.push({ name: target, points: bins.map((b) => [(b.fromMs + b.toMs) / 2, (b.count / total) * 100]) });
  }
  return lineChart(series, { title, xLabel: 'latency (ms, up to p99.9)', yLabel: '% of requests' });
}

function throughputChart(title: string, runs: readonly RunRecord[], pick: (r: RunRecord) => Array<[number, number]>, yLabel: string): Raw {
  // Round 1 of each target: the rounds look alike and overlaying all of them is unreadable.
  const series: LineSeries[] = [];
  for (const r of runs.filter((x) => x.round === 0)) series.push({ name: r.target, points: pick(r) });
  return lineChart(series, { title, xLabel: 'seconds into the run', yLabel });
}

function groupBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    const list = m.get(k);
    if (list) list.push(x);
    else m.set(k, [x]);
  }
  return m;
}

function metricValues(metrics: readonly Metric[], name: string): number[] {
  return metrics.find((m) => m.name === name)?.values ?? [];
}

const CPU_HEADER = 'CPU % of a core: load gen / upstream (mock, or bare) / relay';
const CPU_PER_REQ_HEADER = 'CPU ms per request: upstream (mock, or bare) / relay';

/** In a run against the bare server the mock sits idle: the bare server is the upstream whose CPU matters. */
function upstreamValues(m: (k: string) => number[], key: 'cpu_pct' | 'cpu_ms_per_req'): number[] {
  return m(`bare_${key}`).length ? m(`bare_${key}`) : m(`mock_${key}`);
}

function cpuPerRequestCell(m: (k: string) => number[]): string {
  const avg = (xs: number[]) => (xs.length ? (xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(3) : '–');
  return `${avg(upstreamValues(m, 'cpu_ms_per_req'))} / ${avg(m('cpu_ms_per_req'))}`;
}

/** Who was busy: near 100% for the load generator or the mock means they, not the relay, set the pace. */
function cpuCell(m: (k: string) => number[]): string {
  const avg = (xs: number[]) => (xs.length ? `${Math.round(xs.reduce((a, b) => a + b, 0) / xs.length)}` : '–');
  const upstream = upstreamValues(m, 'cpu_pct');
  return `${avg(m('client_cpu_pct'))} / ${avg(upstream)} / ${avg(m('cpu_mean_pct'))}`;
}

/** A relay's figures as multiples of the ceiling's (the bare proxy, same round); the ceiling's own row says so. */
function ceilingCells(m: (k: string) => number[], isCeiling: boolean, keys: readonly string[]): Content[] {
  return keys.map((k) => (isCeiling ? raw('<span class="muted">ceiling</span>') : meanSd(m(k), 2)));
}

function requestPhaseTables(result: BenchResult, phase: string, runs: readonly RunRecord[]): Content[] {
  const byTarget = groupBy(runs, (r) => r.target);
  const baseline = runs[0].baseline;
  const ceiling = runs.find((r) => r.ceiling)?.ceiling;
  const first = runs[0];
  const shape = first.load === 'closed' ? `${first.connections} connections (closed model)` : `${first.rate} req/s fixed rate (open model, corrected for coordinated omission)`;
  const rows: Content[][] = [];
  for (const [target] of byTarget) {
    const m = (k: string) => metricValues(result.metrics, `${phase}/${target}/${k}`);
    const isBase = target === baseline;
    rows.push([
      el('b', {}, target),
      meanSd(m('rps'), 0),
      meanSd(m('p50_ms')),
      meanSd(m('p90_ms')),
      meanSd(m('p99_ms')),
      meanSd(m('max_ms')),
      meanSd(m('error_pct')),
      isBase ? raw('<span class="muted">baseline</span>') : meanSd(m('rps_ratio'), 3),
      isBase ? '' : meanSd(m('added_p50_ms'), 3),
      isBase ? '' : meanSd(m('added_p99_ms'), 3),
      ...(ceiling ? ceilingCells(m, target === ceiling, ['rps_vs_ceiling', 'added_p50_vs_ceiling', 'added_p99_vs_ceiling', 'cpu_per_req_vs_ceiling']) : []),
      cpuCell(m),
      cpuPerRequestCell(m),
    ]);
  }
  const hist = new Map([...byTarget].map(([t, rs]) => [t, rs.map((r) => r.histogram)]));
  const statuses = [...byTarget].map(([t, rs]) => {
    const counts: Record<string, number> = {};
    for (const r of rs) for (const [s, n] of Object.entries(r.statusCounts)) counts[s] = (counts[s] ?? 0) + n;
    return `${t}: ${Object.entries(counts).map(([s, n]) => `${s}×${n}`).join(', ')}`;
  });
  const upstream = runs.filter((r) => r.upstreamCounts);
  return [
    el('p', { class: 'muted small' }, `${first.request} requests, ${shape}; ${new Set(runs.map((r) => r.round)).size} measured rounds, mean ± sd across rounds. Latency in ms.`),
    table(
      [
        'target', 'req/s', 'p50', 'p90', 'p99', 'max', 'errors %', `throughput vs ${baseline}`, '+p50 (ms)', '+p99 (ms)',
        ...(ceiling ? [`throughput vs ${ceiling} (ceiling)`, `+p50 as × ${ceiling}'s`, `+p99 as × ${ceiling}'s`, `CPU per request as × ${ceiling}'s`] : []),
        CPU_HEADER, CPU_PER_REQ_HEADER,
      ],
      rows,
      { class: 'overhead' },
    ),
    el('div', { class: 'grid2' }, percentileChart('Latency by percentile', hist), histogramChart('Latency histogram', hist)),
    el(
      'div',
      { class: 'grid2' },
      throughputChart('Throughput over time (round 1)', runs, (r) => r.timeline.map((p) => [p.t + p.width / 2, p.ok / p.width]), 'req/s'),
      throughputChart('Mean latency over time (round 1)', runs, (r) => r.timeline.map((p) => [p.t + p.width / 2, p.meanMs]), 'ms'),
    ),
    upstream.length
      ? table(
          ['target', 'round', 'requests per upstream', 'client statuses'],
          upstream.map((r) => [r.target, r.round + 1, Object.entries(r.upstreamCounts!).map(([u, n]) => `${u}: ${n}`).join(', '), Object.entries(r.statusCounts).map(([s, n]) => `${s}×${n}`).join(', ')]),
        )
      : '',
    el('p', { class: 'muted small' }, `Statuses: ${statuses.join(' · ')}`),
  ];
}

function streamPhaseTables(result: BenchResult, phase: string, runs: readonly RunRecord[]): Content[] {
  const byTarget = groupBy(runs, (r) => r.target);
  const baseline = runs[0].baseline;
  const ceiling = runs.find((r) => r.ceiling)?.ceiling;
  const first = runs[0].stream!;
  const rows: Content[][] = [];
  for (const [target, rs] of byTarget) {
    const m = (k: string) => metricValues(result.metrics, `${phase}/${target}/${k}`);
    const isBase = target === baseline;
    const completed = rs.reduce((s, r) => s + r.stream!.completed, 0);
    const total = rs.reduce((s, r) => s + r.stream!.streams, 0);
    rows.push([
      el('b', {}, target),
      `${completed}/${total}`,
      meanSd(m('ttfb_p50_ms')),
      meanSd(m('first_event_p50_ms')),
      meanSd(m('first_content_p50_ms')),
      meanSd(m('first_content_p99_ms')),
      meanSd(m('gap_p50_ms')),
      meanSd(m('gap_p99_ms')),
      meanSd(m('upstream_late_p99_ms')),
      meanSd(m('client_delay_p99_ms')),
      meanSd(m('events_per_s'), 0),
      meanSd(m('stalls'), 0),
      meanSd(m('start_timeouts'), 0),
      isBase ? raw('<span class="muted">baseline</span>') : meanSd(m('first_content_added_p50_ms'), 3),
      isBase ? raw('<span class="muted">baseline</span>') : meanSd(m('gap_added_p99_ms')),
      ...(ceiling ? ceilingCells(m, target === ceiling, ['first_content_added_p50_vs_ceiling', 'gap_added_p99_vs_ceiling', 'cpu_per_stream_vs_ceiling']) : []),
      cpuCell(m),
      m('cpu_ms_per_stream').length ? meanSd(m('cpu_ms_per_stream'), 2) : '–',
    ]);
  }
  // Time to the first content (older results, which did not time it: to the first event, so titled).
  const timedContent = runs.every((r) => r.stream!.histograms.firstContent);
  const firstWait = new Map([...byTarget].map(([t, rs]) => [t, rs.map((r) => (timedContent ? r.stream!.histograms.firstContent! : r.stream!.histograms.firstEvent))]));
  const gaps = new Map([...byTarget].map(([t, rs]) => [t, rs.map((r) => r.stream!.histograms.gap)]));
  return [
    el(
      'p',
      { class: 'muted small' },
      `${runs[0].request}: ${first.streams} concurrent streams${first.expectedGapMs ? `, programmed gap ${first.expectedGapMs} ms` : ''}; gap = time between reads that completed events; first content = the first event that carries the answer (content_block_delta, a chat chunk with content, output_text.delta), what streams are judged by, since a relay may hold the start events until then; upstream late = how late the upstream's paced writes left by its own clock (the mock's, or the bare server's in its row); client delay = how late the load client's own event loop ran (its pauses lengthen the gaps it measures).`,
    ),
    table(['target', 'complete', 'TTFB p50', 'first event p50', 'first content p50', 'first content p99', 'gap p50', 'gap p99', 'upstream late p99', 'client delay p99', 'events/s', 'stalls', 'no first event', `+first content p50 vs ${baseline}`, `+gap p99 vs ${baseline}`, ...(ceiling ? [`+first content p50 as × ${ceiling}'s`, `+gap p99 as × ${ceiling}'s`, `CPU per stream as × ${ceiling}'s`] : []), CPU_HEADER, 'ms CPU per stream (relay or proxy)'], rows, { class: 'overhead' }),
    el('div', { class: 'grid2' }, percentileChart(timedContent ? 'Time to first content by percentile' : 'Time to first event by percentile (a result from before first content was timed)', firstWait), percentileChart('Inter-chunk gap by percentile', gaps)),
    el(
      'div',
      { class: 'grid2' },
      histogramChart('Inter-chunk gap histogram', gaps),
      throughputChart('Events per second (round 1)', runs, (r) => r.stream!.eventsTimeline.map((n, t) => [t + 0.5, n]), 'events/s'),
    ),
  ];
}

function resourceCharts(runs: readonly RunRecord[]): Content {
  const sampled = runs.filter((r) => r.resources && r.resources.length > 1 && r.round === 0);
  if (sampled.length === 0) return '';
  const rss: LineSeries[] = sampled.map((r) => ({ name: `${r.phase} ${r.target}`, points: r.resources!.map((s) => [s.t, s.rssMb]) }));
  // Beside RSS, what the probe noted: V8's young generation, which V8 resizes by its own rules, and
  // RSS without it, where a leak would show (bench/loop-probe.mjs).
  for (const r of sampled.filter((x) => x.probe?.memory && x.probe.memory.length > 1)) {
    const memory = r.probe!.memory!;
    rss.push({ name: `${r.phase} ${r.target} less young gen`, points: memory.map((m) => [m.t, m.rssMb - m.youngMb]) });
    rss.push({ name: `${r.phase} ${r.target} young gen`, points: memory.map((m) => [m.t, m.youngMb]) });
  }
  const cpu: LineSeries[] = sampled.map((r) => ({ name: `${r.phase} ${r.target}`, points: r.resources!.slice(1).map((s) => [s.t, s.cpuPct]) }));
  return el(
    'div',
    {},
    el('h2', {}, 'Relay resources'),
    el('p', { class: 'muted small' }, 'Sampled from /proc/<pid> of the relay process during each measured run (round 1); with the probe, its young generation and RSS less it, noted in the process once a second.'),
    el('div', { class: 'grid2' }, lineChart(rss, { title: 'RSS', xLabel: 's', yLabel: 'MB' }), lineChart(cpu, { title: 'CPU', xLabel: 's', yLabel: '% of one core' })),
  );
}

/**
 * A sweep (one file phase expanded over connections or rates): throughput and latency against
 * the swept value, one line per request kind and target, means over the rounds.
 */
function sweepCharts(runs: readonly RunRecord[]): Content {
  const out: Content[] = [];
  for (const [name, rs] of groupBy(runs.filter((r) => !r.stream && r.phaseName), (r) => r.phaseName!)) {
    const x = (r: RunRecord) => (r.load === 'closed' ? r.connections : r.rate);
    if (new Set(rs.map(x)).size < 2) continue;
    const series = (pick: (r: RunRecord) => number): LineSeries[] =>
      [...groupBy(rs, (r) => `${r.request} ${r.target}`)].map(([label, list]) => ({
        name: label,
        points: [...groupBy(list, (r) => String(x(r)))].map(([v, same]) => [Number(v), same.reduce((a, r) => a + pick(r), 0) / same.length] as [number, number]).sort((a, b) => a[0] - b[0]),
      }));
    const xLabel = rs[0].load === 'closed' ? 'connections' : 'offered rate (req/s)';
    out.push(
      el('h3', {}, `Sweep: ${name}`),
      el(
        'div',
        { class: 'grid2' },
        lineChart(series((r) => r.rps), { title: 'Throughput', xLabel, yLabel: 'req/s' }),
        lineChart(series((r) => r.latency.p99), { title: 'Latency p99', xLabel, yLabel: 'ms' }),
      ),
    );
  }
  return out.length ? [el('h2', {}, 'Sweeps'), ...out] : '';
}

function checksSection(result: BenchResult): Content {
  if (result.checks.length === 0) return '';
  // A run with the ceiling's twin shows what two identical proxies read for each ratio check.
  const twins = result.checks.some((c) => c.twin);
  const rounds = (rs: readonly number[] | undefined) => (rs && rs.length > 1 ? el('span', { class: 'muted' }, ` (rounds ${rs.map((v) => fmt(v, 2)).join(', ')})`) : '');
  return [
    el('h2', {}, 'Targets'),
    twins ? el('p', {}, "The ceiling's twin is a second process of the bare proxy, measured like the relay: the ceiling against itself. A ratio check tells the relay from the ceiling only by more than the twin's distance from 1.") : '',
    table(
      ['', 'target', 'metric', 'measured', 'required', ...(twins ? ["the ceiling's twin"] : [])],
      result.checks.map((c) => [
        c.ok === null ? badge('skip', 'N/A') : c.ok ? badge('pass') : badge('fail'),
        c.label,
        el('code', {}, c.metric),
        c.actual === null ? 'not measured' : [fmt(c.actual, 3), rounds(c.rounds)],
        `${c.op} ${c.value}`,
        ...(twins ? [c.twin ? [fmt(c.twin.actual, 3), rounds(c.twin.rounds)] : '–'] : []),
      ]),
    ),
  ];
}

/** The machine calibration of a result (bench/calibration.ts), or a dash for older results. */
export function calibrationText(c: BenchResult['environment']['calibration']): string {
  return c ? `${fmt(c.syscallUs)} / ${fmt(c.jsonUs)}` : '–';
}

function environmentTable(result: BenchResult): Raw {
  const e = result.environment;
  return table(
    ['node', 'CPU', 'cores', 'load avg (start → end)', 'µs per system call / JSON probe', 'commit', 'started', 'finished'],
    [
      [
        e.node,
        e.cpuModel,
        e.cores,
        `${fmt(e.loadAverage.start)} → ${fmt(e.loadAverage.end)}`,
        calibrationText(e.calibration),
        el('code', {}, `${e.git.commit.slice(0, 12)}${e.git.dirty ? ' (dirty)' : ''}`),
        result.startedAt,
        result.finishedAt,
      ],
    ],
  );
}

function metricsTable(result: BenchResult): Raw {
  return details(
    `All metrics (${result.metrics.length}), per round`,
    table(
      ['metric', 'unit', 'better', 'gate', 'mean', 'rounds'],
      result.metrics.map((m) => [el('code', {}, m.name), m.unit, m.better, m.gate ? 'yes' : '', fmt(m.mean, 3), m.values.map((v) => fmt(v, 3)).join(', ')]),
    ),
  );
}

export function renderResult(result: BenchResult): Content {
  const phases = groupBy(result.runs, (r) => r.phase);
  const passed = result.checks.filter((c) => c.ok === true).length;
  const failed = result.checks.filter((c) => c.ok === false).length;
  return el(
    'section',
    { class: 'bench-result' },
    el('h2', {}, `${result.benchmark}`),
    result.description ? el('p', {}, result.description) : '',
    tiles([
      { label: 'targets', value: result.targets.map((t) => t.name).join(' · ') },
      { label: 'phases', value: phases.size },
      { label: 'measured runs', value: result.runs.length },
      { label: 'checks passed', value: `${passed}/${result.checks.length}`, verdict: failed ? 'fail' : result.checks.length ? 'pass' : 'skip' },
    ]),
    environmentTable(result),
    result.notes.map((n) => el('p', { class: 'note' }, badge('info', 'NOTE'), ' ', n)),
    checksSection(result),
    sweepCharts(result.runs),
    [...phases].map(([phase, runs]) => el('div', { class: 'phase' }, el('h3', {}, phase), runs[0].stream ? streamPhaseTables(result, phase, runs) : requestPhaseTables(result, phase, runs))),
    resourceCharts(result.runs),
    metricsTable(result),
    el('p', { class: 'muted small' }, `Targets: ${result.targets.map((t) => `${t.name} (${t.kind}) ${t.url}`).join('; ')}`),
  );
}

export function renderBenchReport(results: readonly BenchResult[]): string {
  const names = results.map((r) => r.benchmark).join(', ');
  return page({
    title: `relaylab benchmark: ${names}`,
    subtitle: `${results[0]?.environment.cpuModel ?? ''} · ${results[0]?.environment.cores ?? '?'} cores · node ${results[0]?.environment.node ?? ''} · ${results[0]?.startedAt ?? ''}`,
    body: results.map(renderResult),
    css: `.phase { margin-top: 18px; } table.overhead td:first-child { white-space: nowrap; } .note { margin: 6px 0; }`,
  });
}
