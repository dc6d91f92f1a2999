/**
 * Chooses the state implementations. The caller (relay core) reads REDIS_URL / MYSQL_URL and
 * passes them in; without them the relay keeps everything in process (and in dataDir).
 */
import { EmbeddedRecordStore } from './embedded.js';
import { MemoryLiveState } from './memory.js';
import type { LiveState, RecordStore } from './types.js';

export type * from './types.js';
export { MemoryLiveState } from './memory.js';
export { EmbeddedRecordStore } from './embedded.js';

export interface LiveStateOptions {
  redisUrl?: string;
  /** Key prefix, so several relays (or test runs) can share one Redis. */
  prefix?: string;
}

export interface RecordStoreOptions {
  mysqlUrl?: string;
  dataDir?: string;
  /** Table name prefix (letters, digits, underscore). */
  prefix?: string;
  onError?: (err: Error) => void;
}

/** `relaylab` -> `relaylab:` so keys read `relaylab:sticky:...`. */
function keyPrefix(prefix: string | undefined): string | undefined {
  if (prefix === undefined || prefix === '' || prefix.endsWith(':')) return prefix;
  return `${prefix}:`;
}

/** `relaylab` -> `relaylab_` so tables read `relaylab_relay_requests`. */
function tablePrefix(prefix: string | undefined): string | undefined {
  if (prefix === undefined || prefix === '' || prefix.endsWith('_')) return prefix;
  return `${prefix}_`;
}

export async function openLiveState(options: LiveStateOptions = {}): Promise<LiveState> {
  if (options.redisUrl) {
    // Imported on demand: a relay without Redis never loads ioredis.
    const { RedisLiveState } = await import('./redis.js');
    const store = new RedisLiveState(options.redisUrl, { prefix: keyPrefix(options.prefix) });
    try {
      await store.ping();
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }
  return new MemoryLiveState();
}

export async function openRecordStore(options: RecordStoreOptions = {}): Promise<RecordStore> {
  if (options.mysqlUrl) {
    const { MysqlRecordStore } = await import('./mysql.js');
    return MysqlRecordStore.open(options.mysqlUrl, { prefix: tablePrefix(options.prefix), onError: options.onError });
  }
  return EmbeddedRecordStore.open({ dataDir: options.dataDir, onError: options.onError });
}

export { stickyKeyHash, stickySession, needsRenewal, bindingAfterSuccess } from './sticky.js';
export type { StickyPolicy, StickyOutcome, Session } from './sticky.js';
export { nextBreaker, acquireProbe, breakerAt, closedBreaker } from './breaker.js';
