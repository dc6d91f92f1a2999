import { describe, expect, it } from 'vitest';
import { parseYamlConfig } from '../../lib/yaml-config.js';
import { inProcessAdapter } from '../adapters/inprocess.js';
import { runScenario } from './runner.js';
import { scenarioSchema } from './schema.js';
import type { RelayAdapter } from '../adapters/api.js';
import { REFERENCE_CAPABILITIES } from '../adapters/reference.js';

const SMALL = `
name: small
description: A fails once with 429, B serves with its own token
suites: [routing]
seed: 3
mocks:
  - { name: up-a, kind: claude, tokens: [sk-ant-api03-testA-AAAA] }
  - { name: up-b, kind: claude, tokens: [sk-ant-api03-testB-BBBB] }
relay:
  health: { enabled: false }
  channels:
    - name: main
      endpoints:
        - { name: A, type: claude, upstream: up-a, token: sk-ant-api03-testA-AAAA, priority: 1 }
        - { name: B, type: claude, upstream: up-b, token: sk-ant-api03-testB-BBBB, priority: 2 }
  keys: [{ key: rk-test-client-key-0001, name: tester }]
steps:
  - faults: { upstream: up-a, set: [{ times: 1, action: { status: 429, retry_after: 30 } }] }
  - request: { protocol: anthropic, stream: true }
    expect:
      status: 200
      stream_end: terminal
      attempts: ["A:429", "B:200"]
      only_token: { up-a: sk-ant-api03-testA-AAAA, up-b: sk-ant-api03-testB-BBBB }
  - advance: 31s
  - request: { protocol: openai-chat, path: /v1/messages }
    expect: { status: STATUS }
`;

function scenario(status = '[200, 400, 404]') {
  return parseYamlConfig(SMALL.replace('STATUS', status), scenarioSchema, 'small.yaml');
}

const quiet = () => {};

describe('runScenario against the real mocks and the in-process reference relay', () => {
  it('passes a small failover scenario, with attempt chains, journal checks and invariants', async () => {
    const r = await runScenario(scenario(), { adapter: inProcessAdapter(), file: 'small.yaml', log: quiet });
    expect(r.status, JSON.stringify(r.steps.flatMap((s) => s.checks.filter((c) => !c.pass)))).toBe('pass');
    expect(r.steps).toHaveLength(4);
    expect(r.steps[1].requests[0].attempts?.map((a) => `${a.endpoint}:${a.status}`)).toEqual(['A:429', 'B:200']);
    expect(r.invariants.map((c) => c.pass)).toEqual([true, true, true, true, true]);
    // every secret is masked in what is written out
    const json = JSON.stringify(r);
    for (const secret of ['sk-ant-api03-testA-AAAA', 'sk-ant-api03-testB-BBBB', 'rk-test-client-key-0001']) expect(json).not.toContain(secret);
    expect(json).toContain('sk-ant-…AAAA');
    expect(r.tokensSeen.find((t) => t.upstream === 'up-b')?.tokens).toEqual([{ token: 'sk-ant-…BBBB', count: 1 }]);
  });

  it('is deterministic for its seed: the same file gives the same answers twice', async () => {
    const outline = (r: Awaited<ReturnType<typeof runScenario>>) =>
      r.steps.flatMap((s) => s.requests.map((q) => [q.status, q.text, q.usage?.outputTokens, q.attempts?.map((a) => `${a.endpoint}:${a.status}`).join('>')]));
    const a = await runScenario(scenario(), { adapter: inProcessAdapter(), file: 'small.yaml', log: quiet });
    const b = await runScenario(scenario(), { adapter: inProcessAdapter(), file: 'small.yaml', log: quiet });
    expect(outline(a).length).toBe(2);
    expect(outline(b)).toEqual(outline(a));
    const c = await runScenario(scenario(), { adapter: inProcessAdapter(), file: 'small.yaml', log: quiet, seed: 99 });
    expect(outline(c)[0][1]).not.toEqual(outline(a)[0][1]);
  });

  it('fails with expected and actual side by side when an expectation is wrong', async () => {
    const r = await runScenario(scenario('201'), { adapter: inProcessAdapter(), file: 'small.yaml', log: quiet });
    expect(r.status).toBe('fail');
    const failed = r.steps[3].checks.find((c) => !c.pass);
    expect(failed).toMatchObject({ name: 'status', expected: '201' });
    expect(r.steps[1].status).toBe('pass');
  });

  it('reports a scenario as not applicable when the target cannot play it, without starting anything', async () => {
    const noSticky: RelayAdapter = {
      name: 'no-sticky',
      capabilities: { ...REFERENCE_CAPABILITIES, features: REFERENCE_CAPABILITIES.features.filter((f) => f !== 'sticky') },
      configure: () => Promise.reject(new Error('must not be configured')),
      apply: () => Promise.reject(new Error('must not be changed')),
    };
    const sticky = parseYamlConfig(SMALL.replace('STATUS', '200').replace('seed: 3', 'seed: 3\nrequires: [sticky]'), scenarioSchema, 'small.yaml');
    const r = await runScenario(sticky, { adapter: noSticky, file: 'small.yaml', log: quiet });
    expect(r).toMatchObject({ status: 'not_applicable', missingCapabilities: ['sticky'] });
  });

  it('reports a translation scenario as not applicable on a target that does not declare that pair, declared or as configured', async () => {
    const translation = parseYamlConfig(
      SMALL.replace(/kind: claude/g, 'kind: openai')
        .replace(/type: claude/g, 'type: openai')
        .replace('request: { protocol: anthropic, stream: true }', 'request: { protocol: anthropic, translate_to: openai, stream: true }')
        .replace('request: { protocol: openai-chat, path: /v1/messages }', 'request: { protocol: openai-chat }')
        .replace('STATUS', '200'),
      scenarioSchema,
      'small.yaml',
    );
    const refuse = () => Promise.reject(new Error('must not be configured'));
    const chatOnly: RelayAdapter = { name: 'chat-to-claude', capabilities: { ...REFERENCE_CAPABILITIES, translates: { 'openai-chat': ['claude'] } }, configure: refuse, apply: refuse };
    const r = await runScenario(translation, { adapter: chatOnly, file: 'small.yaml', log: quiet });
    expect(r).toMatchObject({ status: 'not_applicable', missingTranslations: ['anthropic -> openai'], reason: 'target does not translate: anthropic -> openai' });
    // Declared, but the relay found by configure does not translate after all.
    const base = inProcessAdapter();
    const narrowed: RelayAdapter = {
      ...base,
      name: 'narrowed',
      capabilities: { ...base.capabilities, translates: { anthropic: ['openai'] } },
      configure: async (layout, c) => ({ ...(await base.configure(layout, c)), capabilities: { translates: {} } }),
    };
    const n = await runScenario(translation, { adapter: narrowed, file: 'small.yaml', log: quiet });
    expect(n).toMatchObject({ status: 'not_applicable', missingTranslations: ['anthropic -> openai'] });
    expect(n.steps).toEqual([]);
  });

  it('skips, one by one and with the reason, what a black-box target cannot play or show; the rest still runs', async () => {
    const base = inProcessAdapter();
    // The in-process relay, seen as a relay without records, clock or OpenAI Chat inbound (it still declares its translations).
    const blackBox: RelayAdapter = { ...base, name: 'black-box', capabilities: { ...base.capabilities, inbound: ['anthropic'], clock: 'none', records: false } };
    const r = await runScenario(scenario('200'), { adapter: blackBox, file: 'small.yaml', log: quiet, maxRealWaitMs: 1000 });
    expect(r.status, JSON.stringify(r.steps)).toBe('pass');
    const [, failover, advance, chat] = r.steps;
    expect(failover.status).toBe('pass');
    expect(failover.checks.find((c) => c.name === 'attempts')).toMatchObject({ skipped: true, level: 'reference', reason: 'the target does not show its records or state' });
    expect(failover.checks.find((c) => c.name === 'stream_end')).toMatchObject({ pass: true, level: 'protocol' });
    expect(advance).toMatchObject({ status: 'skipped', reason: 'no virtual clock, and 31s is longer than the real-time bound (1s)' });
    expect(chat).toMatchObject({ status: 'skipped', reason: 'the target does not accept openai-chat requests, nor translates another protocol to its upstreams' });
    expect(chat.checks).toEqual([expect.objectContaining({ name: 'status', skipped: true, pass: true, level: 'protocol' })]);
    expect(r.levels).toEqual({ protocol: 'pass', resilience: 'none', reference: 'skipped' });
  });

  it("names the adapter's played model in a request played in another protocol, so a relay routing by model reaches the step's endpoints", async () => {
    const chatScenario = parseYamlConfig(
      `
name: played
description: a chat step played as an Anthropic request
suites: [routing]
seed: 5
mocks:
  - { name: up-o, kind: openai, tokens: [sk-proj-played-OOOO] }
relay:
  health: { enabled: false }
  channels:
    - name: main
      endpoints:
        - { name: O, type: openai, upstream: up-o, token: sk-proj-played-OOOO, translate_from: [anthropic] }
  keys: [{ key: rk-played-client-0001, name: tester }]
steps:
  - request: { protocol: openai-chat }
    expect: { status: 200, upstream_body: { model: gpt-played-route } }
`,
      scenarioSchema,
      'played.yaml',
    );
    const base = inProcessAdapter();
    const asked: string[] = [];
    const byModel: RelayAdapter = {
      ...base,
      name: 'by-model',
      capabilities: { ...base.capabilities, inbound: ['anthropic'] },
      playedModel: (sent, kinds) => (asked.push(`${sent}:${kinds.join(',')}`), 'gpt-played-route'),
    };
    const r = await runScenario(chatScenario, { adapter: byModel, file: 'played.yaml', log: quiet });
    expect(r.status, JSON.stringify(r.steps.flatMap((s) => s.checks.filter((c) => !c.pass)))).toBe('pass');
    expect(asked).toEqual(['anthropic:openai']);
    expect(r.steps[0].requests[0]).toMatchObject({ protocol: 'anthropic' });
  });

  it('is an error, not a failure, when the target cannot be opened', async () => {
    const broken: RelayAdapter = {
      name: 'broken',
      capabilities: REFERENCE_CAPABILITIES,
      configure: () => Promise.reject(new Error('relay did not start')),
      apply: () => Promise.reject(new Error('must not be changed')),
    };
    const r = await runScenario(scenario(), { adapter: broken, file: 'small.yaml', log: quiet });
    expect(r).toMatchObject({ status: 'error', reason: 'relay did not start' });
  });
});
