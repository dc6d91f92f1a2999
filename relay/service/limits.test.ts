import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, resolveLimits, serverOptions } from './limits.js';
import { requestIdFor } from './request-id.js';

describe('resolveLimits', () => {
  it('takes defaults, then the environment, then explicit options', () => {
    expect(resolveLimits({})).toEqual(DEFAULT_LIMITS);
    const l = resolveLimits({ RELAY_MAX_BODY_BYTES: '8MiB', RELAY_HEADERS_TIMEOUT: '5s', RELAY_REQUEST_TIMEOUT: '120000' }, { keepAliveTimeoutMs: 1000 });
    expect(l).toMatchObject({ maxBodyBytes: 8 * 1024 * 1024, headersTimeoutMs: 5000, requestTimeoutMs: 120_000, keepAliveTimeoutMs: 1000 });
    expect(serverOptions(l)).toMatchObject({ headersTimeout: 5000, requestTimeout: 120_000, keepAliveTimeout: 1000 });
  });

  it('names the variable of a bad value', () => {
    expect(() => resolveLimits({ RELAY_MAX_BODY_BYTES: 'lots' })).toThrow(/RELAY_MAX_BODY_BYTES/);
    expect(() => resolveLimits({ RELAY_HEADERS_TIMEOUT: 'soon' })).toThrow(/RELAY_HEADERS_TIMEOUT/);
  });
});

describe('requestIdFor', () => {
  const gen = () => 'req_x1';
  it('prefixes a safe client id, ignores an unsafe or oversized one', () => {
    expect(requestIdFor(undefined, gen)).toBe('req_x1');
    expect(requestIdFor('abc-123', gen)).toBe('abc-123~req_x1');
    expect(requestIdFor(['first', 'second'], gen)).toBe('first~req_x1');
    expect(requestIdFor('has space', gen)).toBe('req_x1');
    expect(requestIdFor('x'.repeat(97), gen)).toBe('req_x1');
    expect(requestIdFor('line\nbreak', gen)).toBe('req_x1');
  });
});
