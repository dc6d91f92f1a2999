import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { HotCounter, HotHistogram } from './hot-metrics.js';

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

describe('hot metrics', () => {
  it('expose exactly what prom-client\'s Counter and Histogram expose for the same observations', async () => {
    const prom = new Registry();
    const pc = new Counter({ name: 'c_total', help: 'a counter', labelNames: ['protocol', 'path'] as const, registers: [prom] });
    const ph = new Histogram({ name: 'h_seconds', help: 'a histogram', labelNames: ['endpoint'] as const, buckets: BUCKETS, registers: [prom] });
    const hot = new Registry();
    const hc = new HotCounter('c_total', 'a counter', ['protocol', 'path'], hot);
    const hh = new HotHistogram('h_seconds', 'a histogram', ['endpoint'], BUCKETS, hot);

    const counts: Array<[string, string, number]> = [['openai-chat', '/v1/chat/completions', 1], ['anthropic', '/v1/messages', 3], ['openai-chat', '/v1/chat/completions', 2], ['x', 'a "quoted"\\path', 1]];
    for (const [protocol, path, n] of counts) {
      pc.inc({ protocol, path }, n);
      hc.inc([protocol, path], n);
    }
    const seconds: Array<[string, number]> = [['A', 0.003], ['B', 0.005], ['A', 0.7], ['A', 400], ['B', 0.0051], ['A', 0]];
    for (const [endpoint, v] of seconds) {
      ph.observe({ endpoint }, v);
      hh.observe([endpoint], v);
    }
    expect(await hot.metrics()).toBe(await prom.metrics());

    prom.resetMetrics();
    hot.resetMetrics();
    expect(await hot.metrics()).toBe(await prom.metrics());
  });

  it('refuse what prom-client refuses', () => {
    const r = new Registry();
    const c = new HotCounter('c_total', 'c', ['a'], r);
    const h = new HotHistogram('h', 'h', ['a'], BUCKETS, r);
    expect(() => c.inc(['x'], -1)).toThrow('It is not possible to decrease a counter');
    expect(() => c.inc(['x'], Number.POSITIVE_INFINITY)).toThrow(TypeError);
    expect(() => h.observe(['x'], Number.NaN)).toThrow(TypeError);
  });
});
