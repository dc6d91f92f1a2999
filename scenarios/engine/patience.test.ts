import { describe, expect, it } from 'vitest';
import { clientPatience, DEFAULT_CLIENT_TIMEOUT_MS } from './patience.js';

describe('clientPatience', () => {
  it('a request that names its timeout gets it, bound or not', () => {
    expect(clientPatience(25_000, { max_duration: 5_000 })).toBe(25_000);
    expect(clientPatience(1_000, undefined)).toBe(1_000);
  });

  it('without a bound, the default', () => {
    expect(clientPatience(undefined, undefined)).toBe(DEFAULT_CLIENT_TIMEOUT_MS);
    expect(clientPatience(undefined, { status: 200 })).toBe(DEFAULT_CLIENT_TIMEOUT_MS);
  });

  it('a step bounded by max_duration waits twice the bound, at least 5 s past it, never past the default', () => {
    expect(clientPatience(undefined, { max_duration: 5_000 })).toBe(10_000);
    expect(clientPatience(undefined, { max_duration: 1_000 })).toBe(6_000);
    expect(clientPatience(undefined, { max_duration: 20_000 })).toBe(DEFAULT_CLIENT_TIMEOUT_MS);
  });

  it('the tightest bound of any level counts', () => {
    expect(clientPatience(undefined, { resilience: { max_duration: 8_000 }, reference: { max_duration: 5_000 } })).toBe(10_000);
    expect(clientPatience(undefined, { max_duration: 12_000, resilience: { max_duration: 6_000 } })).toBe(12_000);
  });
});
