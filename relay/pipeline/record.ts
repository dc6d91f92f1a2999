/**
 * Stage 7, record: one request-log line per request (with its attempt trail), written in the
 * background; also for requests refused before any attempt.
 */
import type { LoopResult } from '../proxy/attempt-loop.js';
import type { Exchange } from '../proxy/exchange.js';
import type { RequestLogEntry } from '../state/types.js';
import type { Session } from './session.js';
import type { Settled } from './settle.js';
import type { RelayRuntime } from './runtime.js';

export function recordRequest(rt: RelayRuntime, ex: Exchange, keyName: string, path: string, loop: LoopResult, settled: Settled, session: Session | undefined, stickyHit: boolean): void {
  const outcome = settled.outcome;
  const entry: RequestLogEntry = {
    requestId: ex.requestId,
    time: ex.startedAt,
    keyName,
    protocol: ex.protocol.id,
    path,
    model: ex.model,
    stream: ex.info.stream,
    status: ex.res.statusCode,
    outcome: loop.attempts.length === 0 && outcome === 'upstream_error' ? 'no_candidate' : outcome === 'success' ? 'ok' : outcome,
    latencyMs: rt.clock.now() - ex.startedAt,
    ttfbMs: ex.ttfbAt !== undefined ? ex.ttfbAt - ex.startedAt : undefined,
    session: session ? { source: session.source, hash: session.stickyKey.slice(0, 16), hit: stickyHit } : undefined,
    usage: settled.usage,
    attempts: loop.attempts,
  };
  rt.records.appendRequestLog(entry);
}

/** A request answered without any upstream attempt: refused (auth, limits, body, balance), or served by the relay itself. */
export function recordWithoutAttempts(rt: RelayRuntime, requestId: string, startedAt: number, keyName: string, protocol: string, path: string, status: number, outcome = 'rejected'): void {
  rt.records.appendRequestLog({ requestId, time: startedAt, keyName, protocol, path, stream: false, status, outcome, latencyMs: rt.clock.now() - startedAt, attempts: [] });
}
