import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, parseYamlConfig } from '../lib/yaml-config.js';
import { benchConfigSchema, expandPhases, loadBenchConfig } from './config.js';
import { schedule } from './open-load.js';
import { parseCpuTicks, parseRssKb, rssGrowthPct } from './resources.js';

describe('benchmark files', () => {
  it('every bench/*.yaml validates', () => {
    const dir = import.meta.dirname;
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const f of files) expect(loadBenchConfig(join(dir, f)).name).toBe(f.replace('.yaml', ''));
  });

  it('expands list-valued request / connections / rate into named phases', () => {
    const cfg = loadBenchConfig(join(import.meta.dirname, 'sweep.yaml'));
    const ids = expandPhases(cfg.phases).map((p) => p.id);
    expect(ids).toContain('closed-chat-c1');
    expect(ids).toContain('closed-messages-c200');
    expect(ids).toContain('rate-chat-r1000');
    expect(ids.length).toBe(2 * 4 + 2 * 3);
  });

  it('errors name the line and the field', () => {
    const text = ['name: x', 'upstreams:', '  - { name: a, kind: openai }', 'phases:', '  - name: p', '    load: closed', '    request: chat', ''].join('\n');
    try {
      parseYamlConfig(text, benchConfigSchema, 'x.yaml');
      expect.fail('should throw');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(/x\.yaml:5:\d+: phases\[0\]\.connections: a closed-model phase needs connections/);
    }
  });

  it('only an open-model phase may run its targets side by side', () => {
    const text = ['name: x', 'upstreams:', '  - { name: a, kind: openai }', 'phases:', '  - { name: p, load: closed, connections: 5, request: chat, side_by_side: true }', ''].join('\n');
    expect(() => parseYamlConfig(text, benchConfigSchema, 'x.yaml')).toThrow(/x\.yaml:5:\d+: phases\[0\]\.side_by_side: only open-model phases/);
    const open = ['name: x', 'upstreams:', '  - { name: a, kind: openai }', 'phases:', '  - { name: p, load: open, rate: 5, request: chat, side_by_side: true }', ''].join('\n');
    expect(parseYamlConfig(open, benchConfigSchema, 'x.yaml').phases[0].side_by_side).toBe(true);
  });

  it('mock upstreams are checked by the mocks schema', () => {
    const text = ['name: x', 'upstreams:', '  - { name: a, kind: gemini }', 'phases:', '  - { name: p, load: open, rate: 10, request: chat }', ''].join('\n');
    expect(() => parseYamlConfig(text, benchConfigSchema, 'x.yaml')).toThrow(/upstreams\[0\]\.kind/);
  });
});

describe('load helpers', () => {
  it('a fixed-rate schedule is evenly spaced from the start', () => {
    expect(schedule(1000, 5)).toEqual([0, 1, 2, 3, 4]);
    expect(schedule(4, 1000)).toEqual([0, 250, 500, 750]);
  });

  it('reads CPU ticks and RSS from /proc formats', () => {
    const stat = '1234 (node (tsx)) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 11 0 100 0 0';
    expect(parseCpuTicks(stat)).toBe(300);
    expect(parseRssKb('Name:\tnode\nVmRSS:\t  123456 kB\n')).toBe(123456);
  });

  it('RSS growth compares the start and the end of the window', () => {
    const flat = Array.from({ length: 20 }, (_, i) => ({ t: i, rssMb: 100 + (i % 2), cpuPct: 50 }));
    expect(Math.abs(rssGrowthPct(flat))).toBeLessThan(2);
    const growing = Array.from({ length: 20 }, (_, i) => ({ t: i, rssMb: 100 + i * 2, cpuPct: 50 }));
    expect(rssGrowthPct(growing)).toBeGreaterThan(25);
    // A sawtooth (garbage piling up between full collections) is flat wherever its teeth fall at the ends.
    const tooth = (i: number) => 300 + (i % 60) * 8;
    for (const shift of [0, 13, 29, 45]) {
      const saw = Array.from({ length: 600 }, (_, i) => ({ t: i, rssMb: tooth(i + shift), cpuPct: 50 }));
      expect(Math.abs(rssGrowthPct(saw))).toBeLessThan(10);
    }
    // A leak under the same sawtooth is not.
    const leaking = Array.from({ length: 600 }, (_, i) => ({ t: i, rssMb: tooth(i) + i * 0.5, cpuPct: 50 }));
    expect(rssGrowthPct(leaking)).toBeGreaterThan(25);
    // An instant (one sample) of released pages in a compaction is not the start's level; a
    // level held for seconds is, and growth from it still shows.
    const dip = Array.from({ length: 600 }, (_, i) => ({ t: i, rssMb: i < 45 ? 162 : i === 45 ? 124 : 140, cpuPct: 50 }));
    expect(Math.abs(rssGrowthPct(dip))).toBeLessThan(1);
    const lowStart = Array.from({ length: 600 }, (_, i) => ({ t: i, rssMb: i >= 40 && i < 50 ? 124 : 140, cpuPct: 50 }));
    expect(rssGrowthPct(lowStart)).toBeGreaterThan(12);
  });
});
