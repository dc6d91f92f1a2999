import { describe, expect, it } from 'vitest';
import { changePercent, cvPercent, judge, logGamma, median, studentTQuantile, studentTTwoSidedP, welchInterval, welchTTest } from './stats.js';

// Reference values from scipy.stats (ttest_ind(equal_var=False), t.sf).
const A = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4];
const B = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4];

describe('Student t and Welch', () => {
  it('logGamma matches factorials', () => {
    expect(Math.exp(logGamma(5))).toBeCloseTo(24, 9);
    expect(Math.exp(logGamma(0.5))).toBeCloseTo(Math.sqrt(Math.PI), 9);
  });

  it('two-sided p-values match scipy', () => {
    expect(studentTTwoSidedP(2.0, 3)).toBeCloseTo(0.139325968558843, 9);
    expect(studentTTwoSidedP(-2.0, 3)).toBeCloseTo(0.139325968558843, 9);
    expect(studentTTwoSidedP(0.5, 1.5)).toBeCloseTo(0.68056711066994, 9);
    expect(studentTTwoSidedP(0, 10)).toBeCloseTo(1, 12);
  });

  it('Welch t, df and p match scipy on the textbook sample', () => {
    const r = welchTTest(A, B);
    expect(r.t).toBeCloseTo(2.455356398286006, 9);
    expect(r.df).toBeCloseTo(24.988529290231416, 6);
    expect(r.p).toBeCloseTo(0.021378001462866992, 7);
  });

  it('cannot test fewer than two rounds', () => {
    expect(Number.isNaN(welchTTest([1], [1, 2]).p)).toBe(true);
  });

  it('zero spread: equal means give p=1, different means p=0', () => {
    expect(welchTTest([5, 5, 5], [5, 5]).p).toBe(1);
    expect(welchTTest([5, 5, 5], [6, 6]).p).toBe(0);
  });
});

describe('verdicts', () => {
  const steady = [100, 101, 99, 100, 100];

  it('flags a significant latency increase above the minimum effect as a regression', () => {
    const r = judge({ base: steady, head: [110, 111, 109, 110, 110], better: 'smaller' });
    expect(r.verdict).toBe('regression');
    expect(r.changePct).toBeCloseTo(10, 6);
    expect(r.significant).toBe(true);
  });

  it('the same increase in a throughput metric is an improvement', () => {
    expect(judge({ base: steady, head: [110, 111, 109, 110, 110], better: 'bigger' }).verdict).toBe('improvement');
  });

  it('a significant change below the minimum effect is unchanged', () => {
    const r = judge({ base: steady, head: [103, 104, 102, 103, 103], better: 'smaller' });
    expect(r.significant).toBe(true);
    expect(r.verdict).toBe('unchanged');
  });

  it('a per-metric minimum effect overrides the default', () => {
    expect(judge({ base: steady, head: [103, 104, 102, 103, 103], better: 'smaller', minEffectPct: 2 }).verdict).toBe('regression');
  });

  it('a large but non-significant change is called noisy, not a regression', () => {
    const r = judge({ base: [100, 60, 140], head: [130, 80, 180], better: 'smaller' });
    expect(Math.abs(r.changePct)).toBeGreaterThan(5);
    expect(r.verdict).toBe('noisy');
    expect(r.baseCvPct).toBeGreaterThan(30);
  });

  it('one round per side is too few to call a regression', () => {
    expect(judge({ base: [100], head: [200], better: 'smaller' }).verdict).toBe('noisy');
  });

  it('change percent handles zero bases', () => {
    expect(changePercent(0, 0)).toBe(0);
    expect(changePercent(0, 1)).toBe(Infinity);
    expect(changePercent(50, 25)).toBe(-50);
    expect(cvPercent([1, 1, 1])).toBe(0);
  });
});

describe('welchInterval', () => {
  it('is the mean difference plus or minus the t quantile times the standard error', () => {
    // Equal spread and size: df = 2n - 2 = 4, t(0.10, 4) = 2.132.
    expect(studentTQuantile(0.1, 4)).toBeCloseTo(2.132, 3);
    expect(studentTQuantile(0.05, 10)).toBeCloseTo(2.228, 3);
    const [lo, hi] = welchInterval([1, 2, 3], [2, 3, 4], 0.1);
    const se = Math.sqrt(1 / 3 + 1 / 3);
    expect(lo).toBeCloseTo(1 - 2.132 * se, 2);
    expect(hi).toBeCloseTo(1 + 2.132 * se, 2);
    expect(welchInterval([1], [2, 3], 0.1).every(Number.isNaN)).toBe(true);
  });
});

describe('median', () => {
  it('is the middle value, the mean of the two middle ones for an even count, NaN for none', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([0.1, 5, 0.9])).toBe(0.9);
    expect(median([])).toBeNaN();
  });
});
