import { describe, expect, it } from 'vitest';
import { decodeHistogram, encodeHistogram, newHistogram, recordMs, summarize } from './histogram.js';
import { compareResults } from './compare.js';
import { emptyBenchResult } from './result-fixture.js';
import { cpuPerRequestRows, deriveMetrics, evaluateChecks, githubBenchmarkFiles, runMetrics, targetLabel, toGithubBenchmark, withRounds, type BenchResult, type RunRecord } from './results.js';

function run(target: string, round: number, rps: number, p50: number, p99: number): RunRecord {
  const h = newHistogram();
  recordMs(h, p50);
  return {
    phase: 'closed-50',
    target,
    baseline: 'direct',
    round,
    load: 'closed',
    request: 'chat',
    connections: 50,
    durationMs: 1000,
    ok: rps,
    errors: 0,
    statusCounts: { 200: rps },
    rps,
    latency: { count: rps, mean: p50, stddev: 0, min: p50, p50, p90: p50, p99, p999: p99, max: p99 },
    histogram: encodeHistogram(h),
    timeline: [],
  };
}

const runs = [run('direct', 0, 10_000, 1, 4), run('relay', 0, 4_000, 1.5, 6), run('direct', 1, 12_000, 1, 4), run('relay', 1, 3_000, 2, 8)];

describe('metrics', () => {
  it('collects one value per round for each target and metric', () => {
    const m = deriveMetrics(runs);
    const rps = m.find((x) => x.name === 'closed-50/relay/rps')!;
    expect(rps.values).toEqual([4000, 3000]);
    expect(rps.mean).toBe(3500);
    expect(rps.better).toBe('bigger');
    // Absolute figures inform; what gates is relative to the baseline measured in the same round.
    expect(rps.gate).toBe(false);
    expect(m.find((x) => x.name === 'closed-50/relay/rps_ratio')!.gate).toBe(true);
    expect(m.find((x) => x.name === 'closed-50/relay/added_p50_ms')!.gate).toBe(true);
    expect(m.find((x) => x.name === 'closed-50/direct/error_pct')!.gate).toBe(false);
    expect(m.find((x) => x.name === 'closed-50/relay/error_pct')!.gate).toBe(true);
  });

  it('derives relay-vs-baseline metrics from the same round', () => {
    const m = deriveMetrics(runs);
    expect(m.find((x) => x.name === 'closed-50/relay/rps_ratio')!.values).toEqual([0.4, 0.25]);
    expect(m.find((x) => x.name === 'closed-50/relay/added_p50_ms')!.values).toEqual([0.5, 1]);
    expect(m.find((x) => x.name === 'closed-50/relay/added_p99_ms')!.values).toEqual([2, 4]);
    expect(m.find((x) => x.name === 'closed-50/direct/rps_ratio')).toBeUndefined();
  });

  it('expands `relay` in checks to every relay target and reports unmeasured metrics', () => {
    const relay2 = runs.filter((r) => r.target === 'relay').map((r) => ({ ...r, target: 'other', rps: r.rps * 2 }));
    const m = deriveMetrics([...runs, ...relay2]);
    const checks = evaluateChecks(
      [
        { metric: 'closed-50/relay/rps_ratio', op: '>=', value: 0.3, label: 'ratio' },
        { metric: 'rate-1000/relay/added_p50_ms', op: '<', value: 0.5 },
      ],
      m,
      ['relay', 'other'],
    );
    expect(checks.map((c) => [c.metric, c.ok])).toEqual([
      ['closed-50/relay/rps_ratio', true],
      ['closed-50/other/rps_ratio', true],
      ['rate-1000/relay/added_p50_ms', null],
      ['rate-1000/other/added_p50_ms', null],
    ]);
    expect(checks[0].actual).toBeCloseTo(0.325, 9);
  });

  it('checks the median of the rounds, each round against its own ceiling, naming the variant', () => {
    // Three rounds; in round 1 the machine starved the relay: a mean would fail, the median passes.
    const rounds = [0, 1, 2].flatMap((round) => [
      { ...run('direct', round, 10_000, 1, 4) },
      { ...run('proxy', round, [4_000, 2_000, 5_000][round], 1.2, 5), kind: 'proxy' as const },
      { ...run('relay', round, [3_600, 200, 4_500][round], 1.3, 6), kind: 'relay' as const, ceiling: 'proxy' },
    ]);
    const m = deriveMetrics(rounds);
    const ratio = m.find((x) => x.name === 'closed-50/relay/rps_vs_ceiling')!;
    expect(ratio.values).toEqual([0.9, 0.1, 0.9]);
    expect(ratio.median).toBeCloseTo(0.9, 9);
    expect([ratio.min, ratio.max]).toEqual([0.1, 0.9]);
    const [check] = evaluateChecks([{ metric: 'closed-50/relay/rps_vs_ceiling', op: '>=', value: 0.8 }], m, ['relay'], new Map([['relay', 'as shipped' as const]]));
    expect(check).toMatchObject({ ok: true, target: 'relay', variant: 'as shipped', rounds: [0.9, 0.1, 0.9] });
    expect(check.actual).toBeCloseTo(0.9, 9);
    expect(withRounds(check.actual!, check.rounds)).toBe('median 0.900 (rounds 0.900, 0.100, 0.900)');
    // Failures are judged by the worst round: errors in one round of three are not "zero errors".
    const failing = [0, 1, 2].flatMap((round) => [
      { ...run('direct', round, 10_000, 1, 4) },
      { ...run('relay', round, 3_000, 1.3, 6), errors: round === 2 ? 2_000 : 0, kind: 'relay' as const },
    ]);
    const [errors] = evaluateChecks([{ metric: 'closed-50/relay/error_pct', op: '<=', value: 0 }], deriveMetrics(failing), ['relay']);
    expect(errors).toMatchObject({ ok: false, judgedBy: 'worst round', rounds: [0, 0, 40] });
    expect(withRounds(errors.actual!, errors.rounds, 1, errors.judgedBy)).toBe('worst round 40.0 (rounds 0.0, 0.0, 40.0)');
    expect(targetLabel('relay', 'as shipped')).toBe('relay (as shipped)');
    expect(targetLabel('proxy', 'ceiling')).toBe('proxy (ceiling)');
    expect(targetLabel('mine', undefined)).toBe('mine');
  });

  it("sets the ceiling's twin beside each ratio check, as a reference that never gates", () => {
    const rounds = [0, 1, 2].flatMap((round) => [
      { ...run('direct', round, 10_000, 1, 4) },
      { ...run('proxy', round, 4_000, 1.2, 5), kind: 'proxy' as const },
      { ...run('twin', round, [2_000, 4_400, 4_000][round], 1.2, 5), kind: 'twin' as const, ceiling: 'proxy' },
      { ...run('relay', round, 3_600, 1.3, 6), kind: 'relay' as const, ceiling: 'proxy' },
    ]);
    const m = deriveMetrics(rounds);
    const twin = m.find((x) => x.name === 'closed-50/twin/rps_vs_ceiling')!;
    expect(twin.values).toEqual([0.5, 1.1, 1]);
    expect(twin.gate).toBe(false);
    expect(m.find((x) => x.name === 'closed-50/relay/rps_vs_ceiling')!.gate).toBe(true);
    const [check, errors] = evaluateChecks(
      [
        { metric: 'closed-50/relay/rps_vs_ceiling', op: '>=', value: 0.8 },
        { metric: 'closed-50/relay/error_pct', op: '<=', value: 0 },
      ],
      m,
      ['relay'],
    );
    expect(check.twin).toEqual({ actual: 1, rounds: [0.5, 1.1, 1] });
    // Only ratios to the ceiling have a twin to be read against.
    expect(errors.twin).toBeUndefined();
  });

  it('puts the CPU per request of the relays and the ceiling side by side', () => {
    const withCpu = (r: RunRecord, pcts: number[]): RunRecord => ({ ...r, resources: pcts.map((cpuPct, t) => ({ t, rssMb: 50, cpuPct })) });
    const rounds = [0, 1].flatMap((round) => [
      run('direct', round, 10_000, 1, 4),
      { ...withCpu(run('proxy', round, 5_000, 1.2, 5), [0, 50, 50]), kind: 'proxy' as const },
      { ...withCpu(run('relay', round, 4_000, 1.3, 6), [0, 60, 60]), kind: 'relay' as const, ceiling: 'proxy' },
    ]);
    const rows = cpuPerRequestRows(deriveMetrics(rounds), [
      { name: 'proxy', kind: 'proxy', variant: 'ceiling', url: '' },
      { name: 'relay', kind: 'relay', variant: 'as shipped', url: '' },
    ]);
    // 50% of a core at 5,000 req/s = 100 µs per request; 60% at 4,000 = 150 µs.
    expect(rows.map((r) => [r.target, r.variant, Math.round(r.medianUs), r.vsCeiling?.toFixed(2)])).toEqual([
      ['proxy', 'ceiling', 100, undefined],
      ['relay', 'as shipped', 150, '1.50'],
    ]);
  });

  it('exports github-action-benchmark entries split by direction', () => {
    const m = deriveMetrics(runs);
    const env = { node: 'v20', platform: 'linux', arch: 'x64', cpuModel: 'cpu', cores: 2, totalMemoryMb: 1, loadAverage: { start: 0 }, git: { commit: 'abc', dirty: false } };
    const out = toGithubBenchmark({ benchmark: 'overhead', metrics: m, environment: env });
    expect(out.customBiggerIsBetter.map((e) => e.name)).toContain('overhead/closed-50/relay/rps');
    expect(out.customSmallerIsBetter.map((e) => e.name)).toContain('overhead/closed-50/relay/p50_ms');
    for (const e of [...out.customBiggerIsBetter, ...out.customSmallerIsBetter]) {
      expect(Object.keys(e).sort()).toEqual(['extra', 'name', 'range', 'unit', 'value']);
      expect(typeof e.value).toBe('number');
    }
    expect(out.customBiggerIsBetter.find((e) => e.name === 'overhead/closed-50/relay/rps')!.value).toBe(3500);
    const files = githubBenchmarkFiles({ benchmark: 'overhead', metrics: m, environment: env }, '/x/run');
    expect(files.map((f) => f.path)).toEqual(['/x/run.smaller.json', '/x/run.bigger.json']);
    expect(JSON.parse(files[1].text)).toEqual(out.customBiggerIsBetter);
  });
});

describe('memory', () => {
  // The relay under 20 req/s of 100 kB bodies (resources-agents, probe once a second): the young
  // generation at 32 MB, shrunk to 4 MB by a memory-reducing collection early in the window and
  // grown back later, with everything else flat. Raw RSS reads that as growth; RSS less the young
  // generation does not, and still sees a leak elsewhere.
  const young = (t: number) => (t < 100 ? 32 : t < 400 ? 4 + (t - 100) / 25 : 32);
  const withMemory = (leakMbPerS: number): RunRecord => {
    const memory = Array.from({ length: 600 }, (_, t) => ({ t, youngMb: young(t), rssMb: 80 + young(t) + leakMbPerS * t }));
    return {
      ...run('relay', 0, 20, 1, 4),
      resources: memory.map((x) => ({ t: x.t, rssMb: x.rssMb, cpuPct: 5 })),
      probe: { loopDelayMs: { p50: 0, p99: 1, max: 2, samples: 60_000 }, gc: { count: 0, totalMs: 0, maxMs: 0, byKind: {} }, memory },
    };
  };

  it("judges RSS growth without the young generation's resizing, and still sees a leak", () => {
    const flat = runMetrics(withMemory(0));
    expect(flat.rss_growth_pct).toBeGreaterThan(25);
    expect(Math.abs(flat.rss_less_young_growth_pct)).toBeLessThan(1);
    expect(flat.young_max_mb).toBe(32);
    // 0.05 MB/s: 30 MB over the 10 minutes on an 80 MB floor.
    expect(runMetrics(withMemory(0.05)).rss_less_young_growth_pct).toBeGreaterThan(25);
  });

  it('has no such figure for a run without the probe\'s memory samples (older results, relays run by someone else)', () => {
    const older = withMemory(0);
    delete older.probe!.memory;
    expect(runMetrics(older).rss_less_young_growth_pct).toBeUndefined();
    expect(runMetrics(older).rss_growth_pct).toBeGreaterThan(25);
  });
});

describe('upstream CPU', () => {
  it("a run against the bare server reports the bare server's CPU, per request too", () => {
    const m = runMetrics({ ...run('bare', 0, 20_000, 1, 4), bareCpuPct: 90, mockCpuPct: 0.5 });
    expect(m.bare_cpu_pct).toBe(90);
    // 90% of a core over 20,000 requests a second: 0.045 ms of CPU each.
    expect(m.bare_cpu_ms_per_req).toBeCloseTo(0.045, 6);
    expect(runMetrics(run('direct', 0, 20_000, 1, 4))).not.toHaveProperty('bare_cpu_pct');
  });
});

describe('stream runs', () => {
  const latency = { count: 1, mean: 50, stddev: 0, min: 50, p50: 50, p90: 50, p99: 50, p999: 50, max: 50 };
  type Late = { p50: number; p99: number; max: number };
  const streamRun = (late: { upstreamLateMs?: Late; mockLateMs?: Late } = {}): RunRecord => ({
    ...run('direct', 0, 100, 1, 2),
    load: 'stream',
    stream: {
      streams: 10,
      completed: 9,
      incomplete: 1,
      stalls: 0,
      events: 400,
      eventsPerSecond: 200,
      ttfb: latency,
      firstEvent: latency,
      gap: { ...latency, p99: 57 },
      total: latency,
      histograms: { ttfb: '', firstEvent: '', gap: '', total: '' },
      eventsTimeline: [],
      expectedGapMs: 50,
      ...late,
    },
  });

  it("report the upstream's own lateness next to the client's gap, and nothing for results without it", () => {
    const m = runMetrics(streamRun({ upstreamLateMs: { p50: 1, p99: 3, max: 8 } }));
    expect(m).toMatchObject({ gap_p99_ms: 57, upstream_late_p99_ms: 3, incomplete_pct: 10 });
    expect(runMetrics(streamRun())).not.toHaveProperty('upstream_late_p99_ms');
  });

  it('read the lateness of results written before the bare server streamed (the mock\'s)', () => {
    expect(runMetrics(streamRun({ mockLateMs: { p50: 1, p99: 4, max: 9 } }))).toMatchObject({ upstream_late_p99_ms: 4 });
  });
});

describe('first content', () => {
  const at = (ms: number) => ({ count: 10, mean: ms, stddev: 0, min: ms, p50: ms, p90: ms, p99: ms, p999: ms, max: ms });
  /** A stream run whose first event and first content came `event` and `content` ms after the send. */
  const streamRun = (target: string, round: number, event: number, content: number | undefined): RunRecord => ({
    ...run(target, round, 100, 1, 2),
    phase: 'streams',
    load: 'stream',
    request: 'chat-stream',
    ceiling: target === 'relay' ? 'proxy' : undefined,
    stream: {
      streams: 10,
      completed: 10,
      incomplete: 0,
      stalls: 0,
      events: 400,
      eventsPerSecond: 200,
      ttfb: at(1),
      firstEvent: at(event),
      ...(content === undefined ? {} : { firstContent: at(content) }),
      gap: at(50),
      total: at(2000),
      histograms: { ttfb: '', firstEvent: '', gap: '', total: '' },
      eventsTimeline: [],
    },
  });
  // The upstream sends the start events at once and the content 50 ms later; the proxy forwards
  // the start events at once, the relay holds them until the content.
  const timed = [0, 1].flatMap((r) => [streamRun('direct', r, 1, 51), streamRun('proxy', r, 2, 53), streamRun('relay', r, 54, 54)]);
  const metric = (runs: RunRecord[], name: string) => deriveMetrics(runs).find((m) => m.name === `streams/${name}`);

  it("judge a stream target by what it adds to the first content, not to the first event, against the ceiling's", () => {
    expect(metric(timed, 'relay/first_content_added_p50_ms')).toMatchObject({ values: [3, 3], gate: true });
    expect(metric(timed, 'relay/first_content_added_p50_vs_ceiling')!.values).toEqual([1.5, 1.5]);
    // The held start events make the first event 53 ms later than direct's: shown, not gated, no ratio.
    expect(metric(timed, 'relay/first_event_added_p50_ms')).toMatchObject({ values: [53, 53], gate: false });
    expect(metric(timed, 'relay/first_event_added_p50_vs_ceiling')).toBeUndefined();
  });

  it("count a stream target's CPU per stream (its request and all its events), against the ceiling's", () => {
    // 10 streams in 1 s at 40% of a core: 40 ms of CPU per stream; the proxy at 25%.
    const sampled = (r: RunRecord, pct: number): RunRecord => ({ ...r, rps: 10, resources: [0, 1, 2].map((t) => ({ t, rssMb: 100, cpuPct: pct })) });
    const runs = [0, 1].flatMap((r) => [streamRun('direct', r, 1, 51), sampled(streamRun('proxy', r, 2, 53), 25), sampled(streamRun('relay', r, 54, 54), 40)]);
    expect(metric(runs, 'relay/cpu_ms_per_stream')!.values).toEqual([40, 40]);
    expect(metric(runs, 'relay/cpu_per_stream_vs_ceiling')!.values).toEqual([1.6, 1.6]);
    expect(metric(runs, 'relay/cpu_ms_per_req')).toBeUndefined();
    const rows = cpuPerRequestRows(deriveMetrics(runs), []);
    expect(rows.find((r) => r.target === 'relay')).toMatchObject({ per: 'stream', medianUs: 40_000, vsCeiling: 1.6 });
  });

  it('read results from before first content was timed without inventing it, and say so in a comparison', () => {
    const old = [0, 1].flatMap((r) => [streamRun('direct', r, 1, undefined), streamRun('proxy', r, 2, undefined), streamRun('relay', r, 3, undefined)]);
    expect(metric(old, 'relay/first_content_added_p50_ms')).toBeUndefined();
    expect(metric(old, 'relay/first_event_added_p50_ms')!.values).toEqual([2, 2]);
    const result = (runs: RunRecord[]): BenchResult => emptyBenchResult({ benchmark: 'streaming', runs });
    const c = compareResults(result(old), result(timed));
    expect(c.onlyInHead).toContain('streams/relay/first_content_added_p50_ms');
    expect(c.warnings.join('\n')).toMatch(/first event only/);
    // The first event moved 3 -> 54 ms by design (the hold): not a regression.
    expect(c.metrics.find((m) => m.name === 'streams/relay/first_event_added_p50_ms')!.gate).toBe(false);
  });
});

describe('histograms', () => {
  it('round-trip through the compressed encoding with microsecond resolution', () => {
    const h = newHistogram();
    for (let i = 1; i <= 1000; i++) recordMs(h, i / 10);
    const back = decodeHistogram(encodeHistogram(h));
    const s = summarize(back);
    expect(s.count).toBe(1000);
    expect(s.p50).toBeCloseTo(50, 0);
    expect(s.p99).toBeCloseTo(99, 0);
    expect(s.min).toBeCloseTo(0.1, 3);
  });
});
