/** The two peers' configurations from a layout: same fallback order, endpoint tokens and participation. */
import { describe, expect, it } from 'vitest';
import { portableLayout, type RunningUpstream } from '../../engine/portable-layout.js';
import type { ScenarioLayout } from '../../engine/schema.js';
import { ccrConfig, PLAYED_MODEL, providerName } from './ccr/config.js';
import { portkeyConfig, type PortkeyLeaf } from './portkey/config.js';

const upstreams: RunningUpstream[] = [
  { name: 'up-a', kind: 'claude', url: 'http://127.0.0.1:18600', tokens: ['sk-ant-a', 'sk-ant-b'] },
  { name: 'up-o', kind: 'openai', url: 'http://127.0.0.1:18601', tokens: ['sk-o'] },
];

function layout(over: Partial<ScenarioLayout> = {}) {
  const reference: ScenarioLayout = {
    strategy: 'priority',
    retry: { first_byte_timeout: '4s' },
    channels: [
      {
        name: 'main',
        priority: 1,
        endpoints: [
          { name: 'B', type: 'claude', base_url: 'http://127.0.0.1:18600', token: 'sk-ant-b', priority: 2 },
          { name: 'A', type: 'claude', base_url: 'http://127.0.0.1:18600', token: 'sk-ant-a', priority: 1 },
          { name: 'O', type: 'openai', base_url: 'http://127.0.0.1:18601', token: 'sk-o', priority: 3 },
        ],
      },
    ],
    keys: [{ name: 'alice', key: 'rk-alice-0001' }],
    ...over,
  };
  return portableLayout('t', reference, upstreams);
}

describe('portkey config', () => {
  it('is a fallback over the endpoints that serve the protocol, in chain order, each with its own token', () => {
    const c = portkeyConfig(layout(), 'anthropic')!;
    expect(c.strategy.mode).toBe('fallback');
    expect(c.strategy.on_status_codes).toContain(429);
    expect(c.strategy.on_status_codes).not.toContain(400);
    expect(c.targets).toEqual([
      { provider: 'anthropic', api_key: 'sk-ant-a', custom_host: 'http://127.0.0.1:18600/v1', request_timeout: 4000 },
      { provider: 'anthropic', api_key: 'sk-ant-b', custom_host: 'http://127.0.0.1:18600/v1', request_timeout: 4000 },
    ]);
    expect(portkeyConfig(layout(), 'openai-chat')!.targets.map((t) => (t as PortkeyLeaf).api_key)).toEqual(['sk-o']);
  });

  it('translates Chat Completions to claude endpoints only when no openai endpoint serves, and has nothing for other protocols', () => {
    const claudeOnly = layout({ channels: [{ name: 'main', endpoints: [{ name: 'A', type: 'claude', base_url: 'http://127.0.0.1:18600', token: 'sk-ant-a' }] }] });
    expect(portkeyConfig(claudeOnly, 'openai-chat')!.targets).toEqual([expect.objectContaining({ provider: 'anthropic', api_key: 'sk-ant-a' })]);
    expect(portkeyConfig(claudeOnly, 'custom-pass')).toBeUndefined();
  });

  it('leaves out a paused channel and endpoints that do not take part in failover', () => {
    const l = layout({
      channels: [
        { name: 'main', priority: 1, paused: true, endpoints: [{ name: 'A', type: 'claude', base_url: 'http://127.0.0.1:18600', token: 'sk-ant-a' }] },
        { name: 'next', priority: 2, endpoints: [{ name: 'B', type: 'claude', base_url: 'http://127.0.0.1:18600', token: 'sk-ant-b' }] },
      ],
    });
    expect(portkeyConfig(l, 'anthropic')!.targets.map((t) => (t as PortkeyLeaf).api_key)).toEqual(['sk-ant-b']);
  });

  it('shares a channel\'s equal priorities by weight, each request still failing over within them, then down the chain', () => {
    const l = layout({
      channels: [
        {
          name: 'main',
          endpoints: [
            { name: 'A', type: 'claude', base_url: 'http://127.0.0.1:18600', token: 'sk-ant-a', priority: 1, weight: 3 },
            { name: 'B', type: 'claude', base_url: 'http://127.0.0.1:18600', token: 'sk-ant-b', priority: 1 },
            { name: 'C', type: 'claude', base_url: 'http://127.0.0.1:18600', token: 'sk-ant-c', priority: 2 },
          ],
        },
      ],
    });
    const c = portkeyConfig(l, 'anthropic')!;
    const keys = (t: unknown): unknown => ('targets' in (t as object) ? (t as { targets: unknown[] }).targets.map(keys) : (t as { api_key: string }).api_key);
    expect(c.strategy.mode).toBe('fallback');
    expect(c.targets.map(keys)).toEqual([
      [
        ['sk-ant-a', 'sk-ant-b'],
        ['sk-ant-b', 'sk-ant-a'],
      ],
      'sk-ant-c',
    ]);
    expect(c.targets[0]).toMatchObject({ strategy: { mode: 'loadbalance' }, targets: [{ weight: 3, strategy: { mode: 'fallback' } }, { weight: 1, strategy: { mode: 'fallback' } }] });
  });

  it("judges participation among the protocol's own endpoints: a claude endpoint out of failover leaves Chat's chain whole", () => {
    const l = layout({
      channels: [
        {
          name: 'main',
          endpoints: [
            { name: 'A', type: 'claude', base_url: 'http://127.0.0.1:18600', token: 'sk-ant-a', priority: 1, failover_enabled: false },
            { name: 'B', type: 'claude', base_url: 'http://127.0.0.1:18600', token: 'sk-ant-b', priority: 2 },
            { name: 'O', type: 'openai', base_url: 'http://127.0.0.1:18601', token: 'sk-o', priority: 1 },
          ],
        },
      ],
    });
    // The layout-wide chain is [A] alone; a Chat request's first candidate is O, not a translation to A.
    expect(l.fallback_chain).toEqual(['A']);
    expect(portkeyConfig(l, 'anthropic')!.targets.map((t) => (t as PortkeyLeaf).api_key)).toEqual(['sk-ant-a']);
    expect(portkeyConfig(l, 'openai-chat')!.targets).toEqual([expect.objectContaining({ provider: 'openai', api_key: 'sk-o' })]);
  });
});

describe('claude-code-router config', () => {
  it('routes to the first endpoint of the chain and falls back to the rest, claude endpoints in Anthropic format', () => {
    const c = ccrConfig(layout(), { HOST: '127.0.0.1', PORT: 3456 });
    expect(c.APIKEY).toBe('rk-alice-0001');
    expect(c.LOG).toBe(false);
    expect(c.Router.default).toBe('A,claude-sonnet-4-5');
    expect(c.fallback).toEqual({ default: ['B,claude-sonnet-4-5'], background: [] });
    expect(c.Providers).toEqual([
      { name: 'A', api_base_url: 'http://127.0.0.1:18600/v1/messages', api_key: 'sk-ant-a', models: ['claude-sonnet-4-5'], transformer: { use: ['Anthropic'] } },
      { name: 'B', api_base_url: 'http://127.0.0.1:18600/v1/messages', api_key: 'sk-ant-b', models: ['claude-sonnet-4-5'], transformer: { use: ['Anthropic'] } },
      { name: 'O', api_base_url: 'http://127.0.0.1:18601/v1/chat/completions', api_key: 'sk-o', models: ['gpt-4o-mini'], transformer: { use: ['streamoptions'] } },
    ]);
  });

  it('gives the openai endpoints beside claude ones the background route, where the model a played Chat step names goes', () => {
    const c = ccrConfig(layout(), { HOST: '127.0.0.1', PORT: 3456 });
    expect(c.Router.background).toBe('O,gpt-4o-mini');
    // claude-code-router's router: a model naming claude and haiku takes Router.background.
    expect(PLAYED_MODEL).toMatch(/claude/);
    expect(PLAYED_MODEL).toMatch(/haiku/);
    const openaiOnly = layout({ channels: [{ name: 'main', endpoints: [{ name: 'O', type: 'openai', base_url: 'http://127.0.0.1:18601', token: 'sk-o' }] }] });
    const o = ccrConfig(openaiOnly, { HOST: '127.0.0.1', PORT: 1 });
    expect(o.Router).toEqual({ default: 'O,gpt-4o-mini' });
    expect(o.fallback).toEqual({ default: [] });
  });

  it('translates to openai endpoints when the chain has no claude one, and never leaves the providers empty', () => {
    const openaiOnly = layout({ channels: [{ name: 'main', endpoints: [{ name: 'O', type: 'openai', base_url: 'http://127.0.0.1:18601', token: 'sk-o' }] }] });
    expect(ccrConfig(openaiOnly, { HOST: '127.0.0.1', PORT: 1 }).Providers).toEqual([{ name: 'O', api_base_url: 'http://127.0.0.1:18601/v1/chat/completions', api_key: 'sk-o', models: ['gpt-4o-mini'], transformer: { use: ['streamoptions'] } }]);
    const none = layout({ channels: [{ name: 'main', paused: true, endpoints: [{ name: 'A', type: 'claude', base_url: 'http://127.0.0.1:18600', token: 'sk-ant-a' }] }] });
    const c = ccrConfig(none, { HOST: '127.0.0.1', PORT: 1 });
    expect(c.Providers).toHaveLength(1);
    expect(c.Providers[0].api_base_url).toContain('127.0.0.1:9');
    expect(providerName('a,b')).toBe('a_b');
  });
});
