import { describe, expect, it } from 'vitest';
import { divRoundHalfUp, formatMoney, parseMoney, tokenLineCost } from './money.js';
import { costOf, findPrice, priceTableVersion, reservationFor, type ModelPrice } from './prices.js';
import { billableUsage, DEFAULT_POLICY, ruleFor } from './policy.js';

describe('money', () => {
  it('parses decimal dollars exactly into micro-dollars', () => {
    expect(parseMoney('3')).toBe(3_000_000);
    expect(parseMoney(0.3)).toBe(300_000);
    expect(parseMoney('0.075')).toBe(75_000);
    expect(parseMoney('$1.000001')).toBe(1_000_001);
    expect(parseMoney(0.1 + 0.2)).toBe(300_000); // the float noise is below a micro-dollar
    expect(parseMoney('-2.5')).toBe(-2_500_000);
  });

  it('refuses amounts finer than a micro-dollar and garbage', () => {
    expect(() => parseMoney('0.0000001')).toThrow(/micro-dollar/);
    expect(() => parseMoney(1e-7)).toThrow(/micro-dollar/);
    expect(() => parseMoney('abc')).toThrow(/invalid amount/);
    expect(() => parseMoney(Number.NaN)).toThrow();
  });

  it('formats exactly', () => {
    expect(formatMoney(1_234_567)).toBe('$1.234567');
    expect(formatMoney(-100)).toBe('-$0.000100');
    expect(formatMoney(0)).toBe('$0.000000');
  });

  it('rounds half up, and only half up', () => {
    expect(divRoundHalfUp(5n, 10n)).toBe(1n);
    expect(divRoundHalfUp(4n, 10n)).toBe(0n);
    expect(divRoundHalfUp(15n, 10n)).toBe(2n);
    expect(divRoundHalfUp(25n, 10n)).toBe(3n); // not banker's rounding
    expect(divRoundHalfUp(1_499_999n, 1_000_000n)).toBe(1n);
    expect(divRoundHalfUp(1_500_000n, 1_000_000n)).toBe(2n);
  });

  it('prices token lines per million, each rounded on its own', () => {
    // 1 token at $0.30/M = 0.3 micro-dollars -> 0; 2 tokens = 0.6 -> 1; 5 tokens = 1.5 -> 2
    expect(tokenLineCost(1, 300_000)).toBe(0);
    expect(tokenLineCost(2, 300_000)).toBe(1);
    expect(tokenLineCost(5, 300_000)).toBe(2);
    expect(tokenLineCost(1_000_000, 3_000_000)).toBe(3_000_000);
    // big products stay exact: 10M tokens at $1000/M
    expect(tokenLineCost(10_000_000, 1_000_000_000)).toBe(10_000_000_000);
    expect(() => tokenLineCost(1.5, 1)).toThrow();
  });
});

describe('prices', () => {
  const sonnet: ModelPrice = { kind: 'tokens', input: 3_000_000, output: 15_000_000, cacheWrite: 3_750_000, cacheRead: 300_000 };
  const table = {
    version: 'v1',
    models: { 'claude-sonnet-4-5': sonnet, 'gpt-*': { kind: 'call', perCall: 10_000 } as ModelPrice, 'gpt-4o*': { kind: 'free' } as ModelPrice },
  };

  it('sums line items rounded half up each', () => {
    const cost = costOf(sonnet, { inputTokens: 1, outputTokens: 1, cacheWriteTokens: 1, cacheReadTokens: 5 });
    // 3 + 15 + 3.75->4 + 1.5->2
    expect(cost.lines.map((l) => l.cost)).toEqual([3, 15, 4, 2]);
    expect(cost.total).toBe(24);
    // a realistic request: 1234 in, 567 out, 2000 cache write, 10000 cache read
    const real = costOf(sonnet, { inputTokens: 1234, outputTokens: 567, cacheWriteTokens: 2000, cacheReadTokens: 10_000 });
    expect(real.total).toBe(3702 + 8505 + 7500 + 3000);
  });

  it('finds exact names, then the longest prefix pattern, ignoring a type, routing prefix', () => {
    expect(findPrice(table, 'claude-sonnet-4-5')).toBe(sonnet);
    expect(findPrice(table, 'claude,claude-sonnet-4-5')).toBe(sonnet);
    expect(findPrice(table, 'gpt-4o-mini')?.kind).toBe('free');
    expect(findPrice(table, 'gpt-5')?.kind).toBe('call');
    expect(findPrice(table, 'mystery')).toBeUndefined();
  });

  it('charges per call and nothing for free models', () => {
    expect(costOf({ kind: 'call', perCall: 10_000 }, { inputTokens: 9, outputTokens: 9, cacheWriteTokens: 0, cacheReadTokens: 0 }).total).toBe(10_000);
    expect(costOf({ kind: 'free' }, { inputTokens: 9, outputTokens: 9, cacheWriteTokens: 0, cacheReadTokens: 0 }).total).toBe(0);
  });

  it('reserves input at the dearer input price plus max output', () => {
    expect(reservationFor(sonnet, { estimatedInputTokens: 1000, maxOutputTokens: 100 }, 4096)).toBe(3750 + 1500);
    expect(reservationFor(sonnet, { estimatedInputTokens: 0, maxOutputTokens: undefined }, 4096)).toBe(61_440);
    expect(reservationFor({ kind: 'call', perCall: 7 }, { estimatedInputTokens: 0, maxOutputTokens: 1 }, 1)).toBe(7);
  });

  it('derives the same version from the same table', () => {
    expect(priceTableVersion(table.models)).toBe(priceTableVersion({ ...table.models }));
    expect(priceTableVersion(table.models)).not.toBe(priceTableVersion({ 'claude-sonnet-4-5': sonnet }));
  });
});

describe('ending policy', () => {
  const usage = { inputTokens: 10, outputTokens: 20, cacheWriteTokens: 3, cacheReadTokens: 4 };

  it('names the rule for each ending', () => {
    expect(ruleFor('upstream_error', false)).toBe('upstream_error');
    expect(ruleFor('upstream_error', true)).toBe('stream_cut');
    expect(ruleFor('client_abort', false)).toBe('client_abort_before_first_token');
    expect(ruleFor('client_abort', true)).toBe('client_abort_after_first_token');
    expect(ruleFor('empty', false)).toBe('empty');
  });

  it('charges nothing, only the input, or the usage', () => {
    expect(DEFAULT_POLICY.upstream_error).toBe('zero');
    expect(billableUsage('zero', usage, 50)).toEqual({ inputTokens: 0, outputTokens: 0, cacheWriteTokens: 0, cacheReadTokens: 0 });
    expect(billableUsage('input', usage, 50)).toEqual({ ...usage, outputTokens: 0 });
    expect(billableUsage('input', undefined, 49.5)).toEqual({ inputTokens: 0, outputTokens: 0, cacheWriteTokens: 0, cacheReadTokens: 0 });
    expect(billableUsage('usage', { ...usage, estimated: true }, 0)).toEqual(usage);
  });
});
