/**
 * The store implementations a test file runs against: always the in-process ones, plus Redis and
 * MySQL when REDIS_URL / MYSQL_URL are set (CI sets both). Each opened store gets a unique prefix
 * so parallel test files never see each other's keys or tables; `dispose` deletes them again.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedRecordStore } from './embedded.js';
import { MemoryLiveState } from './memory.js';
import { MysqlRecordStore } from './mysql.js';
import { RedisLiveState } from './redis.js';
import type { LiveState, RecordStore } from './types.js';

export interface Backend<T> {
  name: string;
  /** Opens a fresh, empty store. `shared` reopens the same data (a second process, a restart). */
  open(): Promise<{ store: T; reopen(): Promise<T>; dispose(): Promise<void> }>;
}

export function uniquePrefix(label: string): string {
  return `t_${label}_${process.pid}_${randomBytes(3).toString('hex')}_`;
}

export function liveStateBackends(): Array<Backend<LiveState>> {
  const backends: Array<Backend<LiveState>> = [
    {
      name: 'memory',
      async open() {
        const store = new MemoryLiveState();
        return { store, reopen: async () => store, dispose: () => store.close() };
      },
    },
  ];
  const redisUrl = process.env.REDIS_URL;
  if (redisUrl) {
    backends.push({
      name: 'redis',
      async open() {
        const prefix = `${uniquePrefix('live')}:`;
        const opened: RedisLiveState[] = [];
        const open = async () => {
          const s = new RedisLiveState(redisUrl, { prefix });
          await s.ping();
          opened.push(s);
          return s;
        };
        const store = await open();
        return {
          store,
          reopen: open,
          async dispose() {
            await opened[0].deleteAll();
            for (const s of opened) await s.close();
          },
        };
      },
    });
  }
  return backends;
}

export function recordStoreBackends(): Array<Backend<RecordStore>> {
  const backends: Array<Backend<RecordStore>> = [
    {
      name: 'embedded (memory only)',
      async open() {
        const store = new EmbeddedRecordStore();
        return { store, reopen: async () => store, dispose: () => store.close() };
      },
    },
    {
      name: 'embedded (dataDir)',
      async open() {
        const dir = await mkdtemp(join(tmpdir(), 'relay-state-'));
        const opened: RecordStore[] = [];
        const open = async () => {
          const s = await EmbeddedRecordStore.open({ dataDir: dir, flushEveryMs: 5 });
          opened.push(s);
          return s;
        };
        const store = await open();
        return {
          store,
          reopen: open,
          async dispose() {
            for (const s of opened) await s.close();
            await rm(dir, { recursive: true, force: true });
          },
        };
      },
    },
  ];
  const mysqlUrl = process.env.MYSQL_URL;
  if (mysqlUrl) {
    backends.push({
      name: 'mysql',
      async open() {
        const prefix = uniquePrefix('rec');
        const opened: MysqlRecordStore[] = [];
        const open = async () => {
          const s = await MysqlRecordStore.open(mysqlUrl, { prefix, flushEveryMs: 5 });
          opened.push(s);
          return s;
        };
        const store = await open();
        return {
          store,
          reopen: open,
          async dispose() {
            await opened[0].flush();
            await opened[0].dropTables();
            for (const s of opened) await s.close();
          },
        };
      },
    });
  }
  return backends;
}

/**
 * Removes everything a test run left under a state prefix: Redis keys starting with it and
 * MySQL tables whose names start with it (relays started with `statePrefix` in tests).
 */
export async function dropStatePrefix(prefix: string, urls: { redisUrl?: string; mysqlUrl?: string }): Promise<void> {
  if (!/^[A-Za-z0-9_]+$/.test(prefix)) throw new Error(`refusing to drop by prefix "${prefix}"`);
  if (urls.redisUrl) {
    const store = new RedisLiveState(urls.redisUrl, { prefix });
    try {
      await store.deleteAll();
    } finally {
      await store.close();
    }
  }
  if (urls.mysqlUrl) {
    const { createConnection } = await import('mysql2/promise');
    const conn = await createConnection(urls.mysqlUrl);
    try {
      const [rows] = await conn.query('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE ?', [
        `${prefix.replace(/_/g, '\\_')}%`,
      ]);
      const names = (rows as Array<{ name: string }>).map((r) => `\`${r.name}\``);
      if (names.length) await conn.query(`DROP TABLE IF EXISTS ${names.join(', ')}`);
    } finally {
      await conn.end();
    }
  }
}
