/**
 * One timer for every paced stream of a mock process. A stream asks to run again at an absolute
 * time; callbacks due in the same millisecond are kept together and run by one clock timer.
 *
 * Why not a timer per stream and event: at 2,000 streams x 20 events/s that is 40,000 timers a
 * second, each a Timeout, a handle and a closure that live until they fire, so every young
 * collection copied thousands of them; and node keeps a timer list per distinct duration, which
 * the exact (fractional) waits of an absolute schedule made one list per timer. Here a paced event
 * costs an array slot.
 */
import type { Clock, TimerHandle } from '../lib/clock.js';

export class Pacer {
  /** Due millisecond -> callbacks, in the order they were asked for. */
  private readonly slots = new Map<number, Array<() => void>>();
  private timer: TimerHandle | undefined;
  private armedFor = Number.POSITIVE_INFINITY;

  constructor(private readonly clock: Clock) {}

  /**
   * Runs `fn` once, at or just after clock time `due` (ms). There is no cancelling: a stream whose
   * client left finds its response closed when its callback runs, and does nothing.
   */
  at(due: number, fn: () => void): void {
    const slot = Math.ceil(due);
    const list = this.slots.get(slot);
    if (list) list.push(fn);
    else this.slots.set(slot, [fn]);
    if (slot < this.armedFor) this.arm(slot);
  }

  /** Callbacks waiting (for tests and stats). */
  get pending(): number {
    let n = 0;
    for (const list of this.slots.values()) n += list.length;
    return n;
  }

  private arm(slot: number): void {
    this.timer?.cancel();
    this.armedFor = slot;
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, slot - this.clock.now()));
  }

  private fire(): void {
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
    const now = this.clock.now();
    let next = Number.POSITIVE_INFINITY;
    const due: number[] = [];
    for (const slot of this.slots.keys()) {
      if (slot <= now) due.push(slot);
      else if (slot < next) next = slot;
    }
    // Earliest first: when the timer fires late, the events that were due first go first.
    due.sort((a, b) => a - b);
    for (const slot of due) {
      const list = this.slots.get(slot)!;
      this.slots.delete(slot);
      for (const fn of list) {
        try {
          fn();
        } catch {
          // A callback guards its own response (the stream writer's resume); one bad step never stops the rest.
        }
      }
    }
    // Callbacks that ran may have asked for new slots (and armed the timer for the earliest).
    if (next < this.armedFor) this.arm(next);
  }
}
