import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TestClock } from '../../lib/clock.js';
import { ConfigError } from '../../lib/yaml-config.js';
import type { ConfigOverrides, RecordStore } from '../state/types.js';
import { ConfigHolder } from './holder.js';
import { loadRelayConfig, parseRelayConfig } from './load.js';

const EXAMPLE = join(dirname(fileURLToPath(import.meta.url)), '..', 'examples', 'relay.yaml');

function memoryStore(initial?: ConfigOverrides) {
  let saved = initial;
  const store = {
    loadOverrides: async () => saved,
    saveOverrides: async (o: ConfigOverrides) => void (saved = structuredClone(o)),
  } as unknown as RecordStore;
  return { store, saved: () => saved };
}

const layout = {
  channels: [
    { name: 'a', endpoints: [{ name: 'A', type: 'claude', base_url: 'http://127.0.0.1:1', token: 'sk-ant-aaaaaaaa1' }] },
    { name: 'b', endpoints: [{ name: 'B', type: 'claude', base_url: 'http://127.0.0.1:2', token: 'sk-ant-bbbbbbbb2' }] },
  ],
};

describe('relay config', () => {
  it('loads the example file with durations in ms', () => {
    const cfg = loadRelayConfig(EXAMPLE, {});
    expect(cfg.retry.upstream_timeout).toBe(600_000);
    expect(cfg.sticky.ttl).toBe(15 * 86_400_000);
    expect(cfg.channels.flatMap((c) => c.endpoints.map((e) => e.name))).toContain('codex-a');
  });

  it('applies environment overrides on top of the file', () => {
    const cfg = loadRelayConfig(EXAMPLE, { RELAY_STRATEGY: 'fastest', RELAY_MAX_ATTEMPTS: '7', RELAY_DEADLINE: '5s' });
    expect([cfg.strategy, cfg.retry.max_attempts, cfg.retry.deadline]).toEqual(['fastest', 7, 5000]);
  });

  it('names file, line and field of a mistake, and rejects duplicate endpoint names', () => {
    const dir = mkdtempSync(join(tmpdir(), 'relay-cfg-'));
    try {
      const file = join(dir, 'bad.yaml');
      writeFileSync(file, 'channels:\n  - name: a\n    endpoints:\n      - name: A\n        type: claud\n        base_url: http://x\n        token: t\n');
      expect(() => loadRelayConfig(file, {})).toThrow(/bad\.yaml:5:\d+: channels\[0\]\.endpoints\[0\]\.type/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const dup = { channels: [{ name: 'a', endpoints: [layout.channels[0].endpoints[0]] }, { name: 'b', endpoints: [layout.channels[0].endpoints[0]] }] };
    expect(() => parseRelayConfig(dup)).toThrow(ConfigError);
    expect(() => parseRelayConfig(dup)).toThrow(/duplicate endpoint name/);
  });

  it('forward_headers and set_headers: names checked, credentials and organization never from a client', () => {
    const ep = (extra: object) => ({ channels: [{ name: 'a', endpoints: [{ name: 'A', type: 'openai', base_url: 'http://x', token: 'tok-1', ...extra }] }] });
    const ok = parseRelayConfig(ep({ forward_headers: ['X-Trace'], set_headers: { 'OpenAI-Organization': 'org-1' } }));
    expect(ok.channels[0].endpoints[0].forward_headers).toEqual(['x-trace']);
    expect(() => parseRelayConfig(ep({ forward_headers: ['openai-organization'] }))).toThrow(/channels\[0\]\.endpoints\[0\]\.forward_headers\[0\].*set_headers/);
    expect(() => parseRelayConfig(ep({ forward_headers: ['bad header'] }))).toThrow(/forward_headers\[0\].*HTTP header name/);
    expect(() => parseRelayConfig(ep({ set_headers: { Authorization: 'Bearer x' } }))).toThrow(/set_headers\.Authorization.*set by the relay/);
  });

  it('holder: each change bumps the version; pause alone persists only paused flags', async () => {
    const { store, saved } = memoryStore();
    const holder = await ConfigHolder.open(parseRelayConfig(layout), store, new TestClock());
    expect(holder.current.version).toBe(1);
    await holder.update((d) => void (d.channels[0].paused = true), 'pause');
    expect(holder.current.version).toBe(2);
    expect(saved()).toMatchObject({ layout: undefined, pausedChannels: ['a'] });
    await holder.update((d) => void (d.channels[1].endpoints[0].token = 'sk-ant-new-token-9'));
    expect(holder.current.endpoints.get('B')?.token).toBe('sk-ant-new-token-9');
    expect(saved()?.layout).toBeDefined();
    await expect(holder.update((d) => void (d.channels[1].endpoints[0].base_url = 'nope'))).rejects.toThrow(ConfigError);
    expect(holder.current.version).toBe(3);

    // A restart from the same file sees the admin changes.
    const again = await ConfigHolder.open(parseRelayConfig(layout), store, new TestClock());
    expect(again.current.channels[0].paused).toBe(true);
    expect(again.current.endpoints.get('B')?.token).toBe('sk-ant-new-token-9');
  });

  it('holder: a second process sharing the record store picks up the first one\'s edits on refresh', async () => {
    const { store } = memoryStore();
    const clock = new TestClock();
    const one = await ConfigHolder.open(parseRelayConfig(layout), store, clock);
    const two = await ConfigHolder.open(parseRelayConfig(layout), store, clock);
    expect(await two.refresh()).toBe(false);
    await one.update((d) => void (d.channels[0].endpoints[0].token = 'sk-ant-from-process-1'));
    await one.update((d) => void (d.channels[1].paused = true), 'pause');
    expect(await two.refresh()).toBe(true);
    expect(two.current.endpoints.get('A')?.token).toBe('sk-ant-from-process-1');
    expect(two.current.channels[1].paused).toBe(true);
    expect(await two.refresh()).toBe(false);
    // And its own edits are not re-applied as foreign ones.
    await two.update((d) => void (d.channels[1].paused = false), 'pause');
    expect(await two.refresh()).toBe(false);
    expect(await one.refresh()).toBe(true);
    expect(one.current.channels[1].paused).toBe(false);
  });

  it('holder: requests trigger a background refresh at most every sync interval; edits start from the latest layout', async () => {
    const { store } = memoryStore();
    const clock = new TestClock();
    const one = await ConfigHolder.open(parseRelayConfig(layout), store, clock);
    const two = await ConfigHolder.open(parseRelayConfig(layout), store, clock);
    two.syncEvery(2000);
    await one.update((d) => void (d.channels[0].paused = true), 'pause');
    two.maybeRefresh(clock.now());
    await two.refresh(); // joins the queue behind the background refresh
    expect(two.current.channels[0].paused).toBe(true);
    await one.update((d) => void (d.channels[0].paused = false), 'pause');
    two.maybeRefresh(clock.now() + 1000); // too soon: nothing starts
    await new Promise((r) => setImmediate(r));
    expect(two.current.channels[0].paused).toBe(true);
    // An edit through process two pulls process one's change first instead of overwriting it.
    await two.update((d) => void (d.channels[1].endpoints[0].token = 'sk-ant-from-process-2'));
    expect(two.current.channels[0].paused).toBe(false);
    await one.refresh();
    expect(one.current.endpoints.get('B')?.token).toBe('sk-ant-from-process-2');
  });

  it('holder: pause-only overrides keep later file edits', async () => {
    const { store } = memoryStore({ pausedChannels: ['b'], updatedAt: 0 });
    const edited = { ...layout, strategy: 'fastest' };
    const holder = await ConfigHolder.open(parseRelayConfig(edited), store, new TestClock());
    expect(holder.current.strategy).toBe('fastest');
    expect(holder.current.channels.map((c) => c.paused)).toEqual([false, true]);
  });
});
