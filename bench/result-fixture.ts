/** A bench result with nothing measured, for tests that fill in the runs or metrics they compare. */
import { RESULT_SCHEMA, type BenchResult } from './results.js';

export function emptyBenchResult(fields: Partial<BenchResult> = {}): BenchResult {
  return {
    schema: RESULT_SCHEMA,
    benchmark: 'overhead',
    description: '',
    startedAt: '2026-01-01T00:00:00Z',
    finishedAt: '2026-01-01T00:01:00Z',
    environment: { node: 'v20', platform: 'linux', arch: 'x64', cpuModel: 'cpu', cores: 2, totalMemoryMb: 1, loadAverage: { start: 0 }, git: { commit: 'abc', dirty: false } },
    config: {},
    targets: [],
    runs: [],
    metrics: [],
    checks: [],
    thresholds: {},
    notes: [],
    ...fields,
  };
}
