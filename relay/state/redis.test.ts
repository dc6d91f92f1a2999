import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisLiveState } from './redis.js';
import { uniquePrefix } from './test-backends.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);
const redisUrl = process.env.REDIS_URL;

// The shared LiveState behaviour runs in live-state.test.ts; this file checks what only Redis has.
describe.runIf(redisUrl)('RedisLiveState specifics', () => {
  let raw: Redis;
  const stores: RedisLiveState[] = [];
  const open = (prefix: string) => {
    const s = new RedisLiveState(redisUrl!, { prefix });
    stores.push(s);
    return s;
  };
  beforeAll(() => {
    raw = new Redis(redisUrl!);
  });
  afterAll(async () => {
    for (const s of stores) {
      await s.deleteAll();
      await s.close();
    }
    await raw.quit();
  });

  it('keeps bindings and cooldowns as absolute deadlines with only a garbage expiry', async () => {
    const prefix = `${uniquePrefix('redis')}:`;
    const store = open(prefix);
    await store.setBinding('s', { endpoint: 'A', expiresAt: T0 + 15 * DAY }, T0);
    const ttl = await raw.pttl(`${prefix}sticky:s`);
    expect(ttl).toBeGreaterThan(15 * DAY);
    expect(JSON.parse((await raw.get(`${prefix}sticky:s`))!)).toEqual({ endpoint: 'A', expiresAt: T0 + 15 * DAY });
    await store.setCooldown('endpoint', 'A', { until: T0 + 1000, reason: '429' });
    expect(await raw.pttl(`${prefix}cooldown:endpoint:A`)).toBeGreaterThan(0);
  });

  it('isolates stores by prefix', async () => {
    const a = open(`${uniquePrefix('redis')}:`);
    const b = open(`${uniquePrefix('redis')}:`);
    await a.setCooldown('endpoint', 'X', { until: T0 + 1000, reason: 'a' });
    expect(await a.increment('c')).toBe(1);
    expect(await b.increment('c')).toBe(1);
    const [x] = await b.readEndpoints([{ endpoint: 'X', channel: 'c', tokenId: 't' }], T0);
    expect(x.endpointCooldown).toBeUndefined();
  });

  it('forgets a breaker that is closed with no failures (no key left behind)', async () => {
    const prefix = `${uniquePrefix('redis')}:`;
    const store = open(prefix);
    const settings = { failureThreshold: 2, successThreshold: 1, openMs: 1000 };
    await store.recordBreaker('E', false, T0, settings);
    expect(await raw.get(`${prefix}breaker:E`)).toBe('closed,1,0,0,');
    await store.recordBreaker('E', true, T0, settings);
    expect(await raw.exists(`${prefix}breaker:E`)).toBe(0);
  });
});
