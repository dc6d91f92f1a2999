import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TestClock } from '../../lib/clock.js';
import { ConfigError } from '../../lib/yaml-config.js';
import { EmbeddedRecordStore, storedRevision } from '../state/embedded.js';
import type { ConfigOverrides, RecordStore } from '../state/types.js';
import { ConfigHolder, StaleEditError } from './holder.js';
import { loadRelayConfig, parseRelayConfig } from './load.js';

const EXAMPLE = join(dirname(fileURLToPath(import.meta.url)), '..', 'examples', 'relay.yaml');

function memoryStore(initial?: ConfigOverrides) {
  let saved = initial;
  const store = {
    loadOverrides: async () => saved,
    saveOverrides: async (o: ConfigOverrides, expected?: number) => {
      if (expected !== undefined && storedRevision(saved) !== expected) return false;
      saved = structuredClone(o);
      return true;
    },
  } as unknown as RecordStore;
  return { store, saved: () => saved };
}

function recordingLog() {
  const lines: Array<{ level: string; obj: Record<string, unknown>; msg: string }> = [];
  return {
    lines,
    log: {
      warn: (obj: object, msg: string) => lines.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
      error: (obj: object, msg: string) => lines.push({ level: 'error', obj: obj as Record<string, unknown>, msg }),
    },
  };
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

  it('holder: a saved layout that no longer validates is logged and kept aside beside the data, and the relay runs on the file with the saved pause flags', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'relay-holder-'));
    try {
      const store = await EmbeddedRecordStore.open({ dataDir: dir });
      const bad = { layout: { ...layout, channels: [{ name: 'a', endpoints: [{ name: 'A', type: 'claude', base_url: 'not a url', token: 'sk-ant-x' }] }] }, pausedChannels: ['b'], updatedAt: 5, revision: 7, version: 6 };
      await store.saveOverrides(bad);
      const { lines, log } = recordingLog();
      const holder = await ConfigHolder.open(parseRelayConfig(layout), store, new TestClock(), log);
      await new Promise((r) => setTimeout(r, 50));
      expect(holder.current.endpoints.get('A')?.baseUrl).toBe('http://127.0.0.1:1');
      expect(holder.current.channels.map((c) => c.paused)).toEqual([false, true]);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 'error', obj: { keptAt: join(dir, 'overrides.rejected-7.json'), version: 6 } });
      expect(String(lines[0].obj.reason)).toMatch(/base_url/);
      const kept = JSON.parse(readFileSync(join(dir, 'overrides.rejected-7.json'), 'utf8'));
      expect(kept.overrides).toEqual(bad);
      // The next admin edit saves a valid layout over it; the copy stays.
      await holder.update((d) => void (d.strategy = 'fastest'));
      expect((await store.loadOverrides())?.layout).toMatchObject({ strategy: 'fastest' });
      expect(existsSync(join(dir, 'overrides.rejected-7.json'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('holder: an edit made against an older version is refused with the current one; an edit without a version applies on the latest layout, never over it', async () => {
    const { store } = memoryStore();
    const clock = new TestClock();
    const one = await ConfigHolder.open(parseRelayConfig(layout), store, clock);
    const two = await ConfigHolder.open(parseRelayConfig(layout), store, clock);
    expect((await one.update((d) => void (d.strategy = 'fastest'), 'layout', 1)).version).toBe(2);
    // Process two never synced: its edit against version 1 is stale.
    const stale = await two.update((d) => void (d.strategy = 'priority'), 'layout', 1).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(StaleEditError);
    expect(stale).toMatchObject({ expected: 1, current: 2 });
    expect(one.current.strategy).toBe('fastest');
    // Without a version: the save loses the compare-and-set, reloads and applies the edit on top.
    await two.update((d) => void (d.channels[1].endpoints[0].token = 'sk-ant-from-two'));
    expect(two.current.version).toBe(3);
    expect(two.current.strategy).toBe('fastest');
    expect(two.current.endpoints.get('B')?.token).toBe('sk-ant-from-two');
    await one.refresh();
    expect(one.current.version).toBe(3);
    expect(one.current.endpoints.get('B')?.token).toBe('sk-ant-from-two');
  });

  it('holder: a refreshed OAuth credential is credential state: the layout stays the file\'s, the version does not move, a restart uses it, a new refresh token in the file wins', async () => {
    const oauth = { ...layout, channels: [...layout.channels, { name: 'o', endpoints: [{ name: 'O', type: 'chatgpt-oauth', base_url: 'http://127.0.0.1:3', token: 'at-old-1', refresh_token: 'rt-file-1', account_id: 'acct' }] }] };
    const { store, saved } = memoryStore();
    const clock = new TestClock();
    const holder = await ConfigHolder.open(parseRelayConfig(oauth), store, clock);
    const model = await holder.storeCredential('O', 'at-new-2', 'rt-new-2');
    expect(model?.endpoints.get('O')).toMatchObject({ token: 'at-new-2', refreshToken: 'rt-new-2' });
    expect(holder.current.version).toBe(1);
    expect(saved()?.layout).toBeUndefined();
    expect(saved()?.credentials?.O).toMatchObject({ token: 'at-new-2', refresh_token: 'rt-new-2' });
    // The admin view is the layout, not the refreshed credential.
    expect(holder.editableLayout.channels[2].endpoints[0].token).toBe('at-old-1');
    // A file edit after the refresh still applies (nothing shadows the file).
    const edited = { ...oauth, strategy: 'fastest' };
    const restarted = await ConfigHolder.open(parseRelayConfig(edited), store, clock);
    expect(restarted.current.strategy).toBe('fastest');
    expect(restarted.current.endpoints.get('O')?.token).toBe('at-new-2');
    // A new refresh token written in the file: the stored credential came from the old one, the file wins.
    const rotated = { ...oauth, channels: [...layout.channels, { name: 'o', endpoints: [{ ...oauth.channels[2].endpoints[0], token: 'at-file-3', refresh_token: 'rt-file-3' }] }] };
    const again = await ConfigHolder.open(parseRelayConfig(rotated), store, clock);
    expect(again.current.endpoints.get('O')).toMatchObject({ token: 'at-file-3', refreshToken: 'rt-file-3' });
  });

  it('holder: pause-only overrides keep later file edits', async () => {
    const { store } = memoryStore({ pausedChannels: ['b'], updatedAt: 0 });
    const edited = { ...layout, strategy: 'fastest' };
    const holder = await ConfigHolder.open(parseRelayConfig(edited), store, new TestClock());
    expect(holder.current.strategy).toBe('fastest');
    expect(holder.current.channels.map((c) => c.paused)).toEqual([false, true]);
  });
});
