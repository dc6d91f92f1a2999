import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, parseYamlConfig } from './yaml-config.js';

const schema = z.object({
  name: z.string(),
  items: z.array(z.object({ port: z.number().int(), token: z.string().min(1) })),
});

describe('parseYamlConfig', () => {
  it('names file, line and field of a wrong value', () => {
    const text = ['name: demo', 'items:', '  - port: 1', '    token: a', '  - port: "x"', '    token: b', ''].join('\n');
    try {
      parseYamlConfig(text, schema, 'demo.yaml');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const issue = (err as ConfigError).issues[0];
      expect(issue).toMatchObject({ file: 'demo.yaml', line: 5, field: 'items[1].port' });
      expect((err as Error).message).toMatch(/^demo\.yaml:5:\d+: items\[1\]\.port: .*number/);
    }
  });

  it('reports a missing field at its parent line', () => {
    const text = ['name: demo', 'items:', '  - port: 1', ''].join('\n');
    const err = (() => {
      try {
        parseYamlConfig(text, schema, 'f.yaml');
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(err?.issues[0]).toMatchObject({ line: 3, field: 'items[0].token' });
  });

  it('reports YAML syntax errors with a line', () => {
    expect(() => parseYamlConfig('name: [unclosed\n', schema, 's.yaml')).toThrow(/s\.yaml:\d+:\d+: YAML syntax/);
  });

  it('returns typed data when valid', () => {
    expect(parseYamlConfig('name: x\nitems: []\n', schema)).toEqual({ name: 'x', items: [] });
  });
});
