/**
 * One injectable clock for every timer in relaylab (cooldowns, breakers, sticky TTLs,
 * health intervals, task timeouts). Production uses SystemClock; tests and scenarios use
 * TestClock and move time by days in milliseconds with `advance()`.
 *
 * Rule for stores: compare stored deadlines against `clock.now()`; never rely on a
 * backend's own expiry (Redis TTL) for correctness, only for garbage collection.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  now(): number;
  /** Runs fn once after ms of this clock's time. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Runs fn every ms of this clock's time until cancelled. */
  setInterval(fn: () => void, ms: number): TimerHandle;
}

export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return new SystemTimeout(t);
  }
  setInterval(fn: () => void, ms: number): TimerHandle {
    const t = setInterval(fn, ms);
    t.unref?.();
    return { cancel: () => clearInterval(t) };
  }
}

/** A handle with a method rather than a cancel closure: one is made per upstream attempt. */
class SystemTimeout implements TimerHandle {
  constructor(private readonly timeout: ReturnType<typeof setTimeout>) {}

  cancel(): void {
    clearTimeout(this.timeout);
  }
}

interface PendingTimer {
  id: number;
  due: number;
  fn: () => void;
  every?: number;
}

/**
 * A virtual clock. Starts at a fixed epoch (or the given one) and only moves on `advance`
 * or `set`. Timers fire in due order during `advance`, each seeing `now()` equal to its due time.
 */
export class TestClock implements Clock {
  private current: number;
  private timers: PendingTimer[] = [];
  private nextId = 1;

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, Math.max(0, ms));
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, Math.max(1, ms), Math.max(1, ms));
  }

  /** Moves time forward by ms, firing due timers in order; awaits microtasks between them. */
  async advance(ms: number): Promise<void> {
    const target = this.current + Math.max(0, ms);
    for (;;) {
      this.timers.sort((a, b) => a.due - b.due || a.id - b.id);
      const next = this.timers[0];
      if (!next || next.due > target) break;
      this.current = next.due;
      if (next.every) next.due += next.every;
      else this.timers.shift();
      next.fn();
      // Let promise chains started by the timer run before the next one fires.
      await new Promise<void>((r) => setImmediate(r));
    }
    this.current = target;
  }

  pendingTimers(): number {
    return this.timers.length;
  }

  private add(fn: () => void, ms: number, every?: number): TimerHandle {
    const timer: PendingTimer = { id: this.nextId++, due: this.current + ms, fn, every };
    this.timers.push(timer);
    return { cancel: () => (this.timers = this.timers.filter((t) => t !== timer)) };
  }
}
