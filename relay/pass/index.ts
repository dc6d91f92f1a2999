/**
 * The custom-pass channel, wired: `openPass` returns the `/pass/*` handler the relay core calls
 * from its client server, and starts the task poller. The relay core's hook is one line in its
 * request handler: `if (path.startsWith('/pass/') && rt.pass) return rt.pass.handle(req, res)`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../../lib/clock.js';
import type { LedgerBilling } from '../billing/service.js';
import type { RelayModel } from '../config/model.js';
import { DEFAULT_LIMITS } from '../service/limits.js';
import { parsePassConfig, type PassSettings } from './config.js';
import { createPassHandler } from './handler.js';
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
  /** The relay's one request body limit (default: relay/service's `maxBodyBytes` default). */
  maxBodyBytes?: number;
  onError?: (err: Error, context: string) => void;
}

export interface OpenedPass {
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  poller: TaskPoller;
  tasks: PassTaskStore;
  settings: PassSettings;
  close(): Promise<void>;
}

/** custom-pass endpoints of unpaused channels serving `model`, channels by priority, then endpoints. */
export function passEndpoints(relay: RelayModel, model?: string): PassEndpoint[] {
  const channels = [...relay.channels].filter((c) => !c.paused).sort((a, b) => a.priority - b.priority || a.order - b.order);
  const out: PassEndpoint[] = [];
  for (const c of channels) {
    const eps = c.endpoints
      .filter((e) => e.type === 'custom-pass' && (model === undefined || e.models === undefined || e.models.has(model)))
      .sort((a, b) => a.priority - b.priority || a.order - b.order);
    for (const e of eps) out.push({ name: e.name, channel: c.name, baseUrl: e.baseUrl, token: e.token });
  }
  return out;
}

export async function openPass(o: OpenPassOptions): Promise<OpenedPass> {
  const settings = parsePassConfig(o.config, o.env ?? process.env);
  const tasks = o.tasks ?? (o.mysqlUrl ? await MysqlPassTaskStore.open({ url: o.mysqlUrl, prefix: o.tablePrefix }) : new EmbeddedPassTaskStore(o.dataDir));
  const autoStart = o.startPoller !== false;
  let poller: TaskPoller | undefined;
  const handle = createPassHandler({
    clock: o.clock,
    settings,
    billing: o.billing,
    tasks,
    authenticate: (credential) => o.relay().keysByKey.get(credential)?.name,
    endpoints: (model) => passEndpoints(o.relay(), model),
    defaultMaxOutputTokens: o.defaultMaxOutputTokens,
    maxBodyBytes: o.maxBodyBytes ?? DEFAULT_LIMITS.maxBodyBytes,
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
    endpoint: (name) => passEndpoints(o.relay()).find((e) => e.name === name),
    onError: o.onError,
  });
  await poller.refundOrphans(o.orphanGraceMs ?? settings.poll.taskTimeoutMs);
  if (autoStart && (await tasks.active()).length > 0) poller.start();
  return {
    handle,
    poller,
    tasks,
    settings,
    close: async () => {
      poller!.stop();
      await poller!.idle();
      await tasks.close();
    },
  };
}
