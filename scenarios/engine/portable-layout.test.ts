/** The layout every adapter receives: one meaning of priority, participation and pause, and its JSON Schema. */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { layoutChangeSchema, layoutJsonSchema, layoutSchema } from '../adapters/layout.js';
import { applyToReference, fallbackChain, portableChange, portableLayout, type RunningUpstream } from './portable-layout.js';
import { relayConfigSchema } from '../../relay/config/schema.js';
import type { ScenarioLayout } from './schema.js';

const upstreams: RunningUpstream[] = [
  { name: 'up-a', kind: 'claude', url: 'http://127.0.0.1:18600', tokens: ['sk-ant-a'] },
  { name: 'up-b', kind: 'openai', url: 'http://127.0.0.1:18601', tokens: ['sk-b'] },
];

const reference: ScenarioLayout = {
  strategy: 'priority',
  cooldowns: { rate_limited: '3s' },
  channels: [
    {
      name: 'second',
      priority: 2,
      endpoints: [{ name: 'C', type: 'openai', base_url: 'http://127.0.0.1:18601', token: 'sk-b', priority: 1 }],
    },
    {
      name: 'first',
      priority: 1,
      endpoints: [
        { name: 'B', type: 'openai', base_url: 'http://127.0.0.1:18601/', token: 'sk-b', priority: 2 },
        { name: 'A', type: 'claude', base_url: 'http://127.0.0.1:18600', token: 'sk-ant-a', priority: 1, failover_enabled: false },
        { name: 'A2', type: 'claude', base_url: 'http://127.0.0.1:18600', token: 'sk-ant-a', priority: 1 },
      ],
    },
  ],
  keys: [{ name: 'alice', key: 'rk-alice-0001' }],
};

const chain = (l: ScenarioLayout) => fallbackChain(relayConfigSchema.parse(l));

describe('portableLayout', () => {
  it('resolves endpoints to their upstream, full URL and portable names, and the policy to milliseconds', () => {
    const l = portableLayout('demo', reference, upstreams);
    expect(layoutSchema.parse(l)).toEqual(l);
    const b = l.channels[1].endpoints[0];
    expect(b).toMatchObject({ name: 'B', kind: 'openai', upstream: 'up-b', base_url: 'http://127.0.0.1:18601', url: 'http://127.0.0.1:18601/v1/chat/completions', failover: true, weight: 1 });
    expect(l.channels[1].endpoints[1]).toMatchObject({ name: 'A', url: 'http://127.0.0.1:18600/v1/messages', failover: false });
    expect(l.policy.cooldowns.rate_limited_ms).toBe(3000);
    expect(l.policy.breaker.open_for_ms).toBe(30_000);
    expect(l.keys).toEqual([{ name: 'alice', key: 'rk-alice-0001' }]);
    expect(l.reference).toEqual(reference);
  });

  it('orders the fallback chain by channel, then endpoint priority, ties in layout order; a non-failover endpoint first stands alone', () => {
    // A (priority 1, failover off) leads the primary channel, so a request never leaves it.
    expect(portableLayout('demo', reference, upstreams).fallback_chain).toEqual(['A']);
    const aLater = applyToReference(reference, { kind: 'update_endpoint', endpoint: 'A', patch: { priority: 5 } });
    // A2 first; B by priority; A does not take part in failover; then the next channel.
    expect(chain(aLater)).toEqual(['A2', 'B', 'C']);
    expect(chain({ ...aLater, cross_channel_failover: false })).toEqual(['A2', 'B']);
    // A paused channel gets nothing; the next one is primary.
    expect(chain(applyToReference(aLater, { kind: 'pause', channel: 'first' }))).toEqual(['C']);
    expect(chain(applyToReference(applyToReference(aLater, { kind: 'pause', channel: 'first' }), { kind: 'resume', channel: 'first' }))).toEqual(['A2', 'B', 'C']);
  });
});

describe('portableChange', () => {
  it('says what changed in portable terms, keeps the reference patch, and carries the whole layout after it', () => {
    const before = portableLayout('demo', reference, upstreams);
    const rc = { kind: 'update_endpoint' as const, endpoint: 'A', patch: { failover_enabled: true, priority: 3 } };
    const after = portableLayout('demo', applyToReference(reference, rc), upstreams);
    const change = portableChange(rc, before, after);
    expect(layoutChangeSchema.parse(change)).toEqual(change);
    expect(change).toMatchObject({ kind: 'update_endpoint', endpoint: 'A', patch: { failover: true, priority: 3 }, reference_patch: { failover_enabled: true, priority: 3 } });
    expect(change.layout.fallback_chain).toEqual(['A2', 'B', 'A', 'C']);
    expect(change.description).toBe('change endpoint A: {"failover_enabled":true,"priority":3}');

    const token = portableChange({ kind: 'token', endpoint: 'B', value: 'sk-b2' }, before, portableLayout('demo', applyToReference(reference, { kind: 'token', endpoint: 'B', value: 'sk-b2' }), upstreams));
    expect(token).toMatchObject({ kind: 'token', endpoint: 'B', token: 'sk-b2' });
    expect(token.layout.channels[1].endpoints[0].token).toBe('sk-b2');
  });
});

describe('layout.schema.json', () => {
  it('is the JSON Schema generated from the zod schema (regenerate: pnpm -s scenario --layout-schema > scenarios/adapters/layout.schema.json)', () => {
    const file = JSON.parse(readFileSync(new URL('../adapters/layout.schema.json', import.meta.url), 'utf8'));
    expect(file).toEqual(layoutJsonSchema());
  });

  it('accepts the layouts and changes the engine sends and refuses a layout missing a field', () => {
    const validate = new Ajv2020({ strict: false, allErrors: true }).compile(layoutJsonSchema());
    const before = portableLayout('demo', reference, upstreams);
    expect(validate(before), JSON.stringify(validate.errors)).toBe(true);
    expect(validate(portableChange({ kind: 'pause', channel: 'first' }, before, before))).toBe(true);
    const { fallback_chain: _, ...incomplete } = before;
    expect(validate(incomplete)).toBe(false);
  });
});
