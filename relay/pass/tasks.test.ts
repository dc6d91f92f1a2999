import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedPassTaskStore, type PassTask, type PassTaskStore } from './tasks.js';
import { MysqlPassTaskStore } from './tasks-mysql.js';

interface Backend {
  name: string;
  open(): Promise<{ store: PassTaskStore; reopen: () => Promise<PassTaskStore>; cleanup: () => Promise<void> }>;
}
const backends: Backend[] = [
  {
    name: 'embedded',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'relay-pass-tasks-'));
      return { store: new EmbeddedPassTaskStore(dir), reopen: async () => new EmbeddedPassTaskStore(dir), cleanup: async () => undefined };
    },
  },
];
const mysqlUrl = process.env.MYSQL_URL;
if (mysqlUrl) {
  backends.push({
    name: 'mysql',
    async open() {
      const prefix = `pt${randomBytes(4).toString('hex')}_`;
      const store = await MysqlPassTaskStore.open({ url: mysqlUrl, prefix });
      const others: MysqlPassTaskStore[] = [];
      return {
        store,
        reopen: async () => {
          const s = await MysqlPassTaskStore.open({ url: mysqlUrl, prefix });
          others.push(s);
          return s;
        },
        cleanup: async () => {
          await store.dropTable();
          await store.close();
          for (const o of others) await o.close();
        },
      };
    },
  });
}

const task = (id: string, billed = false): PassTask => ({
  id, upstreamTaskId: `up-${id}`, keyName: 'alice', model: 'm', endpoint: 'P', channel: 'c', status: 'queued', submittedAt: 1, updatedAt: 1, billed,
  reservation: `task:${id}`, price: { kind: 'call', perCall: 5 }, usage: { inputTokens: 1, outputTokens: 2, cacheWriteTokens: 0, cacheReadTokens: 0 },
});

describe.each(backends)('pass task store: $name', (backend) => {
  it('stores, updates and lists active tasks, and another handle (a restart) sees them', async () => {
    const { store, reopen, cleanup } = await backend.open();
    try {
      await store.put(task('a'));
      await store.put(task('b'));
      await store.put({ ...task('b'), status: 'succeeded', billed: true, updatedAt: 2 });
      expect(await store.get('b')).toMatchObject({ status: 'succeeded', billed: true, price: { kind: 'call', perCall: 5 } });
      expect((await store.active()).map((t) => t.id)).toEqual(['a']);
      expect(await store.has('b')).toBe(true);
      expect(await store.get('zzz')).toBeUndefined();
      const again = await reopen();
      expect((await again.active()).map((t) => t.id)).toEqual(['a']);
      expect(await again.get('a')).toEqual(task('a'));
    } finally {
      await cleanup();
    }
  });
});
