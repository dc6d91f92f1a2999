/**
 * Stored custom-pass async tasks. The client sees the relay's task id, never the upstream's;
 * the poller reads the active ones (unfinished, or finished but not yet billed).
 *
 * Embedded implementation: a Map, and with a data dir every upsert appended as one JSON line to
 * `pass-tasks.jsonl` (the last line per id wins on reload), so a restart resumes polling.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TaskStatus } from '../../protocols/custom-pass.js';
import type { Usage } from '../../protocols/types.js';
import type { ModelPrice } from '../billing/prices.js';

export interface PassTask {
  id: string;
  upstreamTaskId: string;
  keyName: string;
  model: string;
  endpoint: string;
  channel: string;
  status: TaskStatus;
  /** The upstream's own words, as last seen. */
  upstreamStatus?: string;
  progress?: string;
  submittedAt: number;
  updatedAt: number;
  finishedAt?: number;
  usage?: Usage;
  result?: unknown;
  error?: string;
  /** The billing request id of the reservation (`task:<id>`); undefined when billing is off. */
  reservation?: string;
  /** The price the channel's strategy fixed at submit (free / per call / the model's). */
  price?: ModelPrice;
  /** Settled or refunded: the poller is done with it. */
  billed: boolean;
}

export interface PassTaskStore {
  put(task: PassTask): Promise<void>;
  get(id: string): Promise<PassTask | undefined>;
  /** Tasks the poller still has work on. */
  active(): Promise<PassTask[]>;
  has(id: string): Promise<boolean>;
  close(): Promise<void>;
}

export const TASKS_FILE = 'pass-tasks.jsonl';

export class EmbeddedPassTaskStore implements PassTaskStore {
  private readonly tasks = new Map<string, PassTask>();
  private readonly live = new Set<string>();
  private readonly file: string | undefined;

  constructor(dataDir?: string) {
    if (!dataDir) return;
    mkdirSync(dataDir, { recursive: true });
    this.file = join(dataDir, TASKS_FILE);
    if (existsSync(this.file)) {
      for (const line of readFileSync(this.file, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        try {
          this.index(JSON.parse(line) as PassTask);
        } catch {
          // a torn line from a crash mid-append
        }
      }
      appendFileSync(this.file, '\n');
    }
  }

  async put(task: PassTask): Promise<void> {
    if (this.file) appendFileSync(this.file, JSON.stringify(task) + '\n');
    this.index(structuredClone(task));
  }

  async get(id: string): Promise<PassTask | undefined> {
    const t = this.tasks.get(id);
    return t ? structuredClone(t) : undefined;
  }

  async has(id: string): Promise<boolean> {
    return this.tasks.has(id);
  }

  async active(): Promise<PassTask[]> {
    return [...this.live].map((id) => structuredClone(this.tasks.get(id)!));
  }

  async close(): Promise<void> {}

  private index(task: PassTask): void {
    this.tasks.set(task.id, task);
    if (task.billed) this.live.delete(task.id);
    else this.live.add(task.id);
  }
}
