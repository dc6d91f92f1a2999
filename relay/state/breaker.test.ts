import { describe, expect, it } from 'vitest';
import { acquireProbe, breakerAt, nextBreaker } from './breaker.js';
import { BREAKER_CASES } from './breaker-cases.js';
import type { BreakerState } from './types.js';

describe('breaker transition function', () => {
  it.each(BREAKER_CASES)('$name', ({ settings, steps }) => {
    let state: BreakerState | undefined;
    for (const [i, step] of steps.entries()) {
      const where = `step ${i} at ${step.at}`;
      if ('record' in step) {
        state = nextBreaker(state, step.record === 'ok', step.at, settings);
        expect(state.phase, where).toBe(step.phase);
      } else if ('probe' in step) {
        const r = acquireProbe(state, step.at, settings);
        state = r.state;
        expect(r.admitted, where).toBe(step.probe);
      } else {
        expect(breakerAt(state, step.at).phase, where).toBe(step.read);
      }
    }
  });

  it('never mutates the state it is given', () => {
    const settings = { failureThreshold: 1, successThreshold: 1, openMs: 10 };
    const open = Object.freeze(nextBreaker(undefined, false, 0, settings));
    expect(() => acquireProbe(open, 10, settings)).not.toThrow();
    expect(open.phase).toBe('open');
    expect(open.probeUntil).toBeUndefined();
  });
});
