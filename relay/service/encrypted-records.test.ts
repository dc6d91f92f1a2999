import { createConnection } from 'mysql2/promise';
import { afterEach, describe, expect, it } from 'vitest';
import { MysqlRecordStore } from '../state/mysql.js';
import { recordStoreBackends, uniquePrefix } from '../state/test-backends.js';
import type { RecordStore } from '../state/types.js';
import { EncryptedRecordStore, plainSecretsWarning } from './encrypted-records.js';
import { SecretBox, isSealed, parseSecretKey } from './secret-box.js';

const KEY = 'a'.repeat(64);
const UPSTREAM_TOKEN = 'sk-ant-api03-SECRET-upstream-token-0123456789';
const CLIENT_KEY = 'rk-alice-SECRET-client-key-abcdef';
const layout = {
  channels: [{ name: 'main', endpoints: [{ name: 'A', type: 'claude', base_url: 'http://127.0.0.1:1', token: UPSTREAM_TOKEN }] }],
  keys: [{ name: 'alice', key: CLIENT_KEY }],
};

describe('SecretBox', () => {
  it('round-trips, never repeats a ciphertext, and refuses another key or an altered value', () => {
    const box = new SecretBox(KEY);
    const a = box.seal(UPSTREAM_TOKEN);
    const b = box.seal(UPSTREAM_TOKEN);
    expect(isSealed(a)).toBe(true);
    expect(a).not.toContain(UPSTREAM_TOKEN);
    expect(a).not.toBe(b);
    expect(box.open(a)).toBe(UPSTREAM_TOKEN);
    expect(() => new SecretBox('b'.repeat(64)).open(a)).toThrow(/RELAY_SECRET_KEY differs/);
    const altered = a.slice(0, -3) + (a.endsWith('AAA') ? 'BBB' : 'AAA');
    expect(() => box.open(altered)).toThrow(/cannot decrypt/);
  });

  it('reads hex, base64 and passphrase keys, and rejects short ones', () => {
    expect(parseSecretKey('ab'.repeat(32))).toHaveLength(32);
    expect(parseSecretKey(Buffer.alloc(32, 7).toString('base64'))).toEqual(Buffer.alloc(32, 7));
    expect(parseSecretKey('correct horse battery staple')).toHaveLength(32);
    expect(() => parseSecretKey('short')).toThrow(/too short/);
    expect(SecretBox.fromEnv({})).toBeUndefined();
  });
});

describe('plainSecretsWarning', () => {
  it('warns when tokens would be persisted without RELAY_SECRET_KEY, and only then', () => {
    expect(plainSecretsWarning({ persistsTo: '/data', encrypted: false, oauthEndpoints: 2 })).toMatch(/RELAY_SECRET_KEY is not set: .*2 OAuth endpoint.*\/data in plain text/);
    expect(plainSecretsWarning({ persistsTo: 'MySQL', encrypted: false, oauthEndpoints: 0 })).toMatch(/admin edits of tokens and keys are written to MySQL in plain text/);
    expect(plainSecretsWarning({ persistsTo: 'MySQL', encrypted: true, oauthEndpoints: 2 })).toBeUndefined();
    expect(plainSecretsWarning({ persistsTo: undefined, encrypted: false, oauthEndpoints: 2 })).toBeUndefined();
  });
});

describe.each(recordStoreBackends())('EncryptedRecordStore over $name', (backend) => {
  let disposers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const d of disposers) await d();
    disposers = [];
  });

  it('seals refreshed credentials and a layout kept aside as it seals the saved layout', async () => {
    const opened = await backend.open();
    disposers.push(opened.dispose);
    const store = new EncryptedRecordStore(opened.store, new SecretBox(KEY));
    const credentials = { O: { token: UPSTREAM_TOKEN, refresh_token: 'rt-SECRET-refresh', from: 'abc', updatedAt: 1 } };
    expect(await store.saveOverrides({ pausedChannels: [], updatedAt: 1, revision: 1, credentials }, 0)).toBe(true);
    const raw = await opened.store.loadOverrides();
    expect(isSealed(raw?.credentials)).toBe(true);
    expect(JSON.stringify(raw)).not.toContain('SECRET');
    expect((await store.loadOverrides())?.credentials).toEqual(credentials);
    await store.keepAside({ layout, pausedChannels: [], updatedAt: 2, revision: 2 }, 'test');
    expect(JSON.stringify(await opened.store.loadOverrides())).not.toContain('SECRET');
  });

  it('stores the saved layout sealed and gives it back in plain form', async () => {
    const opened = await backend.open();
    disposers.push(opened.dispose);
    const store = new EncryptedRecordStore(opened.store, new SecretBox(KEY));
    await store.saveOverrides({ layout, pausedChannels: ['main'], updatedAt: 1 });
    const raw = await opened.store.loadOverrides();
    expect(isSealed(raw?.layout)).toBe(true);
    expect(JSON.stringify(raw)).not.toContain(UPSTREAM_TOKEN);
    expect(JSON.stringify(raw)).not.toContain(CLIENT_KEY);
    expect(await store.loadOverrides()).toEqual({ layout, pausedChannels: ['main'], updatedAt: 1 });
    // Another process with the same key reads it; one without a key refuses loudly.
    const other: RecordStore = await opened.reopen();
    expect((await new EncryptedRecordStore(other, new SecretBox(KEY)).loadOverrides())?.layout).toEqual(layout);
    await expect(new EncryptedRecordStore(other, undefined).loadOverrides()).rejects.toThrow(/RELAY_SECRET_KEY/);
  });

  it('reads a plain layout written before the key was set', async () => {
    const opened = await backend.open();
    disposers.push(opened.dispose);
    await opened.store.saveOverrides({ layout, pausedChannels: [], updatedAt: 1 });
    expect((await new EncryptedRecordStore(opened.store, new SecretBox(KEY)).loadOverrides())?.layout).toEqual(layout);
  });
});

const mysqlUrl = process.env.MYSQL_URL;
describe.runIf(mysqlUrl)('tokens at rest in MySQL', () => {
  it('the overrides row holds no token or client key in any form', async () => {
    const prefix = uniquePrefix('enc');
    const inner = await MysqlRecordStore.open(mysqlUrl!, { prefix });
    try {
      await new EncryptedRecordStore(inner, new SecretBox(KEY)).saveOverrides({ layout, pausedChannels: [], updatedAt: 1 });
      const conn = await createConnection({ uri: mysqlUrl! });
      try {
        const [rows] = await conn.query(`SELECT doc FROM \`${prefix}relay_overrides\``);
        const doc = String((rows as Array<{ doc: string }>)[0].doc);
        expect(doc).toContain('enc:v1:');
        for (const secret of [UPSTREAM_TOKEN, CLIENT_KEY, 'SECRET']) expect(doc).not.toContain(secret);
      } finally {
        await conn.end();
      }
    } finally {
      await inner.dropTables();
      await inner.close();
    }
  });
});
