/**
 * Graceful shutdown: stop accepting, let in-flight requests and streams finish up to a deadline,
 * then cut what is left at the upstream side. Cutting upstream (not the client socket) lets the
 * relay's own stream handling end each client stream with the protocol's error event and settle
 * its charge as a cut stream, so nobody sees a bare connection reset and no reservation is left
 * pending. The caller then closes the relay (flush the request log, close ledger and stores).
 */
import type { Server } from 'node:http';
import type { Clock } from '../../lib/clock.js';
import type { InFlightResponses, SettlementTracker } from './in-flight.js';

export interface DrainParts {
  server: Server;
  inFlight: InFlightResponses;
  settlements: SettlementTracker;
  /** Aborts every upstream call (the relay's connection pools). */
  cutUpstreams(): Promise<void>;
  clock: Clock;
  log?: { info(o: object, m?: string): void; warn(o: object, m?: string): void };
}

export interface DrainReport {
  /** Open client responses when the drain began. */
  inFlightAtStart: number;
  /** true when the deadline passed and upstream calls were cut. */
  cut: boolean;
  /** Responses and reservations still open at the end (0 and 0 unless something hung). */
  leftOpen: number;
  unsettled: number;
  ms: number;
}

/** Resolves true when `p` settles first, false when `ms` of the clock pass first. */
function within(p: Promise<unknown>, ms: number, clock: Clock): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = clock.setTimeout(() => resolve(false), ms);
    p.then(() => (timer.cancel(), resolve(true)));
  });
}

export async function drain(parts: DrainParts, deadlineMs: number, graceMs = 5_000): Promise<DrainReport> {
  const { server, inFlight, settlements, clock } = parts;
  const started = clock.now();
  const inFlightAtStart = inFlight.size;
  // Stop accepting; idle keep-alive connections go now, busy ones after their answer.
  if (server.listening) server.close();
  server.closeIdleConnections();
  parts.log?.info({ inFlight: inFlightAtStart, pendingCharges: settlements.size, deadlineMs }, 'draining');
  const quiet = () => Promise.all([inFlight.idle(), settlements.idle()]);
  let cut = false;
  if (!(await within(quiet(), deadlineMs, clock))) {
    cut = true;
    parts.log?.warn({ inFlight: inFlight.size, streams: inFlight.streams(), pendingCharges: settlements.size }, 'shutdown deadline passed: cutting upstream calls');
    await parts.cutUpstreams();
    if (!(await within(quiet(), graceMs, clock))) {
      const ended = inFlight.endAll('the relay shut down before this answer finished');
      parts.log?.warn({ ended, pendingCharges: settlements.size }, 'shutdown grace passed: ended the remaining answers');
      await within(inFlight.idle(), 1_000, clock);
    }
  }
  server.closeIdleConnections();
  const report = { inFlightAtStart, cut, leftOpen: inFlight.size, unsettled: settlements.size, ms: clock.now() - started };
  parts.log?.info(report, 'drained');
  return report;
}

/**
 * SIGTERM / SIGINT: drain with the deadline, close, exit 0. A second signal exits at once.
 * Returns a function that removes the handlers.
 */
export function exitOnSignals(
  shutdown: () => Promise<unknown>,
  opts: { log?: { error(o: object, m?: string): void }; exit?: (code: number) => void } = {},
): () => void {
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      exit(1);
      return;
    }
    stopping = true;
    shutdown().then(
      () => exit(0),
      (err: Error) => {
        opts.log?.error({ err: err.message, signal }, 'shutdown failed');
        exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
}
