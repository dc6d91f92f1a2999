import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { compareResults, formatComparison, splitTargets, thresholdFor } from './compare.js';
import { main, parseThresholds } from './compare-cli.js';
import { emptyBenchResult } from './result-fixture.js';
import type { BenchResult, Metric } from './results.js';

function metric(name: string, values: number[], better: 'smaller' | 'bigger', gate = true, minEffectPct = 5): Metric {
  return { name, unit: better === 'bigger' ? 'req/s' : 'ms', better, values, mean: values.reduce((a, b) => a + b, 0) / values.length, gate, minEffectPct, minEffectAbs: 0 };
}

function result(metrics: Metric[], benchmark = 'overhead'): BenchResult {
  return emptyBenchResult({ benchmark, metrics });
}

const base = result([
  metric('rate/relay/p50_ms', [1.0, 1.05, 0.98], 'smaller'),
  metric('closed/relay/rps', [5000, 5100, 4950], 'bigger'),
  metric('closed/direct/rps', [12000, 12500, 11800], 'bigger', false),
]);

describe('bench:compare', () => {
  it('passes two runs of the same build', () => {
    const head = result([
      metric('rate/relay/p50_ms', [1.02, 0.99, 1.01], 'smaller'),
      metric('closed/relay/rps', [5050, 4990, 5080], 'bigger'),
      metric('closed/direct/rps', [12100, 12400, 11900], 'bigger', false),
    ]);
    const c = compareResults(base, head);
    expect(c.outcome).toBe('pass');
    expect(c.metrics.every((m) => m.verdict === 'unchanged')).toBe(true);
  });

  it('warns when the two runs were on machines whose system calls cost very differently', () => {
    const on = (syscallUs: number) => {
      const r = result(base.metrics);
      r.environment = { ...r.environment, calibration: { syscallUs, jsonUs: 2 } };
      return r;
    };
    const differ = compareResults(on(0.5), on(2.6));
    expect(differ.warnings[0]).toMatch(/not on comparable machines \(a system call costs 0.5 µs in base and 2.6 µs in head\)/);
    expect(formatComparison(differ)).toContain('not on comparable machines');
    expect(compareResults(on(2.5), on(2.6)).warnings).toEqual([]);
    // Results written before calibration existed compare without the warning.
    expect(compareResults(base, on(2.6)).warnings).toEqual([]);
  });

  it('flags an injected 2 ms delay as a regression', () => {
    const head = result([
      metric('rate/relay/p50_ms', [3.1, 3.2, 3.05], 'smaller'),
      metric('closed/relay/rps', [4200, 4300, 4150], 'bigger'),
      metric('closed/direct/rps', [12100, 12400, 11900], 'bigger', false),
    ]);
    const c = compareResults(base, head);
    expect(c.outcome).toBe('regression');
    expect(c.metrics.filter((m) => m.verdict === 'regression').map((m) => m.name).sort()).toEqual(['closed/relay/rps', 'rate/relay/p50_ms']);
    expect(formatComparison(c)).toContain('REGRESSION in 2 of 2 gated metrics');
  });

  it('a regression in an ungated (baseline) metric does not fail the comparison', () => {
    const head = result([
      metric('rate/relay/p50_ms', [1.0, 1.05, 0.98], 'smaller'),
      metric('closed/relay/rps', [5000, 5100, 4950], 'bigger'),
      metric('closed/direct/rps', [6000, 6100, 6050], 'bigger', false),
    ]);
    const c = compareResults(base, head);
    expect(c.metrics.find((m) => m.name === 'closed/direct/rps')!.verdict).toBe('regression');
    expect(c.outcome).toBe('pass');
  });

  it('says when the runs are too noisy to tell', () => {
    const head = result([metric('rate/relay/p50_ms', [0.8, 2.5, 1.1], 'smaller'), metric('closed/relay/rps', [5000, 5100, 4950], 'bigger')]);
    const c = compareResults(base, head);
    expect(c.metrics.find((m) => m.name === 'rate/relay/p50_ms')!.verdict).toBe('noisy');
    expect(c.outcome).toBe('noisy');
    expect(c.summary).toContain('too noisy');
    expect(c.onlyInBase).toEqual(['closed/direct/rps']);
  });

  it('per-metric thresholds (exact or glob) change the minimum effect', () => {
    const head = result([metric('rate/relay/p50_ms', [1.2, 1.25, 1.18], 'smaller'), metric('closed/relay/rps', [5000, 5100, 4950], 'bigger')]);
    expect(compareResults(base, head).outcome).toBe('regression');
    expect(compareResults(base, head, { thresholds: { '*/p50_ms': 25 } }).outcome).toBe('pass');
    expect(compareResults(base, head, { thresholds: { 'rate/relay/p50_ms': 25 } }).outcome).toBe('pass');
  });

  it('an absolute minimum effect keeps tiny changes of near-zero metrics unchanged', () => {
    const b = result([{ ...metric('rate/relay/added_p50_ms', [0.2, 0.21, 0.19], 'smaller'), minEffectAbs: 0.25 }]);
    const h = result([{ ...metric('rate/relay/added_p50_ms', [0.3, 0.31, 0.29], 'smaller'), minEffectAbs: 0.25 }]);
    const c = compareResults(b, h);
    expect(c.metrics[0].changePct).toBeGreaterThan(40);
    expect(c.metrics[0].verdict).toBe('unchanged');
    const h2 = result([{ ...metric('rate/relay/added_p50_ms', [2.2, 2.3, 2.25], 'smaller'), minEffectAbs: 0.25 }]);
    expect(compareResults(b, h2).outcome).toBe('regression');
  });

  it('warns when the baseline itself moved between the runs', () => {
    const head = result([
      metric('rate/relay/p50_ms', [1.0, 1.05, 0.98], 'smaller'),
      metric('closed/relay/rps', [5000, 5100, 4950], 'bigger'),
      metric('closed/direct/rps', [6000, 6100, 6050], 'bigger', false),
    ]);
    expect(compareResults(base, head).warnings.join(' ')).toMatch(/closed\/direct\/rps moved -50/);
  });

  it('a relative metric is not a regression when its baseline moved between the runs', () => {
    const b = result([metric('rate/relay/added_p99_ms', [2, 2.2, 1.9], 'smaller'), metric('rate/direct/p99_ms', [5, 5.2, 4.9], 'smaller', false)]);
    const busy = result([metric('rate/relay/added_p99_ms', [9, 9.5, 8.8], 'smaller'), metric('rate/direct/p99_ms', [40, 45, 38], 'smaller', false)]);
    const c = compareResults(b, busy);
    const m = c.metrics.find((x) => x.name === 'rate/relay/added_p99_ms')!;
    expect(m.verdict).toBe('noisy');
    expect(m.note).toMatch(/worse, but rate\/direct\/p99_ms, which it is measured against, itself changed/);
    expect(c.outcome).toBe('noisy');
    const calm = result([metric('rate/relay/added_p99_ms', [9, 9.5, 8.8], 'smaller'), metric('rate/direct/p99_ms', [5.1, 5.0, 5.1], 'smaller', false)]);
    expect(compareResults(b, calm).outcome).toBe('regression');
  });

  it('treats an improvement like a regression: a moved baseline makes both noisy', () => {
    const b = result([metric('rate/relay/added_p99_ms', [9, 9.5, 8.8], 'smaller'), metric('rate/direct/p99_ms', [40, 45, 38], 'smaller', false)]);
    const quiet = result([metric('rate/relay/added_p99_ms', [2, 2.2, 1.9], 'smaller'), metric('rate/direct/p99_ms', [5, 5.2, 4.9], 'smaller', false)]);
    const m = compareResults(b, quiet).metrics.find((x) => x.name === 'rate/relay/added_p99_ms')!;
    expect(m.verdict).toBe('noisy');
    expect(m.note).toMatch(/^better, but rate\/direct\/p99_ms/);
    const calm = result([metric('rate/relay/added_p99_ms', [2, 2.2, 1.9], 'smaller'), metric('rate/direct/p99_ms', [40.5, 44, 38.5], 'smaller', false)]);
    expect(compareResults(b, calm).metrics.find((x) => x.name === 'rate/relay/added_p99_ms')!.verdict).toBe('improvement');
  });

  it('a ratio to the ceiling is noisy, not a regression, when the ceiling itself moved', () => {
    const b = result([metric('closed/relay/rps_vs_ceiling', [0.8, 0.82, 0.79], 'bigger'), metric('closed/proxy/rps', [5000, 5100, 4950], 'bigger', false)]);
    const h = result([metric('closed/relay/rps_vs_ceiling', [0.6, 0.62, 0.61], 'bigger'), metric('closed/proxy/rps', [8000, 8100, 7900], 'bigger', false)]);
    const c = compareResults(b, h);
    expect(c.metrics.find((x) => x.name === 'closed/relay/rps_vs_ceiling')!.note).toMatch(/closed\/proxy\/rps, which it is measured against/);
    expect(c.outcome).toBe('noisy');
  });

  it('prints every noisy metric with the interval its change may lie in', () => {
    const b = result([metric('closed/relay/rps', [5000, 5600, 4500], 'bigger')]);
    const h = result([metric('closed/relay/rps', [4200, 5300, 3900], 'bigger')]);
    const c = compareResults(b, h);
    const m = c.metrics[0];
    expect(m.verdict).toBe('noisy');
    // Welch's 90% interval of head - base contains the observed change and is wider than it.
    expect(m.interval[0]).toBeLessThan(m.headMean - m.baseMean);
    expect(m.interval[1]).toBeGreaterThan(0);
    expect(formatComparison(c)).toMatch(/noisy \(gated\): closed\/relay\/rps 5033 -> 4467 req\/s \(-11\.3%\), change \[-\d+\.\d%, \+\d+\.\d%\] at 90%, p 0\.\d{3}/);
  });

  it('refuses to compare different benchmarks', () => {
    expect(() => compareResults(base, result([], 'sweep'))).toThrow(/cannot compare/);
  });

  it('resolves thresholds: exact beats glob, longer glob beats shorter', () => {
    const t = { '*': 7, '*/p99_ms': 15, 'rate/relay/p99_ms': 20 };
    expect(thresholdFor('rate/relay/p99_ms', t, 5)).toBe(20);
    expect(thresholdFor('closed/relay/p99_ms', t, 5)).toBe(15);
    expect(thresholdFor('closed/relay/rps', t, 5)).toBe(7);
    expect(thresholdFor('closed/relay/rps', {}, 5)).toBe(5);
  });

  it('parses --threshold values and rejects malformed ones', () => {
    expect(parseThresholds(['closed/relay/p99_ms=10', '*/rps=3%'])).toEqual({ 'closed/relay/p99_ms': 10, '*/rps': 3 });
    expect(() => parseThresholds(['p99'])).toThrow(/metric=percent/);
  });
});

describe('two relays of one run', () => {
  function run(target: string, round: number, p50: number) {
    return {
      phase: 'rate', target, baseline: 'direct', round, load: 'open' as const, request: 'chat', rate: 200, durationMs: 1000, ok: 200, errors: 0,
      statusCounts: {}, rps: 200, latency: { count: 200, mean: p50, stddev: 0, min: p50, p50, p90: p50, p99: p50 * 2, p999: p50 * 2, max: p50 * 2 }, histogram: '', timeline: [],
    };
  }
  const rounds = [0, 1, 2, 3, 4];
  const direct = [1.0, 1.4, 0.9, 2.5, 1.1];
  const one = result([]);
  one.runs = rounds.flatMap((r) => [run('direct', r, direct[r]), run('relay+0ms', r, direct[r] + 0.5 + r * 0.01), run('relay+2ms', r, direct[r] + 2.6 - r * 0.01)]);

  it('compares them round by round against the shared direct baseline', () => {
    const [b, h] = splitTargets(one, 'relay+0ms', 'relay+2ms');
    expect(new Set(b.runs.map((r) => r.target))).toEqual(new Set(['direct', 'relay']));
    const c = compareResults(b, h);
    const added = c.metrics.find((m) => m.name === 'rate/relay/added_p50_ms')!;
    expect(added.verdict).toBe('regression');
    expect(c.metrics.find((m) => m.name === 'rate/direct/p50_ms')!.verdict).toBe('unchanged');
    expect(c.outcome).toBe('regression');
    const same = compareResults(...splitTargets(one, 'relay+0ms', 'relay+0ms'));
    expect(same.metrics.find((m) => m.name === 'rate/relay/added_p50_ms')!.verdict).toBe('unchanged');
    expect(same.outcome).toBe('pass');
  });

  it('names the targets a run has when one is missing', () => {
    expect(() => splitTargets(one, 'relay', 'relay+2ms')).toThrow(/target "relay" not in overhead \(has: direct, relay\+0ms, relay\+2ms\)/);
  });
});

describe('pnpm bench:compare (cli)', () => {
  it('exits 1 on a regression, 0 for the same build, and writes the HTML and github files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'relaylab-compare-'));
    const write = (name: string, r: BenchResult) => {
      const p = join(dir, name);
      writeFileSync(p, JSON.stringify(r));
      return p;
    };
    const b = write('base.json', base);
    const same = write('same.json', result([metric('rate/relay/p50_ms', [1.01, 1.0, 1.02], 'smaller'), metric('closed/relay/rps', [5020, 5060, 4990], 'bigger')]));
    const slow = write('slow.json', result([metric('rate/relay/p50_ms', [3.1, 3.2, 3.05], 'smaller'), metric('closed/relay/rps', [5000, 5100, 4950], 'bigger')]));
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      expect(await main([b, same, '--out', join(dir, 'same.html')])).toBe(0);
      expect(await main([b, slow, '--out', join(dir, 'slow.html'), '--github', join(dir, 'gh')])).toBe(1);
      expect(await main([b, slow, '--out', join(dir, 'loose.html'), '--threshold', 'rate/relay/p50_ms=500'])).toBe(0);
    } finally {
      out.mockRestore();
    }
    expect(readFileSync(join(dir, 'slow.html'), 'utf8')).toContain('REGRESSION');
    expect(existsSync(join(dir, 'gh.smaller.json')) && existsSync(join(dir, 'gh.bigger.json'))).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 'gh.smaller.json'), 'utf8'))[0]).toMatchObject({ name: 'overhead/rate/relay/p50_ms', unit: 'ms' });
  });

  it('refuses a file that is not a benchmark result', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'relaylab-compare-'));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"hello":1}');
    await expect(main([bad, bad])).rejects.toThrow(/not a relaylab benchmark result/);
  });
});

describe('a planted 15% regression against two runs of one build', () => {
  /** Five rounds around `mean` with a coefficient of variation of `cvPct`, from a fixed seed. */
  function rounds(mean: number, cvPct: number, seed: number): number[] {
    let x = seed;
    const uniform = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    // Sum of uniforms, centred and scaled to unit variance (Irwin-Hall, n = 12).
    const normal = () => Array.from({ length: 12 }, uniform).reduce((a, b) => a + b, 0) - 6;
    return Array.from({ length: 5 }, () => mean * (1 + (cvPct / 100) * normal()));
  }
  const gate = (ratio: number[], addedP50: number[], direct: number[]) =>
    result([
      metric('closed-10/relay/rps_vs_ceiling', ratio, 'bigger'),
      metric('rate-200/relay/added_p50_ms', addedP50, 'smaller'),
      { ...metric('closed-10/proxy/rps', direct, 'bigger', false) },
      { ...metric('rate-200/direct/p50_ms', direct.map((d) => d / 10_000), 'smaller', false) },
    ]);

  it('flags the planted regression and passes the same build, at the round-to-round noise of a quiet machine (cv 4%)', () => {
    // The quiet machine of the last release: relative metrics moved 2-5% between rounds.
    const base = gate(rounds(0.8, 4, 1), rounds(0.6, 4, 2), rounds(9000, 3, 3));
    const same = gate(rounds(0.8, 4, 11), rounds(0.6, 4, 12), rounds(9000, 3, 13));
    const planted = gate(
      rounds(0.8, 4, 11).map((v) => v * 0.85),
      rounds(0.6, 4, 12).map((v) => v * 1.15),
      rounds(9000, 3, 13),
    );
    expect(compareResults(base, same).outcome).not.toBe('regression');
    const c = compareResults(base, planted);
    expect(c.outcome).toBe('regression');
    expect(c.metrics.filter((m) => m.verdict === 'regression').map((m) => m.name).sort()).toEqual(['closed-10/relay/rps_vs_ceiling', 'rate-200/relay/added_p50_ms']);
  });

  it('does not flag two real gate runs of one build, measured back to back on the shared machine of 2026-12-07', async () => {
    const dir = join(import.meta.dirname, 'fixtures');
    const a = join(dir, 'gate-same-build-a.json');
    const b = join(dir, 'gate-same-build-b.json');
    const out = mkdtempSync(join(tmpdir(), 'relaylab-compare-'));
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      expect(await main([a, b, '--out', join(out, 'same.html')])).toBe(0);
    } finally {
      write.mockRestore();
    }
    // The same runs with the relay's throughput cut by 15% in every round: at this machine's
    // round-to-round noise (a load average of 26 on 2 cores) that is not significant, and the
    // comparison says so instead of passing it silently.
    const planted = JSON.parse(readFileSync(b, 'utf8')) as BenchResult;
    for (const r of planted.runs) if (r.target === 'relay') r.rps *= 0.85;
    const c = compareResults(JSON.parse(readFileSync(a, 'utf8')) as BenchResult, planted);
    const ratio = c.metrics.find((m) => m.name === 'closed-10/relay/rps_ratio')!;
    expect(['noisy', 'regression']).toContain(ratio.verdict);
    expect(formatComparison(c)).toMatch(/noisy \(gated\)|REGRESSION/);
  });
});
