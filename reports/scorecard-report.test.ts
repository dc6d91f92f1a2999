import { describe, expect, it } from 'vitest';
import type { Check } from '../scenarios/engine/expect.js';
import type { ScenarioResult, StepResult } from '../scenarios/engine/result.js';
import type { Level } from '../scenarios/engine/schema.js';
import { cellOf, realTimeWaitMs, renderScorecard, shortReason, summarize, type ScorecardTarget } from './scorecard-report.js';

const check = (name: string, pass: boolean, level?: Level, skipped = false): Check => ({ name, pass, skipped, expected: 'x', actual: pass ? 'x' : 'y', ...(level ? { level } : {}) });

function step(checks: Check[]): StepResult {
  return {
    index: 0,
    name: 'send',
    action: 'request anthropic',
    status: checks.some((c) => !c.pass && !c.skipped) ? 'fail' : 'pass',
    durationMs: 5,
    checks,
    requests: [],
    upstreamHits: [{ seq: 1, upstream: 'up-a', method: 'POST', path: '/v1/messages', status: 429, token: 'sk-ant…AAAA', disconnect: null, clientAborted: false, durationMs: 3 }],
  };
}

function result(name: string, checks: Check[], status: ScenarioResult['status'] = checks.some((c) => !c.pass && !c.skipped) ? 'fail' : 'pass'): ScenarioResult {
  return { name, description: name, file: `${name}.yaml`, suites: ['routing'], seed: 1, adapter: 'x', target: 'http://127.0.0.1:1', status, levels: { protocol: 'none', resilience: 'none', reference: 'none' }, startedAt: '2026-01-01T00:00:00Z', durationMs: 10, steps: [step(checks)], invariants: [], tokensSeen: [] };
}

describe('scorecard cells', () => {
  it('names the worst failing level, and a scenario whose checks were all skipped is skipped, not passed', () => {
    expect(cellOf(result('a', [check('status', true, 'protocol'), check('chain', false, 'reference')])).kind).toBe('reference');
    expect(cellOf(result('b', [check('failover', false, 'resilience'), check('chain', false, 'reference')])).kind).toBe('resilience');
    expect(cellOf(result('c', [check('token', false, 'protocol'), check('failover', false, 'resilience')])).kind).toBe('protocol');
    expect(cellOf(result('d', [check('status', true, 'protocol')])).kind).toBe('pass');
    expect(cellOf(result('e', [check('attempts', true, 'reference', true)], 'pass')).kind).toBe('skipped');
    expect(cellOf(result('f', [], 'not_applicable')).kind).toBe('skipped');
    expect(cellOf(result('g', [check('status', true, 'protocol', true)], 'skipped')).kind).toBe('skipped');
    expect(cellOf(undefined).kind).toBe('missing');
  });

  it('counts the scenarios that ran checks per relay', () => {
    const t: ScorecardTarget = {
      name: 'peer',
      description: 'a relay',
      url: 'http://127.0.0.1:1',
      adapter: 'peer.ts',
      durationMs: 1000,
      results: [result('a', [check('s', true, 'protocol')]), result('b', [check('s', false, 'protocol')]), result('c', [], 'not_applicable'), result('d', [check('s', true, 'protocol', true)], 'pass')],
    };
    const m = summarize(t);
    expect(m.ranChecks).toBe(2);
    expect(m.byKind).toMatchObject({ pass: 1, protocol: 1, skipped: 2 });
    expect(m.checksRan).toBe(2);
    expect(m.checksPassed).toBe(1);
  });

  it('renders one matrix row per scenario with a link from each failing cell to its evidence', () => {
    const html = renderScorecard({
      title: 'relaylab scorecard',
      startedAt: '2026-01-01T00:00:00Z',
      durationMs: 1000,
      machine: 'test',
      targets: [
        { name: 'reference', description: 'in process', url: 'http://127.0.0.1:1', adapter: 'in-process', durationMs: 1, results: [result('a', [check('s', true, 'protocol')]), result('b <x>', [check('s', true, 'protocol')])] },
        { name: 'peer', description: 'a relay', url: 'http://127.0.0.1:2', adapter: 'peer.ts', durationMs: 1, results: [result('a', [check('only_token', false, 'protocol')]), result('b <x>', [], 'not_applicable')] },
      ],
    });
    const matrix = html.match(/<table class="matrix">[\s\S]*?<\/table>/)![0];
    expect(matrix.match(/<tr>/g)?.length).toBe(1 + 2 + 1); // header, two scenarios, totals
    expect(html).toContain('href="#f-a-peer"');
    expect(html).toContain('id="f-a-peer"');
    expect(html).toContain('sk-ant…AAAA');
    expect(html).toContain('b &lt;x&gt;');
    expect(html).not.toMatch(/<(script|link)[^>]+(src|href)=/);
  });

  it('says in the cell why a scenario was skipped whole, and folds the evidence until a cell link opens it', () => {
    const html = renderScorecard({
      title: 'relaylab scorecard',
      startedAt: '2026-01-01T00:00:00Z',
      durationMs: 1000,
      machine: 'test',
      targets: [{ name: 'peer', description: 'a relay', url: 'http://127.0.0.1:2', adapter: 'peer.ts', durationMs: 1, results: [result('a', [check('s', false, 'protocol')]), { ...result('b', [], 'not_applicable'), reason: 'target lacks: sticky' }] }],
    });
    expect(html).toContain('not applicable: lacks sticky');
    expect(html).not.toMatch(/<details open/);
    expect(html).toContain("addEventListener('hashchange'");
    expect(shortReason(`every check was skipped: ${'x'.repeat(200)}`).length).toBe(90);
  });

  it('adds up the real time a relay without a virtual clock spent waiting', () => {
    const waited = (action: string, durationMs: number): StepResult => ({ ...step([]), action, durationMs });
    const r = { ...result('a', []), steps: [waited('wait cooldowns.network + 1ms = 501ms in real time (no virtual clock)', 520), waited('wait 200ms', 200), waited('advance clock 5s', 3)] };
    expect(realTimeWaitMs({ name: 'p', description: '', url: '', adapter: '', durationMs: 1, results: [r] })).toBe(520);
  });
});
