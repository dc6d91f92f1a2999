/**
 * The statistics behind `bench:compare`: Welch's unequal-variance t-test over the measured
 * rounds of two runs, and the verdict rule (significant at alpha AND larger than a minimum
 * effect), in the spirit of autocannon-compare. Pure functions, no I/O.
 */

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** The middle value (mean of the two middle ones for an even count); NaN for none. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Sample variance (n - 1); 0 for fewer than two values. */
export function variance(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) ** 2;
  return s / (xs.length - 1);
}

/** Coefficient of variation in per cent: how noisy one side's rounds are. */
export function cvPercent(xs: readonly number[]): number {
  const m = mean(xs);
  if (!Number.isFinite(m) || m === 0) return 0;
  return (Math.sqrt(variance(xs)) / Math.abs(m)) * 100;
}

// Lanczos approximation (g = 7, n = 9), accurate to ~15 digits for x > 0.
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0];
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i] / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction for the incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const TINY = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-14) break;
  }
  return h;
}

/** Regularised incomplete beta I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  // The continued fraction converges fast only on one side of the mean; use the symmetry otherwise.
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(a, b, x)) / a;
  return 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** Two-sided p-value of Student's t with df degrees of freedom. */
export function studentTTwoSidedP(t: number, df: number): number {
  if (!Number.isFinite(t)) return 0;
  if (!(df > 0)) return 1;
  return incompleteBeta(df / (df + t * t), df / 2, 0.5);
}

export interface WelchResult {
  t: number;
  df: number;
  /** Two-sided p-value; NaN when either side has fewer than two rounds. */
  p: number;
}

export function welchTTest(a: readonly number[], b: readonly number[]): WelchResult {
  if (a.length < 2 || b.length < 2) return { t: NaN, df: NaN, p: NaN };
  const va = variance(a) / a.length;
  const vb = variance(b) / b.length;
  const diff = mean(b) - mean(a);
  const se = Math.sqrt(va + vb);
  if (se === 0) {
    // No spread at all: any difference is certain, no difference is no evidence.
    return diff === 0 ? { t: 0, df: a.length + b.length - 2, p: 1 } : { t: diff > 0 ? Infinity : -Infinity, df: a.length + b.length - 2, p: 0 };
  }
  const t = diff / se;
  const df = (va + vb) ** 2 / ((va * va) / (a.length - 1) + (vb * vb) / (b.length - 1));
  return { t, df, p: studentTTwoSidedP(t, df) };
}

export type Better = 'smaller' | 'bigger';

/**
 *   regression / improvement - significant at alpha and at least the minimum effect, worse / better
 *   unchanged                - smaller than the minimum effect, in per cent or in absolute
 *                              units (whatever the test says)
 *   noisy                    - at least the minimum effect but not significant: the rounds are too
 *                              noisy to tell (or too few of them to test)
 */
export type Verdict = 'regression' | 'improvement' | 'unchanged' | 'noisy';

export interface VerdictInput {
  base: readonly number[];
  head: readonly number[];
  better: Better;
  /** Minimum effect in per cent (default 5). */
  minEffectPct?: number;
  /**
   * Minimum effect in the metric's own unit (default 0): a change must exceed both. Needed for
   * values near zero (0.2 ms of added latency becoming 0.3 ms is +50% and means nothing).
   */
  minEffectAbs?: number;
  /** Significance level (default 0.10). */
  alpha?: number;
}

export interface VerdictResult {
  verdict: Verdict;
  /**
   * The (1 - alpha) confidence interval of head - base (Welch), in the metric's unit: what the
   * rounds allow the change to be. NaN bounds when either side has fewer than two rounds.
   */
  interval: [number, number];
  baseMean: number;
  headMean: number;
  /** (head - base) / base in per cent; positive = larger value. */
  changePct: number;
  p: number;
  significant: boolean;
  minEffectPct: number;
  minEffectAbs: number;
  baseCvPct: number;
  headCvPct: number;
}

export function changePercent(base: number, head: number): number {
  if (base === 0) return head === 0 ? 0 : head > 0 ? Infinity : -Infinity;
  return ((head - base) / Math.abs(base)) * 100;
}

/** The t value with a two-sided p of `p` at df degrees of freedom (bisection on the exact p). */
export function studentTQuantile(p: number, df: number): number {
  if (!(df > 0) || !(p > 0 && p < 1)) return NaN;
  let lo = 0;
  let hi = 1;
  while (studentTTwoSidedP(hi, df) > p) hi *= 2;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (studentTTwoSidedP(mid, df) > p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Welch's (1 - alpha) confidence interval of mean(b) - mean(a). */
export function welchInterval(a: readonly number[], b: readonly number[], alpha: number): [number, number] {
  const diff = mean(b) - mean(a);
  if (a.length < 2 || b.length < 2) return [NaN, NaN];
  const va = variance(a) / a.length;
  const vb = variance(b) / b.length;
  const se = Math.sqrt(va + vb);
  if (se === 0) return [diff, diff];
  const df = (va + vb) ** 2 / ((va * va) / (a.length - 1) + (vb * vb) / (b.length - 1));
  const t = studentTQuantile(alpha, df);
  return [diff - t * se, diff + t * se];
}

export function judge(input: VerdictInput): VerdictResult {
  const minEffectPct = input.minEffectPct ?? 5;
  const minEffectAbs = input.minEffectAbs ?? 0;
  const alpha = input.alpha ?? 0.1;
  const baseMean = mean(input.base);
  const headMean = mean(input.head);
  const changePct = changePercent(baseMean, headMean);
  const { p } = welchTTest(input.base, input.head);
  const significant = Number.isFinite(p) && p < alpha;
  const worse = input.better === 'smaller' ? changePct > 0 : changePct < 0;
  let verdict: Verdict;
  if (Math.abs(changePct) < minEffectPct || Math.abs(headMean - baseMean) < minEffectAbs) verdict = 'unchanged';
  else if (!significant) verdict = 'noisy';
  else verdict = worse ? 'regression' : 'improvement';
  return {
    verdict,
    interval: welchInterval(input.base, input.head, alpha),
    baseMean,
    headMean,
    changePct,
    p,
    significant,
    minEffectPct,
    minEffectAbs,
    baseCvPct: cvPercent(input.base),
    headCvPct: cvPercent(input.head),
  };
}
