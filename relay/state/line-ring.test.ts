import { describe, expect, it } from 'vitest';
import { LineRing } from './line-ring.js';

/** What the ring holds, oldest first. */
const lines = (r: LineRing) => Array.from({ length: r.size }, (_, i) => r.at(i));

describe('LineRing', () => {
  it('keeps the newest `capacity` lines, oldest first, multi-byte text intact', () => {
    const r = new LineRing(3, 1024);
    for (const l of ['{"a":1}', '{"b":"é"}', '{"c":"日本"}', '{"d":"🙂"}']) r.push(l);
    expect(lines(r)).toEqual(['{"b":"é"}', '{"c":"日本"}', '{"d":"🙂"}']);
  });

  it('hands out the unsaved lines once, as JSON-lines bytes, and never the ones read back from disk', () => {
    const r = new LineRing(10, 1024);
    r.push('old', true);
    r.push('a');
    r.push('b');
    expect(r.unsavedEntries).toBe(2);
    expect(r.unsavedBytes).toBe(4);
    expect(r.takeUnsaved()?.toString()).toBe('a\nb\n');
    expect(r.takeUnsaved()).toBeUndefined();
    r.push('c');
    expect(r.takeUnsaved()?.toString()).toBe('c\n');
    expect(lines(r)).toEqual(['old', 'a', 'b', 'c']);
  });

  it('bounded by bytes, it wraps; an unsaved line that must make room is still handed out, in order', () => {
    // Property over random lines (ASCII and multi-byte, some larger than the smallest ring),
    // random takes: every unsaved line comes out exactly once and in order, and the ring holds the
    // newest of the lines it can hold, within both bounds.
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    const alphabet = ['x', 'y', 'é', '日', '🙂'];
    for (const [capacity, bytes] of [[50, 200], [5, 1000], [1000, 64]] as const) {
      const r = new LineRing(capacity, bytes);
      const pushed: string[] = [];
      /** What can be held: a line larger than the whole ring is written, never kept. */
      const fits: string[] = [];
      let out = '';
      for (let n = 0; n < 1500; n++) {
        const line = Array.from({ length: rand(rand(10) === 0 ? 40 : 12) }, () => alphabet[rand(alphabet.length)]).join('') + `#${n}`;
        pushed.push(line);
        if (Buffer.byteLength(line) + 1 <= bytes) fits.push(line);
        r.push(line);
        if (rand(7) === 0) out += r.takeUnsaved()?.toString() ?? '';
        const held = lines(r);
        expect(held.length).toBeLessThanOrEqual(capacity);
        expect(held.reduce((s, l) => s + Buffer.byteLength(l) + 1, 0)).toBeLessThanOrEqual(bytes);
        expect(held).toEqual(held.length ? fits.slice(-held.length) : []);
        if (fits.at(-1) === line) expect(held.at(-1)).toBe(line);
      }
      out += r.takeUnsaved()?.toString() ?? '';
      expect(out).toBe(pushed.map((l) => l + '\n').join(''));
    }
  });

  it('a line larger than the whole ring is not kept in memory but still handed out after the ones before it', () => {
    const r = new LineRing(10, 16);
    r.push('a');
    r.push('x'.repeat(40));
    r.push('b');
    expect(lines(r)).toEqual(['a', 'b']);
    expect(r.unsavedEntries).toBe(3);
    expect(r.takeUnsaved()?.toString()).toBe(`a\n${'x'.repeat(40)}\nb\n`);
  });

  it('is resident from construction: writing through the whole buffer does not raise RSS', () => {
    // An untouched buffer became resident page by page as the head first went through it, which a
    // benchmark judging RSS growth read as a leak. 64 MiB so the difference stands out of the noise
    // of this process (the strings pushed are one constant; saved lines make no copies).
    const bytes = 64 * 1024 * 1024;
    const r = new LineRing(1_000_000, bytes);
    const line = 'x'.repeat(1000);
    const before = process.memoryUsage().rss;
    for (let written = 0; written < 2 * bytes; written += line.length + 1) r.push(line, true);
    const grew = process.memoryUsage().rss - before;
    // Untouched at construction, this grew by the whole 64 MiB.
    expect(grew).toBeLessThan(bytes / 4);
    expect(r.at(r.size - 1)).toBe(line);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new LineRing(0)).toThrow(/capacity/);
    expect(() => new LineRing(2, 0)).toThrow(/byte capacity/);
  });
});
