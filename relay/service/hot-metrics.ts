/**
 * A counter and a histogram for metrics fed on every request. prom-client's inc(labels) and
 * observe(labels, v) validate and hash the labels object on every call (its label children
 * too), about 0.5 µs each, several per request. These find their series by the label values
 * joined into one string and build the labels object only for a new series. They register in a
 * prom-client Registry as custom metrics and hand it the values in the shape its own Counter and
 * Histogram do, so the exposition text is the same (hot-metrics.test.ts compares the two).
 */
import type { Registry } from 'prom-client';

type Labels = Record<string, string>;

/** Separates label values in a series key: NUL is in no path, endpoint, channel or protocol name. */
const SEP = '\u0000';

function labelsOf(names: readonly string[], values: readonly string[]): Labels {
  const labels: Labels = {};
  for (let i = 0; i < names.length; i++) labels[names[i]] = values[i];
  return labels;
}

/** What both metrics share: registration, and a series found by its label values. */
abstract class HotMetric<S extends { labels: Labels }> {
  abstract readonly type: string;
  readonly aggregator = 'sum';
  protected series = new Map<string, S>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  /** The series of these label values (in labelNames order), made on first use. */
  protected seriesFor(values: readonly string[]): S {
    const key = values.join(SEP);
    let s = this.series.get(key);
    if (!s) {
      s = this.newSeries(labelsOf(this.labelNames, values));
      this.series.set(key, s);
    }
    return s;
  }

  protected abstract newSeries(labels: Labels): S;

  reset(): void {
    this.series = new Map();
  }
}

interface CounterSeries {
  labels: Labels;
  value: number;
}

export class HotCounter extends HotMetric<CounterSeries> {
  readonly type = 'counter';

  /** Adds `n` to the series of these label values, given in labelNames order. */
  inc(values: readonly string[], n = 1): void {
    // prom-client's checks, same messages.
    if (n && !Number.isFinite(n)) throw new TypeError(`Value is not a valid number: ${n}`);
    if (n < 0) throw new Error('It is not possible to decrease a counter');
    this.seriesFor(values).value += n;
  }

  protected newSeries(labels: Labels): CounterSeries {
    return { labels, value: 0 };
  }

  async get(): Promise<{ name: string; help: string; type: string; values: Array<{ labels: Labels; value: number }>; aggregator: string }> {
    const values = [...this.series.values()].map((s) => ({ labels: s.labels, value: s.value }));
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

interface HistogramSeries {
  labels: Labels;
  /** Observations per bucket (not cumulative), by upper bound index. */
  buckets: number[];
  sum: number;
  count: number;
}

interface HistogramValue {
  labels: Labels | { le: number | string };
  sharedLabels?: Labels;
  value: number;
  metricName: string;
}

export class HotHistogram extends HotMetric<HistogramSeries> {
  readonly type = 'histogram';

  constructor(name: string, help: string, labelNames: readonly string[], private readonly upperBounds: readonly number[], registry: Registry) {
    super(name, help, labelNames, registry);
  }

  protected newSeries(labels: Labels): HistogramSeries {
    return { labels, buckets: new Array<number>(this.upperBounds.length).fill(0), sum: 0, count: 0 };
  }

  /** Records `value` in the series of these label values, given in labelNames order. */
  observe(values: readonly string[], value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const s = this.seriesFor(values);
    const bounds = this.upperBounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]) {
        s.buckets[i]++;
        break;
      }
    }
    s.sum += value;
    s.count++;
  }

  /** As prom-client's Histogram hands them over: cumulative buckets, +Inf, sum, count per series. */
  async get(): Promise<{ name: string; help: string; type: string; values: HistogramValue[]; aggregator: string }> {
    const values: HistogramValue[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const s of this.series.values()) {
      let acc = 0;
      for (let i = 0; i < this.upperBounds.length; i++) {
        acc += s.buckets[i];
        values.push({ labels: { le: this.upperBounds[i] }, sharedLabels: s.labels, value: acc, metricName: bucketName });
      }
      values.push({ labels: { le: '+Inf' }, sharedLabels: s.labels, value: s.count, metricName: bucketName });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}
