/**
 * /readyz: may this relay take traffic? Configuration loaded, every store answers within a
 * bound, and not draining for shutdown. Each check reports its own result so an operator sees
 * which store is down.
 */
import type { Clock } from '../../lib/clock.js';

export type Check = () => Promise<unknown>;

export interface CheckResult {
  ok: boolean;
  ms: number;
  error?: string;
}

export interface Readiness {
  ready: boolean;
  checks: Record<string, CheckResult>;
}

function bounded(check: Check, ms: number, clock: Clock): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = clock.setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    check().then(
      (v) => (timer.cancel(), resolve(v)),
      (err: unknown) => (timer.cancel(), reject(err)),
    );
  });
}

export async function runReadiness(checks: Record<string, Check>, clock: Clock, timeoutMs = 2_000): Promise<Readiness> {
  const names = Object.keys(checks);
  const results = await Promise.all(
    names.map(async (name): Promise<CheckResult> => {
      const started = performance.now();
      try {
        await bounded(checks[name], timeoutMs, clock);
        return { ok: true, ms: Math.round(performance.now() - started) };
      } catch (err) {
        return { ok: false, ms: Math.round(performance.now() - started), error: (err as Error).message };
      }
    }),
  );
  const out: Record<string, CheckResult> = {};
  names.forEach((n, i) => (out[n] = results[i]));
  return { ready: results.every((r) => r.ok), checks: out };
}
