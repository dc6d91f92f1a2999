/**
 * The custom-pass channel, wired: `openPass` returns the `/pass/*` routes the relay's pipeline
 * serves after authenticating the key (relay/pipeline/handler), and starts the task poller. Both
 * call upstreams through the relay's pools.
 */
import type { Clock } from '../../lib/clock.js';
import type { LedgerBilling } from '../billing/service.js';
import type { RelayModel } from '../config/model.js';
import type { UpstreamPools } from '../proxy/pools.js';
import { DEFAULT_LIMITS } from '../service/limits.js';
import { parsePassConfig, type PassSettings } from './config.js';
import { createPassRoutes, passEndpoint, type PassRoutes } from './handler.js';
import { TaskPoller } from './poller.js';
import { EmbeddedPassTaskStore, type PassTaskStore } from './tasks.js';
import { MysqlPassTaskStore } from './tasks-mysql.js';
import type { PassEndpoint } from './upstream.js';

export { passConfigSchema, parsePassConfig, type PassSettings } from './config.js';
export { TaskPoller } from './poller.js';
export type { PassEndpoint } from './upstream.js';

export interface OpenPassOptions {
  /** The relay config's `pass:` section (raw); undefined = defaults. */
  config: unknown;
  clock: Clock;
  /** The current relay model (read at each call, so admin edits apply at once). */
  relay: () => RelayModel;
  billing?: LedgerBilling;
  dataDir?: string;
  /** Tasks in MySQL (shared by relay processes) instead of the data dir. */
  mysqlUrl?: string;
  tablePrefix?: string;
  tasks?: PassTaskStore;
  env?: Record<string, string | undefined>;
  /**
   * false: never start the interval (tests drive pollOnce). Default: start it when the first
   * task is stored (or at once if stored tasks are still active), so a relay without async tasks
   * has no timer on its clock.
   */
  startPoller?: boolean;
  /**
   * Task reservations without a stored task older than this are refunded at open. Default: the
   * task timeout, because with a shared (MySQL) ledger a younger one may belong to another live
   * process's task store; anything older would have been timed out and refunded by its owner.
   */
  orphanGraceMs?: number;
  defaultMaxOutputTokens?: number;
  /** The relay's upstream pools (the poller's calls go through them). */
  pools: UpstreamPools;
  /** Upstream answers larger than this fail (default: relay/service's body limit default). */
  maxBodyBytes?: number;
  onError?: (err: Error, context: string) => void;
}

export interface OpenedPass extends PassRoutes {
  poller: TaskPoller;
  tasks: PassTaskStore;
  settings: PassSettings;
  /** Applies a new `pass:` section (user header, timeouts, channels) to calls from now on. */
  update(config: unknown): void;
  close(): Promise<void>;
}

export async function openPass(o: OpenPassOptions): Promise<OpenedPass> {
  const settings = parsePassConfig(o.config, o.env ?? process.env);
  const tasks = o.tasks ?? (o.mysqlUrl ? await MysqlPassTaskStore.open({ url: o.mysqlUrl, prefix: o.tablePrefix }) : new EmbeddedPassTaskStore(o.dataDir));
  const autoStart = o.startPoller !== false;
  let poller: TaskPoller | undefined;
  const routes = createPassRoutes({
    clock: o.clock,
    settings,
    billing: o.billing,
    tasks,
    defaultMaxOutputTokens: o.defaultMaxOutputTokens,
    onTaskStored: () => {
      if (autoStart) poller?.start();
    },
    onError: o.onError,
  });
  poller = new TaskPoller({
    clock: o.clock,
    settings,
    tasks,
    billing: o.billing,
    endpoint: (name) => {
      const e = o.relay().endpoints.get(name);
      return e && e.type === 'custom-pass' ? passEndpoint(e) : undefined;
    },
    pools: o.pools,
    maxBytes: o.maxBodyBytes ?? DEFAULT_LIMITS.maxBodyBytes,
    onError: o.onError,
  });
  await poller.refundOrphans(o.orphanGraceMs ?? settings.poll.taskTimeoutMs);
  if (autoStart && (await tasks.active()).length > 0) poller.start();
  return {
    serve: routes.serve,
    poller,
    tasks,
    settings,
    // Routes and poller read the settings object at call time: a new section takes effect at once.
    update: (config: unknown) => {
      Object.assign(settings, parsePassConfig(config, o.env ?? process.env));
    },
    close: async () => {
      poller!.stop();
      await poller!.idle();
      await tasks.close();
    },
  };
}
