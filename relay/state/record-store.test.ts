import { afterEach, describe, expect, it } from 'vitest';
import { recordStoreBackends } from './test-backends.js';
import type { RecordStore, RequestLogEntry } from './types.js';

const T0 = Date.UTC(2026, 0, 1);

function entry(i: number, over: Partial<RequestLogEntry> = {}): RequestLogEntry {
  return {
    requestId: `req-${i}`,
    time: T0 + i * 1000,
    keyName: i % 2 ? 'alice' : 'bob',
    protocol: 'anthropic',
    path: '/v1/messages',
    model: 'claude-sonnet-4-5',
    stream: i % 3 === 0,
    status: 200,
    outcome: 'ok',
    latencyMs: 12 + i,
    ttfbMs: 5,
    session: { source: 'x-claude-code-session-id', hash: 'abc', hit: i > 0 },
    usage: { inputTokens: 10, outputTokens: 20, cacheWriteTokens: 0, cacheReadTokens: 3 },
    attempts: [
      { endpoint: i % 4 === 0 ? 'B' : 'A', channel: 'main', token: 'sk-ant-…a1B2', status: 200, durationMs: 10, sticky: 'hit' },
    ],
    ...over,
  };
}

describe.each(recordStoreBackends())('RecordStore: $name', (backend) => {
  let disposers: Array<() => Promise<void>> = [];
  async function open(): Promise<{ store: RecordStore; reopen(): Promise<RecordStore> }> {
    const opened = await backend.open();
    disposers.push(opened.dispose);
    return opened;
  }
  afterEach(async () => {
    for (const d of disposers) await d();
    disposers = [];
  });

  it('has no overrides at first, then returns the saved ones, also after a reopen', async () => {
    const { store, reopen } = await open();
    expect(await store.loadOverrides()).toBeUndefined();
    const layout = { channels: [{ name: 'main', endpoints: [{ name: 'A', token: 'sk-new' }] }], strategy: 'fastest' };
    await store.saveOverrides({ layout, pausedChannels: ['backup'], updatedAt: T0 });
    await store.saveOverrides({ layout, pausedChannels: ['backup', 'third'], updatedAt: T0 + 1 });
    expect(await store.loadOverrides()).toEqual({ layout, pausedChannels: ['backup', 'third'], updatedAt: T0 + 1 });
    const again = await reopen();
    expect(await again.loadOverrides()).toEqual({ layout, pausedChannels: ['backup', 'third'], updatedAt: T0 + 1 });
  });

  it('saves with a compare-and-set on the revision: the first save only over nothing, a later one only over the revision it was made from, also from another handle', async () => {
    const { store, reopen } = await open();
    const doc = (revision: number, paused: string[]) => ({ pausedChannels: paused, updatedAt: T0 + revision, revision, version: revision + 1 });
    expect(await store.saveOverrides(doc(1, ['a']), 0)).toBe(true);
    expect(await store.saveOverrides(doc(1, ['lost']), 0)).toBe(false);
    // Another process (MySQL) or the same store after a restart (embedded) sees revision 1.
    const other = backend.name === 'mysql' ? await reopen() : store;
    expect(await other.saveOverrides(doc(2, ['b']), 1)).toBe(true);
    expect(await store.saveOverrides(doc(2, ['stale']), 1)).toBe(false);
    expect((await store.loadOverrides())?.pausedChannels).toEqual(['b']);
    expect((await other.loadOverrides())?.revision).toBe(2);
  });

  it('keeps a document aside (an invalid layout), once per revision', async () => {
    const { store } = await open();
    const doc = { layout: { channels: 'not a list' }, pausedChannels: [], updatedAt: T0, revision: 4, version: 3 };
    const where = await store.keepAside!(doc, 'channels: expected array');
    expect(where).toMatch(/4/);
    expect(await store.keepAside!(doc, 'channels: expected array')).toBe(where);
    // The active document is not touched by keeping a copy aside.
    expect(await store.loadOverrides()).toBeUndefined();
  });

  it('returns what it was given, not a shared reference', async () => {
    const { store } = await open();
    const saved = { pausedChannels: ['x'], updatedAt: T0 };
    await store.saveOverrides(saved);
    saved.pausedChannels.push('y');
    expect((await store.loadOverrides())?.pausedChannels).toEqual(['x']);
  });

  it('logs requests with their attempt trail and answers newest last', async () => {
    const { store } = await open();
    for (let i = 0; i < 10; i++) store.appendRequestLog(entry(i));
    await store.flush();
    const all = await store.queryRequestLog({ limit: 100 });
    expect(all.map((e) => e.requestId)).toEqual(Array.from({ length: 10 }, (_, i) => `req-${i}`));
    expect(all[3]).toEqual(entry(3));
    const last3 = await store.queryRequestLog({ limit: 3 });
    expect(last3.map((e) => e.requestId)).toEqual(['req-7', 'req-8', 'req-9']);
  });

  it('filters by time, key and endpoint', async () => {
    const { store } = await open();
    for (let i = 0; i < 12; i++) store.appendRequestLog(entry(i));
    await store.flush();
    const since = await store.queryRequestLog({ since: T0 + 9000 });
    expect(since.map((e) => e.requestId)).toEqual(['req-9', 'req-10', 'req-11']);
    const alice = await store.queryRequestLog({ keyName: 'alice', limit: 2 });
    expect(alice.map((e) => e.requestId)).toEqual(['req-9', 'req-11']);
    const onB = await store.queryRequestLog({ endpoint: 'B' });
    expect(onB.map((e) => e.requestId)).toEqual(['req-0', 'req-4', 'req-8']);
    const both = await store.queryRequestLog({ endpoint: 'A', keyName: 'bob', since: T0 + 5000 });
    expect(both.map((e) => e.requestId)).toEqual(['req-6', 'req-10']);
    expect(await store.queryRequestLog({ endpoint: 'nobody' })).toEqual([]);
  });

  it('finds an endpoint anywhere in the trail, with names that look like patterns', async () => {
    const { store } = await open();
    const trail = (names: string[]) =>
      names.map((endpoint) => ({ endpoint, channel: 'c', token: 't…1234', durationMs: 1 }));
    store.appendRequestLog(entry(1, { attempts: trail(['A_1', 'B%']) }));
    store.appendRequestLog(entry(2, { attempts: trail(['AX1']) }));
    store.appendRequestLog(entry(3, { attempts: [] }));
    await store.flush();
    expect((await store.queryRequestLog({ endpoint: 'B%' })).map((e) => e.requestId)).toEqual(['req-1']);
    expect((await store.queryRequestLog({ endpoint: 'A_1' })).map((e) => e.requestId)).toEqual(['req-1']);
    expect((await store.queryRequestLog({ endpoint: 'B' })).map((e) => e.requestId)).toEqual([]);
  });

  it('keeps the request log across a reopen', async () => {
    const { store, reopen } = await open();
    for (let i = 0; i < 5; i++) store.appendRequestLog(entry(i));
    await store.flush();
    const again = await reopen();
    expect((await again.queryRequestLog({ limit: 2 })).map((e) => e.requestId)).toEqual(['req-3', 'req-4']);
  });

  it('never blocks the caller: append returns before anything is written', async () => {
    const { store } = await open();
    const started = performance.now();
    for (let i = 0; i < 2000; i++) store.appendRequestLog(entry(i));
    const elapsed = performance.now() - started;
    await store.flush();
    expect((await store.queryRequestLog({ limit: 1 }))[0].requestId).toBe('req-1999');
    expect(elapsed).toBeLessThan(500);
  });
});
