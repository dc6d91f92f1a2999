import { describe, expect, it } from 'vitest';
import { calibrate, machinesDiffer, medianCallUs } from './calibration.js';

describe('machine calibration', () => {
  it('measures a system call and a JSON round trip in microseconds', () => {
    const c = calibrate();
    expect(c.syscallUs).toBeGreaterThan(0);
    expect(c.jsonUs).toBeGreaterThan(0);
    // Both are a few µs on any machine this runs on; a ms would mean the probe measured something else.
    expect(c.syscallUs).toBeLessThan(1000);
    expect(c.jsonUs).toBeLessThan(1000);
  });

  it('takes the median batch, so one slow batch does not move it', () => {
    let call = 0;
    const us = medianCallUs(() => {
      // The third batch of ten calls (after the warm-up batch) is slow.
      if (Math.floor(call++ / 10) === 3) {
        const until = performance.now() + 1;
        while (performance.now() < until);
      }
    }, 10);
    expect(us).toBeLessThan(50);
  });

  it('tells machines apart when either probe differs by 25% or more', () => {
    expect(machinesDiffer({ syscallUs: 1, jsonUs: 2 }, { syscallUs: 1.2, jsonUs: 2.2 })).toBeUndefined();
    expect(machinesDiffer({ syscallUs: 1, jsonUs: 2 }, { syscallUs: 1.25, jsonUs: 2 })).toMatch(/system call costs 1 µs in base and 1.25 µs in head/);
    expect(machinesDiffer({ syscallUs: 1, jsonUs: 3 }, { syscallUs: 1, jsonUs: 2 })).toMatch(/JavaScript probe takes 3 µs in base and 2 µs in head/);
    expect(machinesDiffer(undefined, { syscallUs: 1, jsonUs: 2 })).toBeUndefined();
  });
});
