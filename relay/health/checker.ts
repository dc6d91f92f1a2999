/**
 * The periodic health checker. Every `health.interval` of the relay's clock it probes the
 * endpoints that take part (targets.ts), records status and latency in LiveState (shared by all
 * relay processes; fastest routing reads the latency) and logs only changes of status.
 * Disabled endpoints are still probed, so they come back as soon as they recover.
 */
import { randomUUID } from 'node:crypto';
import { Agent } from 'undici';
import type { Clock, TimerHandle } from '../../lib/clock.js';
import type { EndpointModel, RelayModel } from '../config/model.js';
import { orderChannels } from '../routing/planner.js';
import type { EndpointLiveState, HealthState, LiveState } from '../state/types.js';
import { probeRequestFor, sendProbe } from './probe.js';
import { selectTargets } from './targets.js';
import { nextHealth, notChecked } from './transition.js';
import type { HealthLog, ProbeResult } from './types.js';

export interface HealthCheckerDeps {
  clock: Clock;
  liveState: LiveState;
  getLayout: () => RelayModel;
  log?: HealthLog;
  /** Probes in flight at once. */
  concurrency?: number;
}

export interface HealthRound {
  at: number;
  activeChannel: string | undefined;
  results: ProbeResult[];
}

export interface HealthChecker {
  /** Runs a round now and then every health.interval (when health.enabled). */
  start(): void;
  /** Stops the timer, waits for a running round and closes the probe connections. */
  stop(): Promise<void>;
  /**
   * Follows the layout's health section after a config change: starts the timer when health
   * checks were turned on, reschedules it when the interval changed, stops it when turned off.
   */
  follow(): void;
  /** One round now (the admin API's POST /admin/health/run). A round already running is joined. */
  runOnce(): Promise<HealthRound>;
  /** The last finished round, if any. */
  readonly lastRound: HealthRound | undefined;
}

const SILENT: HealthLog = { info() {}, warn() {} };
/** The LiveState lease that elects the relay running this interval's round. */
export const ROUND_LEASE = 'health-round';

export function createHealthChecker(deps: HealthCheckerDeps): HealthChecker {
  const { clock, liveState, getLayout } = deps;
  const log = deps.log ?? SILENT;
  const concurrency = deps.concurrency ?? 8;
  let dispatcher: Agent | undefined;
  let timer: TimerHandle | undefined;
  let timerInterval = 0;
  let running: Promise<HealthRound> | undefined;
  let lastRound: HealthRound | undefined;
  const holderId = randomUUID();
  // After stop() (relay closing) a late config change must not start the timer again.
  let stopped = false;

  const agent = () => (dispatcher ??= new Agent({ keepAliveTimeout: 30_000, connections: 4 }));

  async function round(): Promise<HealthRound> {
    const layout = getLayout();
    const now = clock.now();
    const all: EndpointModel[] = layout.channels.flatMap((c) => c.endpoints);
    const states = await liveState.readEndpoints(
      all.map((e) => ({ endpoint: e.name, channel: e.channel, tokenId: e.tokenId })),
      now,
    );
    const live = new Map<string, EndpointLiveState>(states.map((s) => [s.endpoint, s]));
    const targets = selectTargets(layout, orderChannels(layout, live));
    const timeoutMs = layout.health.timeout;
    const threshold = layout.health.failure_threshold;

    const results = await mapLimited(targets.probe, concurrency, async (ep): Promise<ProbeResult> => {
      const request = probeRequestFor(ep)!;
      const answer = await sendProbe(request, { dispatcher: agent(), clock, timeoutMs });
      const previous = live.get(ep.name)?.health;
      const next = nextHealth(previous, answer.outcome, clock.now(), threshold);
      await liveState.setHealth(ep.name, next);
      reportChange(ep, previous, next);
      return {
        endpoint: ep.name,
        channel: ep.channel,
        checked: true,
        ok: answer.outcome.ok,
        status: next.status,
        httpStatus: answer.httpStatus,
        latencyMs: next.latencyMs,
        error: next.lastError,
        consecutiveFailures: next.consecutiveFailures,
      };
    });

    for (const ep of targets.notChecked) {
      const previous = live.get(ep.name)?.health;
      let state = previous;
      if (previous?.status !== 'not_checked') {
        state = notChecked(previous);
        await liveState.setHealth(ep.name, state);
        reportChange(ep, previous, state);
      }
      results.push({
        endpoint: ep.name,
        channel: ep.channel,
        checked: false,
        ok: false,
        status: 'not_checked',
        latencyMs: state?.latencyMs,
        consecutiveFailures: 0,
      });
    }
    return { at: now, activeChannel: targets.active?.name, results };
  }

  function reportChange(ep: EndpointModel, previous: HealthState | undefined, next: HealthState): void {
    const from = previous?.status ?? 'unknown';
    if (from === next.status) return;
    // At start-up every non-participant goes unknown -> not_checked: not news.
    if (from === 'unknown' && next.status === 'not_checked') return;
    const fields = { endpoint: ep.name, channel: ep.channel, from, to: next.status, error: next.lastError, latencyMs: next.latencyMs };
    if (next.status === 'disabled' || next.status === 'unhealthy') log.warn(fields, `endpoint ${ep.name} ${next.status}`);
    else log.info(fields, `endpoint ${ep.name} ${next.status}`);
  }

  function runOnce(): Promise<HealthRound> {
    running ??= round()
      .then((r) => (lastRound = r))
      .finally(() => (running = undefined));
    return running;
  }

  function tick(): void {
    const health = getLayout().health;
    // An admin change of the interval takes effect from the next tick.
    if (health.interval !== timerInterval) schedule(health.interval);
    if (!health.enabled || running) return;
    // Relays sharing Redis take turns: one round per interval among all of them, not one each
    // (duplicated probes, racing failure counts). The lease ends a little before the next tick.
    liveState
      .tryLease(ROUND_LEASE, Math.max(1, Math.floor(health.interval * 0.9)), clock.now(), holderId)
      .then((mine) => (mine ? runOnce() : undefined))
      .catch((err: Error) => log.warn({ err: err.message }, 'health round failed'));
  }

  function schedule(interval: number): void {
    timer?.cancel();
    timerInterval = interval;
    timer = clock.setInterval(tick, Math.max(1, interval));
  }

  return {
    start() {
      stopped = false;
      if (timer) return;
      schedule(getLayout().health.interval);
      tick();
    },
    async stop() {
      stopped = true;
      timer?.cancel();
      timer = undefined;
      await running?.catch(() => undefined);
      const d = dispatcher;
      dispatcher = undefined;
      await d?.close();
    },
    follow() {
      if (stopped) return;
      const health = getLayout().health;
      if (!health.enabled) {
        timer?.cancel();
        timer = undefined;
        timerInterval = 0;
        return;
      }
      if (!timer) {
        schedule(health.interval);
        tick();
      } else if (health.interval !== timerInterval) schedule(health.interval);
    },
    runOnce,
    get lastRound() {
      return lastRound;
    },
  };
}

async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
