import { mkdtemp, readFile, readdir, rm, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedRecordStore, OVERRIDES_FILE, REQUEST_LOG_FILE } from './embedded.js';
import type { RequestLogEntry } from './types.js';

const T0 = Date.UTC(2026, 0, 1);
const entry = (i: number): RequestLogEntry => ({
  requestId: `r${i}`, time: T0 + i, keyName: 'k', protocol: 'openai-chat', path: '/v1/chat/completions',
  stream: false, status: 200, outcome: 'ok', latencyMs: 1, attempts: [],
});

describe('EmbeddedRecordStore files', () => {
  const dirs: string[] = [];
  const stores: EmbeddedRecordStore[] = [];
  async function openIn(dir?: string, opts = {}) {
    const dataDir = dir ?? (await mkdtemp(join(tmpdir(), 'relay-embedded-')));
    if (!dir) dirs.push(dataDir);
    const store = await EmbeddedRecordStore.open({ dataDir, ...opts });
    stores.push(store);
    return { store, dataDir };
  }
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('writes overrides as whole JSON and leaves no temp files behind', async () => {
    const { store, dataDir } = await openIn();
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => store.saveOverrides({ pausedChannels: [`c${i}`], updatedAt: T0 + i })),
    );
    expect(JSON.parse(await readFile(join(dataDir, OVERRIDES_FILE), 'utf8'))).toEqual({ pausedChannels: ['c9'], updatedAt: T0 + 9 });
    expect(await readdir(dataDir)).toEqual([OVERRIDES_FILE]);
  });

  it('appends the log as JSONL in batches of flushRows', async () => {
    const { store, dataDir } = await openIn(undefined, { flushRows: 3, flushEveryMs: 60_000 });
    for (let i = 0; i < 7; i++) store.appendRequestLog(entry(i));
    // Two full batches went out without waiting for the (long) timer; the 7th waits for flush().
    await new Promise((r) => setTimeout(r, 50));
    expect((await readFile(join(dataDir, REQUEST_LOG_FILE), 'utf8')).trim().split('\n')).toHaveLength(6);
    await store.flush();
    const lines = (await readFile(join(dataDir, REQUEST_LOG_FILE), 'utf8')).trim().split('\n');
    expect(lines.map((l) => JSON.parse(l).requestId)).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6']);
  });

  it('bounds what waits for the disk: batches beyond maxQueuedBytes are dropped and counted, the ring keeps them', async () => {
    const errors: string[] = [];
    // One batch (~220 bytes) fits, the second would not while the first is still queued.
    const { store, dataDir } = await openIn(undefined, { flushRows: 1, flushEveryMs: 60_000, maxQueuedBytes: 300, onError: (e: Error) => errors.push(e.message) });
    store.appendRequestLog(entry(0));
    store.appendRequestLog(entry(1));
    expect(store.droppedEntries).toBe(1);
    expect(errors[0]).toMatch(/more than 300 bytes behind/);
    await store.flush();
    // Once the queue drained, batches are written again.
    store.appendRequestLog(entry(2));
    await store.flush();
    const lines = (await readFile(join(dataDir, REQUEST_LOG_FILE), 'utf8')).trim().split('\n');
    expect(lines.map((l) => JSON.parse(l).requestId)).toEqual(['r0', 'r2']);
    expect((await store.queryRequestLog({})).map((e) => e.requestId)).toEqual(['r0', 'r1', 'r2']);
  });

  it('bounds the in-memory log and reloads only the newest ringSize entries, skipping a torn line', async () => {
    const { store, dataDir } = await openIn(undefined, { ringSize: 3 });
    for (let i = 0; i < 6; i++) store.appendRequestLog(entry(i));
    expect((await store.queryRequestLog({ limit: 10 })).map((e) => e.requestId)).toEqual(['r3', 'r4', 'r5']);
    await store.flush();
    await appendFile(join(dataDir, REQUEST_LOG_FILE), '{"requestId":"torn');
    const { store: again } = await openIn(dataDir, { ringSize: 4 });
    expect((await again.queryRequestLog({ limit: 10 })).map((e) => e.requestId)).toEqual(['r2', 'r3', 'r4', 'r5']);
    // The next append starts on its own line, so it survives the next reopen.
    again.appendRequestLog(entry(6));
    await again.flush();
    const { store: third } = await openIn(dataDir, { ringSize: 2 });
    expect((await third.queryRequestLog({ limit: 10 })).map((e) => e.requestId)).toEqual(['r5', 'r6']);
  });

  it('names the file when overrides.json is corrupt', async () => {
    const { dataDir } = await openIn();
    await appendFile(join(dataDir, OVERRIDES_FILE), '{not json');
    await expect(EmbeddedRecordStore.open({ dataDir })).rejects.toThrow(/overrides\.json is not valid JSON/);
  });
});
