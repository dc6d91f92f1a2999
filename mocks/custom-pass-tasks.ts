/**
 * custom-pass async tasks. A task's status is a function of the clock: queued for `queued_for`,
 * running for `running_for`, then succeeded or failed (seeded per task number) with usage.
 * Nothing is scheduled, so a TestClock moves tasks along with `advance`.
 */
import type { Clock } from '../lib/clock.js';
import type { TaskView } from '../protocols/custom-pass.js';
import type { Usage } from '../protocols/types.js';
import { mixSeed, seededRandom } from './random.js';

export interface PassTask {
  id: string;
  model: string;
  submittedAt: number;
  /** Usage billed on success. */
  usage: Usage;
  willFail: boolean;
}

const MAX_TASKS = 100_000;

export class TaskStore {
  private readonly tasks = new Map<string, PassTask>();
  private count = 0;

  constructor(
    private readonly clock: Clock,
    private readonly timing: { queued_for: number; running_for: number; fail_ratio: number },
    private readonly seed: number,
  ) {}

  submit(model: string, usage: Usage): PassTask {
    const n = ++this.count;
    const willFail = seededRandom(mixSeed(this.seed, n))() < this.timing.fail_ratio;
    const task: PassTask = { id: `task_${mixSeed(this.seed, n).toString(16).padStart(8, '0')}${n.toString(16)}`, model, submittedAt: this.clock.now(), usage, willFail };
    if (this.tasks.size >= MAX_TASKS) this.tasks.delete(this.tasks.keys().next().value!);
    this.tasks.set(task.id, task);
    return task;
  }

  view(id: string): TaskView | undefined {
    const t = this.tasks.get(id);
    if (!t) return undefined;
    const age = this.clock.now() - t.submittedAt;
    const { queued_for, running_for } = this.timing;
    if (age < queued_for) return { taskId: id, status: 'queued', progress: 0 };
    if (age < queued_for + running_for) return { taskId: id, status: 'running', progress: Math.floor(((age - queued_for) / running_for) * 100) };
    if (t.willFail) return { taskId: id, status: 'failed', progress: 100, error: 'task failed upstream' };
    return { taskId: id, status: 'succeeded', progress: 100, usage: t.usage, result: { output: `result of ${id} (${t.model})` } };
  }
}
