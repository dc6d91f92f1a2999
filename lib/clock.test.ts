import { describe, expect, it } from 'vitest';
import { TestClock } from './clock.js';
import { parseDuration } from './duration.js';
import { maskToken } from './mask.js';

describe('TestClock', () => {
  it('fires timers in due order as time advances', async () => {
    const clock = new TestClock(0);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 200);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 100);
    const every = clock.setInterval(() => fired.push(`i@${clock.now()}`), 150);
    await clock.advance(320);
    expect(fired).toEqual(['a@100', 'i@150', 'b@200', 'i@300']);
    every.cancel();
    await clock.advance(1000);
    expect(fired).toHaveLength(4);
    expect(clock.now()).toBe(1320);
  });
});

describe('parseDuration', () => {
  it('parses units and sums', () => {
    expect(parseDuration('15d')).toBe(15 * 86_400_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration(42)).toBe(42);
    expect(() => parseDuration('5 parsecs')).toThrow(/invalid duration/);
  });
});

describe('maskToken', () => {
  it('shows a prefix and the last 4 characters only', () => {
    expect(maskToken('sk-ant-api03-abcdefghijklmnop')).toBe('sk-ant-…mnop');
    expect(maskToken('Bearer sk-proj-1234567890abcd')).toBe('Bearer sk-proj-…abcd');
    expect(maskToken('tokenA-very-secret-1234')).toBe('tok…1234');
  });
});
