import { describe, expect, it } from 'vitest';
import { loadAll, type LoadedScenario } from './load.js';
import { levelViolations, LEVEL_RULES } from './levels.js';
import { expectationsByLevel } from './expect.js';

describe('levels of conformance', () => {
  it('refuses reference-only checks at protocol level: exact attempt chains, admin endpoints, durations', () => {
    const v = levelViolations(
      {
        status: 200,
        upstreams: { 'up-a': 1 },
        max_duration: 5000,
        headers: { 'retry-after': '2', 'content-type': 'text/event-stream' },
        protocol: { attempts: ['A:200'], state: { A: { cooldown: true } }, only_token: { 'up-a': 't' } },
        resilience: { attempts: ['A:429', 'B:200'], order: ['up-a', 'up-b'], billing: { pending: 0 } },
        reference: { attempts: ['A:200'], stats: {} },
      },
      'protocol',
    );
    expect(v.map((x) => `${x.level} ${x.path.join('.')}`).sort()).toEqual(
      [
        'protocol upstreams',
        'protocol max_duration',
        'protocol headers.retry-after',
        'protocol protocol.attempts',
        'protocol protocol.state',
        'resilience resilience.attempts',
        'resilience resilience.billing',
      ].sort(),
    );
  });

  it('records written directly under expect are reference, whatever the scenario level', () => {
    expect(levelViolations({ attempts: ['A:200'], state: {}, health: {}, served_by: 'A' }, 'protocol')).toEqual([]);
    expect(levelViolations({ upstreams: { a: 1 }, order: ['a'] }, 'resilience')).toEqual([]);
  });

  it('a scenario file with a reference-only check labelled protocol is refused with where and why', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'relaylab-levels-'));
    writeFileSync(
      join(dir, 'bad-level.yaml'),
      [
        'name: bad-level',
        'description: an exact attempt chain claimed as protocol',
        'suites: [routing]',
        'mocks: [{ name: up-a, kind: claude, tokens: [Token-A] }]',
        'relay: { channels: [{ name: main, endpoints: [{ name: A, type: claude, upstream: up-a, token: Token-A }] }] }',
        'steps:',
        '  - request: { protocol: anthropic }',
        '    expect: { status: 200, protocol: { attempts: ["A:200"] } }',
      ].join('\n'),
    );
    const [loaded] = loadAll(dir);
    expect('error' in loaded).toBe(true);
    const message = (loaded as { error: Error }).error.message;
    expect(message).toMatch(/bad-level\.yaml:8:\d+/);
    expect(message).toMatch(/attempts may not be a protocol check/);
  });

  // Every scenario of the repository: no check a relay with another valid policy would fail is
  // claimed as protocol (the loader refuses them; this names the scenario if one slips in).
  it('every shipped scenario labels its checks honestly', () => {
    const loaded = loadAll();
    const broken = loaded.filter((l) => 'error' in l).map((l) => `${l.file}: ${(l as { error: Error }).error.message}`);
    expect(broken).toEqual([]);
    for (const { scenario } of loaded as LoadedScenario[]) {
      for (const step of scenario.steps) {
        for (const block of expectationsByLevel(step.expect, scenario.level)) {
          for (const key of Object.keys(block.expect)) {
            const rule = LEVEL_RULES[key];
            if (rule) expect(rule.allowed, `${scenario.name}: ${key} at ${block.level}`).toContain(block.level);
          }
        }
      }
    }
  });
});
