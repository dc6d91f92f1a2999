/** `--adapter <module>`: a module's adapter is loaded, checked, and drives a whole scenario. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startRelay, type RunningRelay } from '../../relay/index.js';
import { parseYamlConfig } from '../../lib/yaml-config.js';
import { runScenario } from '../engine/runner.js';
import { scenarioSchema } from '../engine/schema.js';
import { loadAdapter } from './index.js';

let relay: RunningRelay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

const PAUSE = `
name: module-pause
description: the first channel is paused, the second serves, each upstream sees its own token
suites: [routing]
mocks:
  - { name: up-a, kind: openai, tokens: [sk-proj-module-AAAA] }
  - { name: up-b, kind: openai, tokens: [sk-proj-module-BBBB] }
relay:
  health: { enabled: false }
  channels:
    - { name: one, priority: 1, endpoints: [{ name: A, type: openai, upstream: up-a, token: sk-proj-module-AAAA }] }
    - { name: two, priority: 2, endpoints: [{ name: B, type: openai, upstream: up-b, token: sk-proj-module-BBBB }] }
steps:
  - request: { protocol: openai-chat }
    expect: { status: 200, resilience: { upstreams: { up-a: 1, up-b: 0 } }, attempts: ["A:200"] }
  - relay_change: { pause: one }
  - request: { protocol: openai-chat, count: 2 }
    expect: { status: 200, resilience: { upstreams: { up-a: 0, up-b: 2 } }, only_token: { up-b: sk-proj-module-BBBB } }
`;

describe('loadAdapter', () => {
  it('loads a module by path, hands it the command line, and runs a scenario through it (records skipped, not failed)', async () => {
    relay = await startRelay({ config: { channels: [] }, healthChecks: false });
    const adapter = await loadAdapter({ adapter: './scenarios/adapters/example-adapter.ts', target: relay.url, adminUrl: relay.adminUrl, adminToken: relay.adminToken });
    expect(adapter.name).toBe('example');
    const scenario = parseYamlConfig(PAUSE, scenarioSchema, 'module-pause.yaml');
    const r = await runScenario(scenario, { adapter, target: relay.url, file: 'module-pause.yaml', log: () => undefined });
    expect(r.status, JSON.stringify(r.steps.flatMap((s) => s.checks.filter((c) => !c.pass)))).toBe('pass');
    expect(r.steps[0].checks.find((c) => c.name === 'attempts')).toMatchObject({ skipped: true });
    expect(r.steps[2].checks.filter((c) => !c.skipped).every((c) => c.pass)).toBe(true);
  });

  it('names what a module got wrong instead of failing mid-scenario', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'relaylab-adapter-'));
    writeFileSync(join(dir, 'bad.mjs'), "export default () => ({ name: 'bad', capabilities: { inbound: [], keys: 'some', clock: 'virtual', restart: false, records: true, features: [] }, configure() {} });\n");
    await expect(loadAdapter({ adapter: join(dir, 'bad.mjs'), target: 'http://127.0.0.1:9' })).rejects.toThrow(
      /not a relay adapter; expected apply\(change, ctx\): a function; capabilities.keys: layout \| mapped \| none; advance\(ms\): a function \(clock is virtual\); readRecords\(limit\): a function/,
    );
    writeFileSync(join(dir, 'none.mjs'), 'export const x = 1;\n');
    await expect(loadAdapter({ adapter: join(dir, 'none.mjs') })).rejects.toThrow(/no default export/);
    await expect(loadAdapter({ adapter: 'relaylab-no-such-adapter-package' })).rejects.toThrow(/cannot load the module/);
  });

  it('keeps the built-in names: no target is the in-process relay; reference and manual need one', async () => {
    expect((await loadAdapter({})).name).toBe('in-process');
    await expect(loadAdapter({ adapter: 'manual' })).rejects.toThrow(/needs --target/);
    expect((await loadAdapter({ target: 'http://127.0.0.1:9', adminToken: 't' })).name).toBe('reference');
  });
});
