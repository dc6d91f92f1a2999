import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lib/yaml-config.js';
import { loadAll, loadScenario } from './load.js';
import { blackBoxLayout, BLACK_BOX_LONGEST_WAIT_MS, parsePolicy, parsePolicyWait, resolvePolicyWait, timeScale } from './policy-time.js';
import { policyWaits } from './schema.js';

const LAYOUT = {
  cooldowns: { network: '5s', server_error: 0 },
  breaker: { open_for: '30s' },
  retry: { first_byte_timeout: '15s' },
  channels: [{ name: 'main', endpoints: [{ name: 'A', type: 'claude', base_url: 'http://127.0.0.1:9', token: 't' }] }],
};

describe('policy waits', () => {
  it('parses a name, a multiple and an offset, and resolves them against the layout with its defaults', () => {
    const cfg = parsePolicy(LAYOUT);
    expect(resolvePolicyWait(parsePolicyWait('cooldowns.network'), cfg)).toBe(5000);
    expect(resolvePolicyWait(parsePolicyWait('cooldowns.network + 1ms'), cfg)).toBe(5001);
    expect(resolvePolicyWait(parsePolicyWait('breaker.open_for - 1s'), cfg)).toBe(29_000);
    expect(resolvePolicyWait(parsePolicyWait('2 * breaker.open_for'), cfg)).toBe(60_000);
    // rate_limited is not written: the relay's default (10 s) is what the layout means
    expect(resolvePolicyWait(parsePolicyWait('cooldowns.rate_limited'), cfg)).toBe(10_000);
    expect(resolvePolicyWait(parsePolicyWait('breaker.open_for - cooldowns.network + 1ms'), cfg)).toBe(25_001);
    // the longest a failure keeps an endpoint out: channel_all_failed's and the breaker's 30 s here
    expect(resolvePolicyWait(parsePolicyWait('policy.longest + 1s'), cfg)).toBe(31_000);
  });

  it('refuses an unknown name with the known ones, and what is neither a duration nor a policy wait', () => {
    expect(() => parsePolicyWait('cooldowns.ratelimited')).toThrow(/unknown policy duration "cooldowns.ratelimited" \(known: cooldowns.rate_limited,/);
    expect(() => parsePolicyWait('cooldowns.network + a while')).toThrow(/expected a duration/);
    expect(() => parsePolicyWait('1s + 2s')).toThrow(/names no policy duration/);
  });
});

describe('black-box layouts', () => {
  it('shortens every policy duration by one factor, keeps 0 and leaves timeouts as written', () => {
    const l = blackBoxLayout(LAYOUT, 0.1) as typeof LAYOUT & Record<string, Record<string, unknown>>;
    const cfg = parsePolicy(l);
    expect(cfg.cooldowns).toMatchObject({ network: 500, server_error: 0, rate_limited: 1000, channel_all_failed: 3000 });
    expect(cfg.breaker.open_for).toBe(3000);
    expect(cfg.health.interval).toBe(3000);
    expect(cfg.retry.first_byte_timeout).toBe(15_000);
    expect(l.channels).toBe(LAYOUT.channels);
    expect(blackBoxLayout(LAYOUT, 1)).toBe(LAYOUT);
  });

  it('brings the longest policy wait to a few seconds, and leaves short ones alone', () => {
    expect(timeScale([5001, 30_001])).toBeCloseTo(BLACK_BOX_LONGEST_WAIT_MS / 30_001);
    expect(timeScale([2001])).toBe(1);
    expect(timeScale([])).toBe(1);
  });
});

const dir = mkdtempSync(join(tmpdir(), 'relaylab-policy-time-'));
const SCENARIO = (advance: string, cooldowns = '{ network: 5s }') => [
  'name: waits',
  'description: a policy wait',
  'suites: [resilience]',
  'mocks: [{ name: up-a, kind: claude, tokens: [Token-A] }]',
  'relay:',
  `  cooldowns: ${cooldowns}`,
  '  channels: [{ name: main, endpoints: [{ name: A, type: claude, upstream: up-a, token: Token-A }] }]',
  'steps:',
  '  - request: { protocol: anthropic }',
  `  - advance: ${advance}`,
];

function load(lines: string[]) {
  const file = join(dir, 'waits.yaml');
  writeFileSync(file, `${lines.join('\n')}\n`);
  try {
    return { file, scenario: loadScenario(file).scenario };
  } catch (err) {
    if (err instanceof ConfigError) return { file, error: err };
    throw err;
  }
}

describe('scenario files', () => {
  it('take a policy wait and resolve it against the layout in force', () => {
    const { scenario } = load(SCENARIO('cooldowns.network + 1ms'));
    expect(policyWaits(scenario!)).toEqual([{ step: 1, wait: { text: 'cooldowns.network + 1ms', terms: [{ sign: 1, times: 1, name: 'cooldowns.network' }, { sign: 1, ms: 1 }] }, ms: 5001 }]);
  });

  it('name file, line and field of a bad policy name', () => {
    const { file, error } = load(SCENARIO('cooldowns.netwrk + 1ms'));
    expect(error?.issues[0]).toMatchObject({ file, line: 10, field: 'steps[1].advance' });
    expect(error?.message).toContain(`${file}:10:`);
    expect(error?.issues[0].message).toMatch(/unknown policy duration "cooldowns.netwrk"/);
  });

  it('refuse a wait that comes to less than nothing under the layout', () => {
    const { error } = load(SCENARIO('cooldowns.server_error - 1ms', '{ server_error: 0 }'));
    expect(error?.issues[0]).toMatchObject({ line: 10, field: 'steps[1].advance' });
    expect(error?.issues[0].message).toMatch(/comes to -1ms/);
  });

  it('every shipped scenario that waits out a policy duration names it', () => {
    // A literal wait as long as a cooldown or breaker period would be minutes of real time on a black-box relay.
    // Waits that are no failover policy's, each on a feature a black-box relay rarely has.
    const notPolicy: Record<string, string> = {
      'crash-recovery': 'reservations outlive a restart: the billing ledger\u2019s own clock',
      'custom-pass-async': 'the custom-pass poller\u2019s interval and task timeout (pass section)',
      'sticky-sessions': 'sticky bindings of days, renewed below a threshold (needs sticky)',
    };
    const literal = loadAll().flatMap((l) => {
      if ('error' in l) throw l.error;
      if (l.scenario.name in notPolicy) return [];
      return l.scenario.steps.flatMap((s, i) => (typeof s.advance === 'number' && s.advance > BLACK_BOX_LONGEST_WAIT_MS ? [`${l.scenario.name} step ${i + 1}: advance ${s.advance}ms`] : []));
    });
    expect(literal).toEqual([]);
  });
});
