/**
 * End to end: a tiny (1 s) overhead benchmark with the bare upstream, the bare proxy (the
 * ceiling), the relay as shipped and quiet, and the load in separate processes, its JSON and HTML
 * written, and the HTML rendered in headless Chromium.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderBenchReport } from '../reports/bench-report.js';
import { renderCompareReport } from '../reports/bench-compare-report.js';
import { compareResults } from './compare.js';
import { loadBenchConfig } from './config.js';
import { RESULT_SCHEMA, toGithubBenchmark, type BenchResult } from './results.js';
import { runBenchmark } from './runner.js';

const CHROMIUM = '/usr/bin/chromium';

async function renderInChromium(file: string, screenshot: string): Promise<{ errors: string[]; svgs: number; text: string }> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
    await page.goto(`file://${file}`);
    await page.screenshot({ path: screenshot, fullPage: true });
    return { errors, svgs: await page.locator('svg').count(), text: await page.locator('body').innerText() };
  } finally {
    await browser.close();
  }
}

describe('pnpm bench overhead, end to end', () => {
  it('runs a 1 s overhead benchmark and writes JSON and an HTML report that renders', async () => {
    const out = mkdtempSync(join(tmpdir(), 'relaylab-bench-'));
    const config = loadBenchConfig(join(import.meta.dirname, 'overhead.yaml'));
    // Keep it tiny: the open-model phase at 200 req/s, one round of 1 s after a short warm-up.
    // The open phase also with the ceiling's twin (streaming runs it by default, overhead on request).
    config.phases = config.phases.map((p) => (p.load === 'open' ? { ...p, rate: [200], targets: [...p.targets, 'twin' as const] } : { ...p, connections: [10] }));
    const result = await runBenchmark({ config, workDir: join(out, 'work'), rounds: 1, durationMs: 1000, warmupMs: 200 });

    const jsonPath = join(out, 'bench-overhead.json');
    const htmlPath = join(out, 'bench-overhead.html');
    writeFileSync(jsonPath, JSON.stringify(result));
    writeFileSync(htmlPath, renderBenchReport([result]));
    const back = JSON.parse(readFileSync(jsonPath, 'utf8')) as BenchResult;
    expect(back.schema).toBe(RESULT_SCHEMA);
    expect(back.environment.node).toBe(process.version);
    expect(back.environment.cores).toBeGreaterThan(0);
    expect(back.environment.git.commit).toMatch(/^[0-9a-f]{40}$|^unknown$/);
    expect(back.runs.map((r) => `${r.phase}/${r.target}`).sort()).toEqual([
      'closed-50/direct',
      'closed-50/proxy',
      'closed-50/relay',
      'closed-50/relay-quiet',
      'closed-50/twin',
      'rate-1000/direct',
      'rate-1000/proxy',
      'rate-1000/relay',
      'rate-1000/relay-quiet',
      'rate-1000/twin',
    ]);
    for (const r of back.runs) {
      expect(r.ok, `${r.phase}/${r.target} ${JSON.stringify(r.statusCounts)}`).toBeGreaterThan(0);
      expect(r.errors).toBe(0);
      expect(typeof r.histogram).toBe('string');
      expect(r.histogram.length).toBeGreaterThan(10);
    }
    // The latency phase runs its targets at once (side_by_side), the throughput phase one by one.
    const starts = (phase: string) => back.runs.filter((r) => r.phase === phase).map((r) => r.startedAtMs!).sort((a, b) => a - b);
    const together = starts('rate-1000');
    expect(together[together.length - 1] - together[0]).toBeLessThan(500);
    expect(back.runs.filter((r) => r.phase === 'rate-1000').every((r) => r.sideBySide)).toBe(true);
    const inTurn = starts('closed-50');
    for (let i = 1; i < inTurn.length; i++) expect(inTurn[i] - inTurn[i - 1]).toBeGreaterThanOrEqual(1000);
    // The relay and the proxy runs were sampled from /proc: CPU per request side by side.
    expect(back.runs.find((r) => r.target === 'relay')!.resources!.length).toBeGreaterThan(1);
    expect(back.runs.find((r) => r.target === 'proxy')!.resources!.length).toBeGreaterThan(1);
    expect(back.metrics.find((m) => m.name === 'closed-50/relay/rps_ratio')!.values).toHaveLength(1);
    const metric = (name: string) => back.metrics.find((m) => m.name === name);
    expect(metric('closed-50/relay/rps_vs_ceiling')!.values).toHaveLength(1);
    expect(metric('closed-50/relay/rps_vs_ceiling')!.gate).toBe(true);
    expect(metric('closed-50/proxy/rps_ratio')!.gate).toBe(false);
    expect(metric('closed-50/proxy/cpu_ms_per_req')!.mean).toBeGreaterThan(0);
    expect(metric('closed-50/relay/cpu_per_req_vs_ceiling')!.mean).toBeGreaterThan(0);
    expect(back.checks.map((c) => c.metric)).toEqual(expect.arrayContaining(['closed-50/relay/rps_vs_ceiling', 'closed-50/relay-quiet/rps_vs_ceiling', 'rate-1000/relay/added_p99_vs_ceiling']));
    // The ceiling's twin (a second proxy process) ran at 1,000 req/s beside the others: its own
    // added p99 over the proxy's stands next to the relay's check (when the proxy added any: a
    // ratio to 0 is no figure, in a 1 s run that happens), and never gates.
    const p99 = back.checks.find((c) => c.metric === 'rate-1000/relay/added_p99_vs_ceiling')!;
    expect(p99.twin?.rounds).toEqual(metric('rate-1000/twin/added_p99_vs_ceiling')?.values);
    expect(metric('rate-1000/twin/error_pct')!.gate).toBe(false);
    expect(metric('rate-1000/twin/added_p50_ms')!.gate).toBe(false);
    // At 50 connections the twin runs in turn like the others; a throughput ratio is always a figure.
    expect(back.checks.find((c) => c.metric === 'closed-50/relay/rps_vs_ceiling')!.twin?.rounds).toHaveLength(1);
    // As shipped the relay writes its access log (to a file here, as stderr would be in production); quiet does not.
    const work = join(out, 'work');
    expect(readFileSync(join(work, 'relay.log'), 'utf8')).toMatch(/"msg":"request"/);
    expect(readFileSync(join(work, 'relay-quiet.log'), 'utf8')).not.toMatch(/"msg":"request"/);
    expect(toGithubBenchmark(back).customBiggerIsBetter.length).toBeGreaterThan(0);

    const compareHtml = join(out, 'compare.html');
    writeFileSync(compareHtml, renderCompareReport(compareResults(back, back), back, back));

    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} missing: cannot check the report renders`);
    const shot = await renderInChromium(htmlPath, join(out, 'bench-overhead.png'));
    expect(shot.errors).toEqual([]);
    expect(shot.svgs).toBeGreaterThanOrEqual(8);
    expect(shot.text).toContain('closed-50');
    expect(shot.text).toContain("relay throughput at least 0.8x the bare undici proxy's");
    if (back.checks.some((c) => c.twin)) expect(shot.text).toContain("the ceiling's twin");
    const cmp = await renderInChromium(compareHtml, join(out, 'compare.png'));
    expect(cmp.errors).toEqual([]);
    expect(cmp.text).toContain('PASS');
  }, 180_000);
});
