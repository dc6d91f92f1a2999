import { describe, expect, it } from 'vitest';
import { TestClock } from '../lib/clock.js';
import { Pacer } from './pacer.js';

describe('Pacer', () => {
  it('runs each callback once, at or just after its time, in time order', async () => {
    const clock = new TestClock();
    const pacer = new Pacer(clock);
    const t0 = clock.now();
    const ran: Array<[string, number]> = [];
    const note = (name: string) => () => ran.push([name, clock.now() - t0]);
    pacer.at(t0 + 50, note('b'));
    pacer.at(t0 + 20.4, note('a'));
    pacer.at(t0 + 50, note('c'));
    pacer.at(t0 + 90, note('d'));
    expect(pacer.pending).toBe(4);
    await clock.advance(20);
    expect(ran).toEqual([]);
    await clock.advance(1);
    expect(ran).toEqual([['a', 21]]);
    await clock.advance(100);
    expect(ran).toEqual([['a', 21], ['b', 50], ['c', 50], ['d', 90]]);
    expect(pacer.pending).toBe(0);
  });

  it('takes new times asked for while it runs (a stream scheduling its next event), earlier ones too', async () => {
    const clock = new TestClock();
    const pacer = new Pacer(clock);
    const t0 = clock.now();
    const ran: number[] = [];
    let left = 3;
    const step = () => {
      ran.push(clock.now() - t0);
      if (--left > 0) pacer.at(clock.now() + 50, step);
    };
    pacer.at(t0 + 100, () => ran.push(-1));
    pacer.at(t0 + 10, step);
    await clock.advance(200);
    expect(ran).toEqual([10, 60, -1, 110]);
  });

  it('one callback that throws does not keep the others due with it from running', async () => {
    const clock = new TestClock();
    const pacer = new Pacer(clock);
    let ran = 0;
    pacer.at(clock.now() + 5, () => {
      throw new Error('a broken step');
    });
    pacer.at(clock.now() + 5, () => ran++);
    await clock.advance(10);
    expect(ran).toBe(1);
  });
});
