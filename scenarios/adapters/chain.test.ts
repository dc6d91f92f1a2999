/** fallbackChainFor: the fallback order among the endpoints that serve one kind of request. */
import { describe, expect, it } from 'vitest';
import { portableLayout, type RunningUpstream } from '../engine/portable-layout.js';
import type { ScenarioLayout } from '../engine/schema.js';
import { fallbackChainFor } from './chain.js';

const upstreams: RunningUpstream[] = [
  { name: 'up-a', kind: 'claude', url: 'http://127.0.0.1:18600', tokens: ['sk-ant-a'] },
  { name: 'up-o', kind: 'openai', url: 'http://127.0.0.1:18601', tokens: ['sk-o'] },
];
const claude = (name: string, priority: number, extra = {}) => ({ name, type: 'claude', base_url: 'http://127.0.0.1:18600', token: 'sk-ant-a', priority, ...extra });
const openai = (name: string, priority: number, extra = {}) => ({ name, type: 'openai', base_url: 'http://127.0.0.1:18601', token: 'sk-o', priority, ...extra });
const names = (reference: ScenarioLayout, kinds: Parameters<typeof fallbackChainFor>[1]) => fallbackChainFor(portableLayout('t', reference, upstreams), kinds).map((e) => e.name);

describe('fallbackChainFor', () => {
  it("picks the primary channel and the first candidate among the kind's endpoints", () => {
    const reference = {
      cross_channel_failover: true,
      channels: [
        { name: 'claude-only', priority: 1, endpoints: [claude('A', 1, { failover_enabled: false }), claude('B', 2)] },
        { name: 'mixed', priority: 2, endpoints: [openai('O2', 2), openai('O1', 1), claude('C', 1)] },
      ],
    } as ScenarioLayout;
    expect(names(reference, ['claude'])).toEqual(['A']);
    // The claude-only channel is not primary for a Chat request, and A's participation is not its.
    expect(names(reference, ['openai'])).toEqual(['O1', 'O2']);
  });

  it('keeps a non-primary channel out without cross-channel failover, a paused one always, and failover-off endpoints after the first', () => {
    const reference = {
      cross_channel_failover: false,
      channels: [
        { name: 'first', priority: 1, endpoints: [openai('O1', 1), openai('O2', 2, { failover_enabled: false }), openai('O3', 3)] },
        { name: 'second', priority: 2, endpoints: [openai('O4', 1)] },
        { name: 'paused', priority: 0, paused: true, endpoints: [openai('P', 1)] },
      ],
    } as ScenarioLayout;
    expect(names(reference, ['openai'])).toEqual(['O1', 'O3']);
    expect(names({ ...reference, cross_channel_failover: true }, ['openai'])).toEqual(['O1', 'O3', 'O4']);
    expect(names(reference, ['claude'])).toEqual([]);
  });
});
