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

describe('Pacer on a late timer', () => {
  it('runs what was due earliest first when its timer fires late', () => {
    let now = 0;
    let pending: (() => void) | undefined;
    const clock = {
      now: () => now,
      setTimeout: (fn: () => void) => {
        pending = fn;
        return { cancel: () => (pending = undefined) };
      },
      setInterval: () => ({ cancel() {} }),
    };
    const pacer = new Pacer(clock);
    const ran: string[] = [];
    pacer.at(30, () => ran.push('30'));
    pacer.at(10, () => ran.push('10'));
    pacer.at(20, () => ran.push('20'));
    pacer.at(90, () => ran.push('90'));
    now = 50; // the event loop was busy: the timer for 10 fires at 50
    pending!();
    expect(ran).toEqual(['10', '20', '30']);
    expect(pacer.pending).toBe(1);
  });
});
