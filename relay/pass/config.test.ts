import { describe, expect, it } from 'vitest';
import { parseBillingConfig } from '../billing/config.js';
import { parsePassConfig } from './config.js';
import { mapTaskStatus } from './status.js';

describe('pass config', () => {
  it('has documented defaults', () => {
    expect(parsePassConfig(undefined, {})).toEqual({
      defaultBilling: 'usage', channels: {}, upstreamPrecharge: false, userTokenHeader: '', clientUserTokenHeader: 'x-user-token',
      timeoutMs: 60_000, statusMap: {}, poll: { intervalMs: 15_000, batchSize: 100, concurrency: 16, taskTimeoutMs: 3_600_000 },
    });
  });

  it('takes the file over defaults and the environment over the file', () => {
    const file = { default_billing: 'call', upstream_precharge: true, poll: { interval: '30s', batch_size: 10 }, channels: { v: { billing: 'call', per_call: '0.05' } } };
    const s = parsePassConfig(file, { RELAY_PASS_POLL_INTERVAL: '5s', RELAY_PASS_DEFAULT_BILLING: 'free', RELAY_PASS_UPSTREAM_PRECHARGE: 'false', RELAY_PASS_USER_TOKEN_HEADER: 'X-End-User' });
    expect(s).toMatchObject({ defaultBilling: 'free', upstreamPrecharge: false, userTokenHeader: 'x-end-user', channels: { v: { billing: 'call', perCall: 50_000 } }, poll: { intervalMs: 5_000, batchSize: 10 } });
  });

  it('names the variable or field that is wrong', () => {
    expect(() => parsePassConfig({}, { RELAY_PASS_POLL_BATCH_SIZE: 'lots' })).toThrow(/RELAY_PASS_POLL_BATCH_SIZE/);
    expect(() => parsePassConfig({ poll: { interval: 'soon' } }, {})).toThrow(/invalid duration/);
    expect(() => parsePassConfig({ default_billing: 'maybe' }, {})).toThrow();
  });

  it('maps upstream statuses by the configured table first, then the protocol aliases', () => {
    const map = parsePassConfig({ status_map: { DONE: 'succeeded', IN_QUEUE: 'queued' } }, {}).statusMap;
    expect(mapTaskStatus('done', map)).toBe('succeeded');
    expect(mapTaskStatus('IN_QUEUE', map)).toBe('queued');
    expect(mapTaskStatus('processing', map)).toBe('running');
    expect(mapTaskStatus('weird', map)).toBeUndefined();
  });
});

describe('billing config', () => {
  it('parses prices exactly and lets the environment override', () => {
    const s = parseBillingConfig({ default_balance: 1, prices: { a: { input: 0.15, output: '0.6' }, b: { per_call: 0.01 }, c: 'free' } }, { RELAY_BILLING_DEFAULT_BALANCE: '2.5', RELAY_BILLING_UNPRICED_MODELS: 'free' });
    expect(s.defaultBalance).toBe(2_500_000);
    expect(s.unpricedModels).toBe('free');
    expect(s.prices.models).toEqual({
      a: { kind: 'tokens', input: 150_000, output: 600_000, cacheWrite: 150_000, cacheRead: 150_000 },
      b: { kind: 'call', perCall: 10_000 },
      c: { kind: 'free' },
    });
    expect(parseBillingConfig({ default_balance: 1 }, { RELAY_BILLING_DEFAULT_BALANCE: 'none' }).defaultBalance).toBeUndefined();
    expect(() => parseBillingConfig({ prices: { a: { input: '0.0000001' } } }, {})).toThrow(/micro-dollar/);
    expect(() => parseBillingConfig({ policy: { success: 'double' } }, {})).toThrow();
  });
});
