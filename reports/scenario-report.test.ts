import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ScenarioResult } from '../scenarios/engine/result.js';
import { renderReport } from './chromium.js';
import { renderScenarioReport } from './scenario-report.js';

const OUT = join(dirname(fileURLToPath(import.meta.url)), 'out');

function request(index: number, attempts: Array<[string, number]>, status = 200) {
  return {
    index,
    protocol: 'anthropic' as const,
    method: 'POST',
    path: '/v1/messages',
    stream: true,
    status,
    headers: {},
    requestId: `req-${index}`,
    text: 'Hello there',
    events: 9,
    streamEnd: 'terminal' as const,
    aborted: false,
    durationMs: 42,
    ttfbMs: 12,
    malformedLines: 0,
    usage: { inputTokens: 12, outputTokens: 16, cacheWriteTokens: 0, cacheReadTokens: 0 },
    attempts: attempts.map(([endpoint, s]) => ({ endpoint, channel: 'main', token: `sk-ant-…${endpoint}${endpoint}${endpoint}${endpoint}`, status: s, durationMs: 5 })),
    upstreamHits: [],
  };
}

export function sampleResults(): ScenarioResult[] {
  const base = { file: 'scenarios/x.yaml', seed: 1, adapter: 'in-process', target: 'http://127.0.0.1:1234', startedAt: '2026-01-01T00:00:00.000Z', invariants: [{ name: 'invariant: no client key reached an upstream', pass: true, expected: 0, actual: 0 }] };
  return [
    {
      ...base,
      name: 'failover-tokens',
      description: 'A fails with 429, B serves with its own token',
      suites: ['routing'],
      status: 'pass',
      levels: { protocol: 'pass', resilience: 'none', reference: 'pass' },
      durationMs: 321,
      steps: [
        {
          index: 0,
          name: 'A rate-limited, B serves',
          action: 'request anthropic stream',
          status: 'pass',
          durationMs: 50,
          checks: [{ name: 'attempts', level: 'reference', pass: true, expected: ['A:429', 'B:200'], actual: ['A:429', 'B:200'] }],
          requests: [request(0, [['A', 429], ['B', 200]])],
          upstreamHits: [],
        },
      ],
      tokensSeen: [
        { upstream: 'up-a', kind: 'claude', url: 'http://127.0.0.1:1', tokens: [{ token: 'sk-ant-…AAAA', count: 1 }] },
        { upstream: 'up-b', kind: 'claude', url: 'http://127.0.0.1:2', tokens: [{ token: 'sk-ant-…BBBB', count: 1 }] },
      ],
    },
    {
      ...base,
      name: 'sticky-sessions',
      description: 'one session stays on one endpoint <even> when "quoted"',
      suites: ['sessions'],
      status: 'fail',
      levels: { protocol: 'pass', resilience: 'none', reference: 'fail' },
      durationMs: 99,
      steps: [
        {
          index: 0,
          name: 'ten requests of one session',
          action: 'request codex stream ×10',
          status: 'fail',
          durationMs: 70,
          checks: [{ name: 'same endpoint for every request', level: 'reference', pass: false, expected: true, actual: ['A', 'B'] }],
          requests: [request(0, [['A', 200]]), request(1, [['B', 200]])],
          upstreamHits: [],
        },
      ],
      tokensSeen: [],
    },
    { ...base, name: 'fastest', description: 'needs a clock', suites: ['routing'], status: 'not_applicable', levels: { protocol: 'none', resilience: 'none', reference: 'none' }, reason: 'target lacks: sticky', durationMs: 0, steps: [], invariants: [], tokensSeen: [] },
  ];
}

describe('renderScenarioReport', () => {
  it('escapes scenario text and draws one sequence per distinct attempt chain', () => {
    const out = renderScenarioReport(sampleResults());
    expect(out).toContain('&lt;even&gt; when &quot;quoted&quot;');
    expect(out).not.toContain('<even>');
    expect((out.match(/<figure class="seq">/g) ?? []).length).toBe(3);
    expect(out).toContain('upstream A');
    expect(out).toMatch(/expected<\/div><pre>true<\/pre>/);
  });

  it.skipIf(process.env.RELAYLAB_NO_CHROMIUM === '1')('renders in headless Chromium with no console errors, no outside requests, and shows the summary', async () => {
    mkdirSync(OUT, { recursive: true });
    const file = join(OUT, 'test-scenario-report.html');
    writeFileSync(file, renderScenarioReport(sampleResults()));
    const r = await renderReport(file, { screenshot: join(OUT, 'test-scenario-report.png') });
    expect(r.consoleErrors).toEqual([]);
    expect(r.externalRequests).toEqual([]);
    expect(r.title).toBe('relaylab conformance report');
    expect(r.summaryText).toMatch(/Summary/);
    expect(r.summaryText).toMatch(/failover-tokens/);
    expect(r.summaryText).toMatch(/passed/);
  });
});
