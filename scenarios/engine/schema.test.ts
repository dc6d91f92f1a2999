import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lib/yaml-config.js';
import { loadScenario } from './load.js';
import { requiredTranslations } from './schema.js';

const dir = mkdtempSync(join(tmpdir(), 'relaylab-scenario-'));

function write(name: string, lines: string[]): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

const VALID = [
  'name: tiny',
  'description: one request through one endpoint',
  'suites: [routing]',
  'mocks:',
  '  - name: up-a',
  '    kind: claude',
  '    tokens: [Token-A]',
  'relay:',
  '  channels:',
  '    - name: main',
  '      endpoints:',
  '        - { name: A, type: claude, upstream: up-a, token: Token-A }',
  '  keys: [{ key: rk-test-key-1, name: alice }]',
  'steps:',
  '  - request: { protocol: anthropic, model: claude-sonnet-4-5 }',
  '    expect: { status: 200, resilience: { upstreams: { up-a: 1 } }, attempts: ["A:200"] }',
];

function errorOf(file: string): ConfigError {
  try {
    loadScenario(file);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('scenario schema', () => {
  it('loads a valid file and keeps mock and relay values as written', () => {
    const { scenario } = loadScenario(write('tiny', VALID));
    expect(scenario.steps[0].request).toMatchObject({ protocol: 'anthropic', stream: false, count: 1 });
    expect(scenario.relay.channels?.[0].endpoints?.[0]).toEqual({ name: 'A', type: 'claude', upstream: 'up-a', token: 'Token-A' });
    expect(scenario.mocks[0]).toEqual({ name: 'up-a', kind: 'claude', tokens: ['Token-A'] });
  });

  it('names file, line and field of a wrong step value and says what was expected', () => {
    const lines = [...VALID];
    lines[14] = '  - request: { protocol: gopher, model: m }';
    const file = write('tiny', lines);
    const issue = errorOf(file).issues[0];
    expect(issue).toMatchObject({ file, line: 15, field: 'steps[0].request.protocol' });
    expect(issue.message).toMatch(/anthropic.*openai-chat/);
    expect(errorOf(file).message).toContain(`${file}:15:`);
  });

  it('reports relay layout errors found by the relay schema, at their line', () => {
    const lines = [...VALID];
    lines[11] = '        - { name: A, type: claud, upstream: up-a, token: Token-A }';
    const issue = errorOf(write('tiny', lines)).issues[0];
    expect(issue).toMatchObject({ line: 12, field: 'relay.channels[0].endpoints[0].type' });
  });

  it('reports a mock fault rule error via the mocks schema', () => {
    const lines = [...VALID.slice(0, 7), '    rules: [{ action: { status: 299 } }]', ...VALID.slice(7)];
    const issue = errorOf(write('tiny', lines)).issues[0];
    expect(issue).toMatchObject({ line: 8, field: 'mocks[0].rules[0].action.status' });
  });

  it('rejects an endpoint pointing at an unknown mock and a step with two actions', () => {
    const lines = [...VALID];
    lines[11] = '        - { name: A, type: claude, upstream: up-z, token: Token-A }';
    lines[15] = '    advance: 1s';
    const issues = errorOf(write('tiny', lines)).issues;
    expect(issues.map((i) => i.field)).toEqual(expect.arrayContaining(['relay.channels[0].endpoints[0].upstream', 'steps[0]']));
    expect(issues.find((i) => i.field === 'relay.channels[0].endpoints[0].upstream')?.message).toMatch(/no mock upstream named "up-z"/);
  });

  describe('translation steps', () => {
    // VALID with an openai endpoint in place of the claude one: an Anthropic request can only be translated.
    const translating = (request: string) => {
      const lines = [...VALID];
      lines[5] = '    kind: openai';
      lines[11] = '        - { name: A, type: openai, upstream: up-a, token: Token-A }';
      lines[14] = `  - request: ${request}`;
      lines[15] = '    expect: { status: 200 }';
      return lines;
    };

    it('loads an Anthropic request meant for an OpenAI Chat upstream, and the engine learns the pair', () => {
      const { scenario } = loadScenario(write('tiny', translating('{ protocol: anthropic, translate_to: openai }')));
      expect(scenario.steps[0].request?.translate_to).toBe('openai');
      expect(requiredTranslations(scenario)).toEqual([{ from: 'anthropic', to: 'openai' }]);
    });

    it('refuses an undeclared translation, a kind the protocol speaks, and a kind the layout lacks, each at its line', () => {
      const undeclared = errorOf(write('tiny', translating('{ protocol: anthropic }'))).issues[0];
      expect(undeclared).toMatchObject({ line: 15, field: 'steps[0].request.protocol' });
      expect(undeclared.message).toMatch(/no endpoint speaks anthropic .*translate_to: openai/);
      // A request at a path of its own probes input handling: no translation is implied.
      expect(loadScenario(write('tiny', translating('{ protocol: anthropic, path: /v1/chat/completions }'))).scenario.steps).toHaveLength(1);

      const native = errorOf(write('tiny', translating('{ protocol: openai-chat, translate_to: openai }'))).issues[0];
      expect(native).toMatchObject({ line: 15, field: 'steps[0].request.translate_to' });
      expect(native.message).toMatch(/without translation/);

      const absent = errorOf(write('tiny', translating('{ protocol: anthropic, translate_to: openai-responses }'))).issues;
      expect(absent.map((i) => i.message)).toContainEqual(expect.stringMatching(/no openai-responses endpoint in relay.channels/));
    });

    it('refuses a translation step whose layout also serves the protocol natively (no relay would translate)', () => {
      const lines = translating('{ protocol: anthropic, translate_to: openai }');
      lines.splice(12, 0, '        - { name: B, type: claude, upstream: up-a, token: Token-A }');
      const issue = errorOf(write('tiny', lines)).issues[0];
      expect(issue).toMatchObject({ line: 16, field: 'steps[0].request.translate_to' });
      expect(issue.message).toMatch(/has claude endpoints, which anthropic requests reach without translation/);
    });
  });

  it('insists the name matches the file', () => {
    const issue = errorOf(write('other', VALID)).issues[0];
    expect(issue).toMatchObject({ field: 'name' });
    expect(issue.message).toMatch(/expected "other"/);
  });
});
