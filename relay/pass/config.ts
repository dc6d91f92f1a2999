/**
 * The `pass:` section of the relay config: the custom-pass channel (routes `/pass/*`).
 * Precedence: environment variables > file > defaults (the defaults are the values below).
 *
 * ```yaml
 * pass:
 *   default_billing: usage        # free | usage | call, for channels not listed below   RELAY_PASS_DEFAULT_BILLING
 *   channels:                     # per channel (relay channel names)
 *     video: { billing: call, per_call: 0.05 }   # per_call: dollars; default = the model's per_call price
 *     free-tools: { billing: free }
 *   upstream_precharge: false     # ask the upstream (?precharge=true) for the estimate   RELAY_PASS_UPSTREAM_PRECHARGE
 *   user_token_header: ""         # upstream header that carries the client's user token;  RELAY_PASS_USER_TOKEN_HEADER
 *                                 #   "" = never forwarded. The relay key itself is never forwarded.
 *   client_user_token_header: x-user-token   # where the client puts its user token      RELAY_PASS_CLIENT_USER_TOKEN_HEADER
 *   timeout: 60s                  # one upstream call                                      RELAY_PASS_TIMEOUT
 *   status_map: { SUCCESS: succeeded, FAILURE: failed, IN_QUEUE: queued }  # upstream -> relay status,
 *                                 #   on top of protocols/custom-pass's defaults (case-insensitive)
 *   poll:
 *     interval: 15s               # RELAY_PASS_POLL_INTERVAL
 *     batch_size: 100             # task ids per upstream query                            RELAY_PASS_POLL_BATCH_SIZE
 *     concurrency: 16             # upstream queries in flight                             RELAY_PASS_POLL_CONCURRENCY
 *     task_timeout: 1h            # unfinished after this: failed + refunded               RELAY_PASS_TASK_TIMEOUT
 * ```
 */
import { z } from 'zod';
import { durationSchema as duration } from '../../lib/schema.js';
import { parseDuration } from '../../lib/duration.js';
import type { TaskStatus } from '../../protocols/custom-pass.js';
import { parseMoney, type Micros } from '../billing/money.js';

export type PassBilling = 'free' | 'usage' | 'call';


const money = z.union([z.number(), z.string()]).transform((value, ctx) => {
  try {
    return parseMoney(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

const billing = z.enum(['free', 'usage', 'call']);
const taskStatus = z.enum(['queued', 'running', 'succeeded', 'failed']);

export const passConfigSchema = z
  .object({
    default_billing: billing.default('usage'),
    channels: z.record(z.string(), z.object({ billing, per_call: money.optional() }).strict()).default({}),
    upstream_precharge: z.boolean().default(false),
    user_token_header: z.string().default(''),
    client_user_token_header: z.string().min(1).default('x-user-token'),
    timeout: duration.default(60_000),
    status_map: z.record(z.string(), taskStatus).default({}),
    poll: z
      .object({
        interval: duration.default(15_000),
        batch_size: z.number().int().positive().default(100),
        concurrency: z.number().int().positive().default(16),
        task_timeout: duration.default(3_600_000),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type PassConfigInput = z.input<typeof passConfigSchema>;

export interface PassSettings {
  defaultBilling: PassBilling;
  channels: Record<string, { billing: PassBilling; perCall?: Micros }>;
  upstreamPrecharge: boolean;
  userTokenHeader: string;
  clientUserTokenHeader: string;
  timeoutMs: number;
  statusMap: Record<string, TaskStatus>;
  poll: { intervalMs: number; batchSize: number; concurrency: number; taskTimeoutMs: number };
}

type Env = Record<string, string | undefined>;

export function parsePassConfig(input: unknown, env: Env = process.env): PassSettings {
  const c = passConfigSchema.parse(input ?? {});
  const s: PassSettings = {
    defaultBilling: c.default_billing,
    channels: Object.fromEntries(Object.entries(c.channels).map(([name, ch]) => [name, { billing: ch.billing, perCall: ch.per_call }])),
    upstreamPrecharge: c.upstream_precharge,
    userTokenHeader: c.user_token_header.toLowerCase(),
    clientUserTokenHeader: c.client_user_token_header.toLowerCase(),
    timeoutMs: c.timeout,
    statusMap: Object.fromEntries(Object.entries(c.status_map).map(([k, v]) => [k.toLowerCase(), v])),
    poll: { intervalMs: c.poll.interval, batchSize: c.poll.batch_size, concurrency: c.poll.concurrency, taskTimeoutMs: c.poll.task_timeout },
  };
  const e = (name: string) => (env[name] !== undefined && env[name] !== '' ? env[name] : undefined);
  const fail = (name: string, what: string): never => {
    throw new Error(`${name}: expected ${what}, got "${env[name]}"`);
  };
  const int = (name: string) => {
    const n = Number(e(name));
    return Number.isSafeInteger(n) && n > 0 ? n : fail(name, 'a positive integer');
  };
  const dur = (name: string) => {
    try {
      return parseDuration(e(name)!);
    } catch {
      return fail(name, 'a duration such as 15s');
    }
  };
  const v = e('RELAY_PASS_DEFAULT_BILLING');
  if (v) s.defaultBilling = v === 'free' || v === 'usage' || v === 'call' ? v : fail('RELAY_PASS_DEFAULT_BILLING', 'free, usage or call');
  const pre = e('RELAY_PASS_UPSTREAM_PRECHARGE');
  if (pre) s.upstreamPrecharge = pre === 'true' || pre === '1' ? true : pre === 'false' || pre === '0' ? false : fail('RELAY_PASS_UPSTREAM_PRECHARGE', 'true or false');
  if (env.RELAY_PASS_USER_TOKEN_HEADER !== undefined) s.userTokenHeader = env.RELAY_PASS_USER_TOKEN_HEADER.toLowerCase();
  if (e('RELAY_PASS_CLIENT_USER_TOKEN_HEADER')) s.clientUserTokenHeader = e('RELAY_PASS_CLIENT_USER_TOKEN_HEADER')!.toLowerCase();
  if (e('RELAY_PASS_TIMEOUT')) s.timeoutMs = dur('RELAY_PASS_TIMEOUT');
  if (e('RELAY_PASS_POLL_INTERVAL')) s.poll.intervalMs = dur('RELAY_PASS_POLL_INTERVAL');
  if (e('RELAY_PASS_POLL_BATCH_SIZE')) s.poll.batchSize = int('RELAY_PASS_POLL_BATCH_SIZE');
  if (e('RELAY_PASS_POLL_CONCURRENCY')) s.poll.concurrency = int('RELAY_PASS_POLL_CONCURRENCY');
  if (e('RELAY_PASS_TASK_TIMEOUT')) s.poll.taskTimeoutMs = dur('RELAY_PASS_TASK_TIMEOUT');
  return s;
}
