/**
 * The mock config: the shipped example loads; a bad file is refused naming file, line and field,
 * both in process and through `pnpm mocks`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../lib/yaml-config.js';
import { resolveMocksConfig, startMocks } from './index.js';

const EXAMPLE = new URL('./examples/basic.yaml', import.meta.url).pathname;

function tempYaml(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'mocks-config-')), 'bad.yaml');
  writeFileSync(file, text);
  return file;
}

function runCli(args: string[], untilOutput?: RegExp): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', new URL('./cli.ts', import.meta.url).pathname, ...args], { stdio: 'pipe' });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (untilOutput?.test(out)) child.kill('SIGTERM');
    });
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

describe('mocks config', () => {
  it('loads the shipped example with one upstream of every kind', () => {
    const cfg = resolveMocksConfig(EXAMPLE);
    expect(new Set(cfg.upstreams.map((u) => u.kind))).toEqual(new Set(['claude', 'openai', 'openai-responses', 'chatgpt-oauth', 'custom-pass']));
    expect(cfg.upstreams[0].stream).toEqual({ ttft: 200, chunkDelay: 30, tokensPerSecond: undefined });
  });

  it('accepts the contract spelling chunkDelay / tokensPerSecond', () => {
    const cfg = resolveMocksConfig({ upstreams: [{ name: 'a', kind: 'claude', stream: { chunkDelay: '50ms', tokensPerSecond: 20 } }] });
    expect(cfg.upstreams[0].stream).toMatchObject({ chunkDelay: 50, tokensPerSecond: 20 });
  });

  it('names file, line and field of a bad value', () => {
    const file = tempYaml(['upstreams:', '  - name: a', '    kind: claude', '    rules:', '      - action:', '          cut: { after: middle }', ''].join('\n'));
    try {
      resolveMocksConfig(file);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues[0]).toMatchObject({ file, line: 6, field: 'upstreams[0].rules[0].action.cut.after' });
    }
  });

  it('refuses duplicate names, bad durations and unknown keys', () => {
    const fields = (cfg: unknown) => {
      try {
        resolveMocksConfig(cfg as never);
        return [];
      } catch (err) {
        return (err as ConfigError).issues.map((i) => i.field);
      }
    };
    expect(fields({ upstreams: [{ name: 'a', kind: 'claude' }, { name: 'a', kind: 'openai' }] })).toEqual(['upstreams[1].name']);
    expect(fields({ upstreams: [{ name: 'a', kind: 'claude', latency: '5 parsecs' }] })).toEqual(['upstreams[0].latency']);
    expect(fields({ upstreams: [{ name: 'a', kind: 'claude', rules: [{ action: {}, whatever: 1 }] }] })).toEqual(['upstreams[0].rules[0]']);
  });

  it('startMocks refuses a bad config before binding anything', async () => {
    await expect(startMocks({ upstreams: [] })).rejects.toThrow(/upstreams/);
  });

  it('`pnpm mocks` prints each upstream with masked tokens, and exits 1 naming the field of a bad file', async () => {
    const ok = await runCli(['--config', EXAMPLE], /control API: http/);
    expect(ok.out).toMatch(/claude-a\s+claude\s+http:\/\/127\.0\.0\.1:\d+\s+sk-ant-…0001/);
    expect(ok.out).toMatch(/pass-a\s+custom-pass/);
    expect(ok.out).not.toContain('sk-ant-api03-mock-account-a-0001');
    const bad = await runCli(['--config', tempYaml('upstreams:\n  - name: a\n    kind: claud\n')]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/bad\.yaml:3:\d+: upstreams\[0\]\.kind/);
  }, 45_000);
});
