import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main as scenarioMain } from './cli.js';
import { exitCode, junitSuites, main as conformanceMain } from './conformance.js';
import type { ScenarioResult } from './engine/result.js';

const dir = mkdtempSync(join(tmpdir(), 'relaylab-cli-'));
const out = join(dir, 'out');

function file(name: string, status: number): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(
    path,
    [
      `name: ${name}`,
      'description: one request through one endpoint',
      'suites: [routing]',
      'mocks: [{ name: up, kind: openai, tokens: [sk-proj-cli-TTTT] }]',
      'relay:',
      '  health: { enabled: false }',
      '  channels: [{ name: main, endpoints: [{ name: E, type: openai, upstream: up, token: sk-proj-cli-TTTT }] }]',
      'steps:',
      `  - request: { protocol: openai-chat }`,
      `    expect: { status: ${status}, resilience: { upstreams: { up: 1 } } }`,
    ].join('\n'),
  );
  return path;
}

describe('pnpm scenario exit codes', () => {
  beforeEach(() => {
    vi.spyOn(console, 'log').mockImplementation(() => {});
    vi.spyOn(console, 'error').mockImplementation(() => {});
  });
  afterEach(() => vi.restoreAllMocks());

  it('0 when every expectation holds, and writes the HTML and JSON reports', async () => {
    expect(await scenarioMain([file('cli-pass', 200), '--out', out])).toBe(0);
    const written = readdirSync(out).filter((f) => f.startsWith('cli-pass-'));
    expect(written.some((f) => f.endsWith('.html'))).toBe(true);
    const json = JSON.parse(readFileSync(join(out, written.find((f) => f.endsWith('.json'))!), 'utf8'));
    expect(json.results[0]).toMatchObject({ name: 'cli-pass', status: 'pass' });
  });

  it('1 when an expectation fails', async () => {
    expect(await scenarioMain([file('cli-fail', 418), '--out', out])).toBe(1);
  });

  it('2 when the scenario cannot run: invalid file, unknown scenario, bad arguments', async () => {
    const bad = join(dir, 'cli-bad.yaml');
    writeFileSync(bad, 'name: cli-bad\ndescription: x\nsuites: [routing]\nmocks: []\nrelay: {}\nsteps: []\n');
    expect(await scenarioMain([bad, '--out', out])).toBe(2);
    expect(vi.mocked(console.error).mock.calls.flat().join('\n')).toMatch(/cli-bad\.yaml:4:\d+: mocks: /);
    expect(await scenarioMain(['no-such-scenario'])).toBe(2);
    expect(await scenarioMain([file('cli-pass', 200), '--adapter', 'manual'])).toBe(2);
    expect(await scenarioMain([file('cli-pass', 200), '--seed', 'abc'])).toBe(2);
  });
});

function result(name: string, suites: string[], status: ScenarioResult['status']): ScenarioResult {
  return {
    name,
    description: '',
    file: `${name}.yaml`,
    suites,
    seed: 1,
    adapter: 'in-process',
    target: '',
    status,
    levels: {
      protocol: status === 'pass' ? 'pass' : status === 'fail' ? 'fail' : 'none',
      resilience: 'none',
      reference: status === 'pass' ? 'pass' : status === 'skipped' ? 'skipped' : 'none',
    },
    reason: status === 'error' ? 'relay did not start' : status === 'skipped' ? 'every check was skipped: the target does not show its records or state' : undefined,
    startedAt: '2026-01-01T00:00:00.000Z',
    durationMs: 10,
    steps:
      status === 'fail'
        ? [{ index: 0, name: 'request', action: 'request', status: 'fail', durationMs: 5, checks: [{ name: 'status', level: 'protocol', pass: false, expected: 200, actual: 500 }], requests: [], upstreamHits: [] }]
        : status === 'skipped'
          ? [{ index: 0, name: 'request', action: 'request', status: 'skipped', durationMs: 5, checks: [{ name: 'attempts', level: 'reference', pass: true, skipped: true, reason: 'the target does not show its records or state' }], requests: [], upstreamHits: [] }]
          : [],
    invariants: [],
    tokensSeen: [],
  };
}

describe('pnpm conformance', () => {
  it('files each scenario once per level it has checks in; failures as failures, all-skipped levels as skipped (never passed), could-not-run as errors', () => {
    const suites = junitSuites([
      result('a', ['routing', 'config'], 'pass'),
      result('b', ['health'], 'fail'),
      result('c', ['config'], 'error'),
      result('d', ['routing'], 'not_applicable'),
      result('e', ['routing'], 'skipped'),
    ]);
    expect(suites.map((s) => [s.name, s.cases.map((c) => `${c.name}:${c.status}`)])).toEqual([
      ['routing', ['a [protocol]:pass', 'a [reference]:pass', 'd:skip', 'e [reference]:skip']],
      ['health', ['b [protocol]:fail']],
      ['config', ['c:error']],
    ]);
    expect(suites[1].cases[0]).toMatchObject({ classname: 'conformance.health.protocol', message: '1. request: status', details: expect.stringContaining('expected: 200') });
    expect(suites[0].cases[3]).toMatchObject({ message: 'every reference check was skipped: the target does not show its records or state' });
    expect(junitSuites([result('a', ['routing', 'config'], 'pass')], ['config'])[0].name).toBe('config');
  });

  it('exit code: 0 pass or not applicable, 1 failed expectation, 2 could not run', () => {
    expect(exitCode([result('a', ['routing'], 'pass'), result('d', ['routing'], 'not_applicable'), result('e', ['routing'], 'skipped')])).toBe(0);
    expect(exitCode([result('a', ['routing'], 'pass'), result('b', ['routing'], 'fail')])).toBe(1);
    expect(exitCode([result('b', ['routing'], 'fail'), result('c', ['routing'], 'error')])).toBe(2);
  });

  it('exit code 2 when the run cannot start', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(await conformanceMain(['no-such-suite'])).toBe(2);
    expect(await conformanceMain(['--adapter', 'manual'])).toBe(2);
    vi.restoreAllMocks();
  });
});
