/**
 * Polls custom-pass upstreams for the relay's unfinished tasks, on the injected Clock: every
 * interval, all active tasks, grouped by endpoint and model into batches of `batch_size` ids per
 * `list-by-condition` query, `concurrency` queries in flight. A task that succeeded is settled
 * on its usage, one that failed or outlived `task_timeout` is refunded; the task is marked billed
 * only after the ledger closed it (closing is idempotent, so a crash in between is harmless).
 * Billing never depends on a client asking about its task.
 */
import type { Clock, TimerHandle } from '../../lib/clock.js';
import { isFinalTaskStatus, readTask } from '../../protocols/custom-pass.js';
import { TASK_RESERVATION_PREFIX, type LedgerBilling } from '../billing/service.js';
import type { PassSettings } from './config.js';
import { mapTaskStatus } from './status.js';
import type { PassTask, PassTaskStore } from './tasks.js';
import type { UpstreamPools } from '../proxy/pools.js';
import { callUpstream, type PassEndpoint } from './upstream.js';

export interface PollerDeps {
  clock: Clock;
  settings: PassSettings;
  tasks: PassTaskStore;
  billing?: LedgerBilling;
  /** A custom-pass endpoint by name, as configured now. */
  endpoint(name: string): PassEndpoint | undefined;
  /** The relay's upstream pools. */
  pools: UpstreamPools;
  /** Answers larger than this fail the query. */
  maxBytes: number;
  onError?(err: Error, context: string): void;
}

export interface PollRound {
  polled: number;
  queries: number;
  settled: number;
  refunded: number;
  failedQueries: number;
  durationMs: number;
}

export class TaskPoller {
  private timer: TimerHandle | undefined;
  private running: Promise<PollRound> | undefined;

  constructor(private readonly deps: PollerDeps) {}

  start(): void {
    if (this.timer) return;
    this.timer = this.deps.clock.setInterval(() => {
      // One round at a time: a slow round is not stacked on by the next tick.
      if (!this.running) void this.pollOnce().catch((err: Error) => this.deps.onError?.(err, 'pass poll round'));
    }, this.deps.settings.poll.intervalMs);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Waits for a round in progress (tests, shutdown). */
  async idle(): Promise<void> {
    await this.running?.catch(() => undefined);
  }

  pollOnce(): Promise<PollRound> {
    if (this.running) return this.running;
    this.running = this.round().finally(() => (this.running = undefined));
    return this.running;
  }

  private async round(): Promise<PollRound> {
    const { clock, settings } = this.deps;
    const started = Date.now();
    const stats: PollRound = { polled: 0, queries: 0, settled: 0, refunded: 0, failedQueries: 0, durationMs: 0 };
    const active = await this.deps.tasks.active();
    const now = clock.now();
    const groups = new Map<string, PassTask[]>();
    for (const task of active) {
      if (isFinalTaskStatus(task.status)) {
        await this.bill(task, stats); // finished earlier but its billing did not complete
        continue;
      }
      if (now - task.submittedAt >= settings.poll.taskTimeoutMs) {
        await this.finish(task, { status: 'failed', error: `timed out after ${settings.poll.taskTimeoutMs} ms` }, stats);
        continue;
      }
      const k = `${task.endpoint}\u0000${task.model}`;
      let g = groups.get(k);
      if (!g) groups.set(k, (g = []));
      g.push(task);
    }
    const batches: PassTask[][] = [];
    for (const g of groups.values()) for (let i = 0; i < g.length; i += settings.poll.batchSize) batches.push(g.slice(i, i + settings.poll.batchSize));
    let next = 0;
    const worker = async () => {
      while (next < batches.length) await this.query(batches[next++], stats);
    };
    await Promise.all(Array.from({ length: Math.min(settings.poll.concurrency, batches.length) }, worker));
    stats.durationMs = Date.now() - started;
    return stats;
  }

  private async query(batch: PassTask[], stats: PollRound): Promise<void> {
    const first = batch[0];
    const ep = this.deps.endpoint(first.endpoint);
    if (!ep) return; // endpoint removed: the task times out and is refunded
    stats.queries++;
    let answer;
    try {
      answer = await callUpstream(this.deps.pools, ep, {
        method: 'POST', path: `/${first.model}/task/list-by-condition`, body: JSON.stringify({ task_ids: batch.map((t) => t.upstreamTaskId) }),
        requestId: `poll-${first.id}`, timeoutMs: this.deps.settings.timeoutMs, maxBytes: this.deps.maxBytes,
      });
    } catch (err) {
      stats.failedQueries++;
      this.deps.onError?.(err as Error, `pass poll ${ep.name}`);
      return;
    }
    const data = (answer.json as { data?: unknown } | undefined)?.data;
    if (answer.status >= 300 || !Array.isArray(data)) {
      stats.failedQueries++;
      return;
    }
    const byUpstream = new Map(batch.map((t) => [t.upstreamTaskId, t]));
    const now = this.deps.clock.now();
    for (const raw of data) {
      const seen = readTask(raw);
      const task = seen && byUpstream.get(seen.taskId);
      if (!seen || !task) continue;
      stats.polled++;
      const upstreamStatus = typeof (raw as { status?: unknown }).status === 'string' ? String((raw as { status: string }).status) : undefined;
      const status = mapTaskStatus(upstreamStatus, this.deps.settings.statusMap);
      const progress = typeof (raw as { progress?: unknown }).progress === 'string' ? String((raw as { progress: string }).progress) : task.progress;
      if (status && isFinalTaskStatus(status)) {
        await this.finish(
          { ...task, upstreamStatus, progress },
          { status, usage: seen.usage, error: seen.error, result: (raw as { result?: unknown }).result ?? undefined },
          stats,
        );
      } else if (status !== task.status || upstreamStatus !== task.upstreamStatus || progress !== task.progress) {
        // Unknown statuses keep the task running (the timeout still bounds it).
        await this.deps.tasks.put({ ...task, status: status ?? task.status, upstreamStatus, progress, updatedAt: now });
      }
    }
  }

  private async finish(task: PassTask, end: Pick<PassTask, 'status'> & Partial<PassTask>, stats: PollRound): Promise<void> {
    const now = this.deps.clock.now();
    const done: PassTask = { ...task, ...end, updatedAt: now, finishedAt: now };
    await this.deps.tasks.put(done);
    await this.bill(done, stats);
  }

  private async bill(task: PassTask, stats: PollRound): Promise<void> {
    const billing = this.deps.billing;
    if (billing && task.reservation) {
      try {
        if (task.status === 'succeeded') {
          await billing.close(task.reservation, { mode: 'usage', rule: 'task_succeeded', usage: task.usage, endpoint: task.endpoint, price: task.price });
          stats.settled++;
        } else {
          await billing.close(task.reservation, { mode: 'zero', rule: task.error?.startsWith('timed out') ? 'task_timeout' : 'task_failed', endpoint: task.endpoint, kind: 'refund' });
          stats.refunded++;
        }
      } catch (err) {
        this.deps.onError?.(err as Error, `pass task billing ${task.id}`);
        return; // stays active; the next round retries
      }
    }
    await this.deps.tasks.put({ ...task, billed: true });
  }

  /**
   * Reservations for tasks that were never stored (the process died between reserve and store)
   * are refunded: no task will ever settle them.
   */
  async refundOrphans(olderThanMs = 0): Promise<string[]> {
    const billing = this.deps.billing;
    if (!billing) return [];
    const cutoff = this.deps.clock.now() - olderThanMs;
    const refunded: string[] = [];
    for (const p of await billing.store.pending()) {
      if (!p.requestId.startsWith(TASK_RESERVATION_PREFIX) || p.time > cutoff) continue;
      if (await this.deps.tasks.has(p.requestId.slice(TASK_RESERVATION_PREFIX.length))) continue;
      if (await billing.close(p.requestId, { mode: 'zero', rule: 'task_lost', kind: 'refund' })) refunded.push(p.requestId);
    }
    return refunded;
  }
}
