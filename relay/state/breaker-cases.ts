/**
 * One table of breaker behaviour, run against the pure functions, the memory store and the Redis
 * Lua scripts alike (breaker.test.ts, live-state.test.ts), so the two implementations cannot drift.
 */
import type { BreakerPhase, BreakerSettings } from './types.js';

export type BreakerStep =
  | { at: number; record: 'ok' | 'fail'; phase: BreakerPhase }
  | { at: number; probe: boolean }
  | { at: number; read: BreakerPhase };

export interface BreakerCase {
  name: string;
  settings: BreakerSettings;
  steps: BreakerStep[];
}

const S: BreakerSettings = { failureThreshold: 3, successThreshold: 2, openMs: 30_000 };

export const BREAKER_CASES: BreakerCase[] = [
  {
    name: 'opens after N consecutive failures',
    settings: S,
    steps: [
      { at: 0, record: 'fail', phase: 'closed' },
      { at: 1, record: 'fail', phase: 'closed' },
      { at: 2, record: 'fail', phase: 'open' },
      { at: 3, read: 'open' },
      { at: 4, probe: false },
    ],
  },
  {
    name: 'a success resets the failure run',
    settings: S,
    steps: [
      { at: 0, record: 'fail', phase: 'closed' },
      { at: 1, record: 'fail', phase: 'closed' },
      { at: 2, record: 'ok', phase: 'closed' },
      { at: 3, record: 'fail', phase: 'closed' },
      { at: 4, record: 'fail', phase: 'closed' },
      { at: 5, probe: true },
    ],
  },
  {
    name: 'half-open after open_for admits exactly one probe',
    settings: S,
    steps: [
      { at: 0, record: 'fail', phase: 'closed' },
      { at: 0, record: 'fail', phase: 'closed' },
      { at: 0, record: 'fail', phase: 'open' },
      { at: 29_999, read: 'open' },
      { at: 29_999, probe: false },
      { at: 30_000, read: 'half_open' },
      { at: 30_000, probe: true },
      { at: 30_001, probe: false },
      { at: 30_002, probe: false },
    ],
  },
  {
    name: 'closes after M successes, one probe at a time',
    settings: S,
    steps: [
      { at: 0, record: 'fail', phase: 'closed' },
      { at: 0, record: 'fail', phase: 'closed' },
      { at: 0, record: 'fail', phase: 'open' },
      { at: 30_000, probe: true },
      { at: 30_100, record: 'ok', phase: 'half_open' },
      { at: 30_101, probe: true },
      { at: 30_102, probe: false },
      { at: 30_200, record: 'ok', phase: 'closed' },
      { at: 30_201, probe: true },
      { at: 30_202, probe: true },
    ],
  },
  {
    name: 'a half-open failure re-opens for another open_for',
    settings: S,
    steps: [
      { at: 0, record: 'fail', phase: 'closed' },
      { at: 0, record: 'fail', phase: 'closed' },
      { at: 0, record: 'fail', phase: 'open' },
      { at: 30_000, probe: true },
      { at: 30_500, record: 'fail', phase: 'open' },
      { at: 60_499, read: 'open' },
      { at: 60_499, probe: false },
      { at: 60_500, read: 'half_open' },
      { at: 60_500, probe: true },
    ],
  },
  {
    name: 'outcomes reported while open change nothing',
    settings: S,
    steps: [
      { at: 0, record: 'fail', phase: 'closed' },
      { at: 0, record: 'fail', phase: 'closed' },
      { at: 0, record: 'fail', phase: 'open' },
      { at: 10, record: 'ok', phase: 'open' },
      { at: 20, record: 'fail', phase: 'open' },
      { at: 30_000, read: 'half_open' },
    ],
  },
  {
    name: 'a probe that never reports frees its lease after open_for',
    settings: S,
    steps: [
      { at: 0, record: 'fail', phase: 'closed' },
      { at: 0, record: 'fail', phase: 'closed' },
      { at: 0, record: 'fail', phase: 'open' },
      { at: 30_000, probe: true },
      { at: 59_999, probe: false },
      { at: 60_000, probe: true },
    ],
  },
  {
    name: 'threshold 1 opens on the first failure and closes on the first success',
    settings: { failureThreshold: 1, successThreshold: 1, openMs: 1000 },
    steps: [
      { at: 0, record: 'fail', phase: 'open' },
      { at: 1000, probe: true },
      { at: 1001, record: 'ok', phase: 'closed' },
    ],
  },
];
