/**
 * Latency histograms for every benchmark: hdr-histogram-js recording MICROseconds (integers),
 * summarised in milliseconds. Raw histograms travel in the JSON results as compressed base64
 * (the HdrHistogram interchange format), so a report or a later comparison can re-read them.
 */
import * as hdr from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';

export type { Histogram };

export function newHistogram(): Histogram {
  // 1 µs .. 10 min, 3 significant digits; autoResize keeps a freak outlier from throwing.
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3, autoResize: true });
}

/** Records a duration given in milliseconds (fractions kept to the microsecond). */
export function recordMs(h: Histogram, ms: number): void {
  h.recordValue(Math.max(1, Math.round(ms * 1000)));
}

export interface LatencySummary {
  count: number;
  mean: number;
  stddev: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

const US = 1000;

/** Percentiles in milliseconds; an empty histogram summarises to zeros with count 0. */
export function summarize(h: Histogram): LatencySummary {
  if (h.totalCount === 0) return { count: 0, mean: 0, stddev: 0, min: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
  return {
    count: h.totalCount,
    mean: h.mean / US,
    stddev: h.stdDeviation / US,
    min: h.minNonZeroValue / US,
    p50: h.getValueAtPercentile(50) / US,
    p90: h.getValueAtPercentile(90) / US,
    p99: h.getValueAtPercentile(99) / US,
    p999: h.getValueAtPercentile(99.9) / US,
    max: h.maxValue / US,
  };
}

export function encodeHistogram(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

export function decodeHistogram(encoded: string): Histogram {
  return hdr.decodeFromCompressedBase64(encoded);
}

/** Buckets for a chart: the value (ms) at each percentile of a fixed ladder, for percentile plots. */
export const PERCENTILE_LADDER = [0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 100];

export function percentileCurve(h: Histogram): Array<{ percentile: number; ms: number }> {
  if (h.totalCount === 0) return [];
  return PERCENTILE_LADDER.map((p) => ({ percentile: p, ms: (p === 0 ? h.minNonZeroValue : h.getValueAtPercentile(p)) / US }));
}

/**
 * A count-per-bin view for a histogram chart: `bins` equal-width bins between the minimum and
 * the p99.9 value (the tail beyond goes into the last bin, so one outlier cannot flatten the plot).
 */
export function binnedCounts(h: Histogram, bins = 40): Array<{ fromMs: number; toMs: number; count: number }> {
  if (h.totalCount === 0) return [];
  const lo = h.minNonZeroValue;
  const hi = Math.max(lo + 1, h.getValueAtPercentile(99.9));
  const width = (hi - lo) / bins;
  const out = Array.from({ length: bins }, (_, i) => ({ fromMs: (lo + i * width) / US, toMs: (lo + (i + 1) * width) / US, count: 0 }));
  // Walk the distribution through percentile steps: hdr-histogram-js exposes no public
  // recorded-value iterator, so approximate counts from the quantile function (0.1% steps).
  const steps = 1000;
  let prev = lo;
  for (let i = 1; i <= steps; i++) {
    const v = h.getValueAtPercentile((i / steps) * 100);
    const mid = (prev + v) / 2;
    const idx = Math.min(bins - 1, Math.max(0, Math.floor((mid - lo) / width)));
    out[idx].count += h.totalCount / steps;
    prev = v;
  }
  for (const b of out) b.count = Math.round(b.count);
  return out;
}
