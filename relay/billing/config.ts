/**
 * The `billing:` section of the relay config (snake_case YAML), and the environment variables
 * that override it. Precedence: environment > file > defaults. Amounts are decimal dollars in the
 * file and micro-dollars after parsing.
 *
 * ```yaml
 * billing:
 *   default_balance: 10          # starting balance of a key not listed in `balances`;
 *                                #   absent: such keys are unmetered (charged in the ledger, never refused)
 *   balances: { alice: 5, bob: 0.25 }   # starting balances; applied once (a restart never resets them)
 *   unpriced_models: reject      # reject | free  (a model missing from `prices`)
 *   default_max_output_tokens: 4096     # reservation when a request has no max tokens
 *   price_version: 2026-01       # recorded on each ledger row; default: a hash of the table
 *   prices:                      # per million tokens, or per call, or free; `prefix*` patterns allowed
 *     claude-sonnet-4-5: { input: 3, output: 15, cache_write: 3.75, cache_read: 0.3 }
 *     gpt-4o-mini: { input: 0.15, output: 0.6, cache_read: 0.075 }
 *     "pass-*": { per_call: 0.01 }
 *     free-model: free
 *   policy:                      # zero | input | usage per ending (defaults in policy.ts)
 *     empty: zero
 *   recovery:                    # MySQL: when a dead relay's reservations are settled or refunded
 *     instance_lease: 10s        #   a relay unheard of this long is dead (its reservations recovered)
 *     grace: 10m                 #   reservations naming no relay (older tables) wait this long
 * ```
 * Environment: RELAY_BILLING_DEFAULT_BALANCE (dollars, or "none"), RELAY_BILLING_UNPRICED_MODELS,
 * RELAY_BILLING_DEFAULT_MAX_OUTPUT_TOKENS, RELAY_BILLING_INSTANCE_LEASE, RELAY_BILLING_RECOVERY_GRACE
 * (durations: 10s, 2m ...). The relay CLI's --billing-instance-lease / --billing-recovery-grace
 * override both.
 */
import { z } from 'zod';
import { parseDuration } from '../../lib/duration.js';
import { durationSchema } from '../../lib/schema.js';
import { DEFAULT_INSTANCE_LEASE_MS } from './instance-lease.js';
import { parseMoney, type Micros } from './money.js';
import { DEFAULT_POLICY, type ChargeMode, type EndingPolicy } from './policy.js';
import { priceTableVersion, type ModelPrice, type PriceTable } from './prices.js';

const money = z.union([z.number(), z.string()]).transform((value, ctx) => {
  try {
    const micros = parseMoney(value);
    if (micros < 0) throw new Error(`amount must not be negative (got ${value})`);
    return micros;
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

const tokenPrice = z
  .object({ input: money.default(0), output: money.default(0), cache_write: money.optional(), cache_read: money.optional() })
  .strict()
  .transform((p): ModelPrice => ({
    kind: 'tokens',
    input: p.input,
    output: p.output,
    // Unpriced cache tokens cost what plain input costs.
    cacheWrite: p.cache_write ?? p.input,
    cacheRead: p.cache_read ?? p.input,
  }));

const callPrice = z.object({ per_call: money }).strict().transform((p): ModelPrice => ({ kind: 'call', perCall: p.per_call }));

const modelPrice = z.union([z.literal('free').transform((): ModelPrice => ({ kind: 'free' })), callPrice, tokenPrice]);

const chargeMode = z.enum(['zero', 'input', 'usage']);

export const billingConfigSchema = z
  .object({
    default_balance: money.optional(),
    balances: z.record(z.string(), money).default({}),
    unpriced_models: z.enum(['reject', 'free']).default('reject'),
    default_max_output_tokens: z.number().int().positive().default(4096),
    price_version: z.string().min(1).optional(),
    prices: z.record(z.string(), modelPrice).default({}),
    policy: z
      .object({
        success: chargeMode.optional(),
        upstream_error: chargeMode.optional(),
        stream_cut: chargeMode.optional(),
        client_abort_before_first_token: chargeMode.optional(),
        client_abort_after_first_token: chargeMode.optional(),
        empty: chargeMode.optional(),
      })
      .strict()
      .default({}),
    recovery: z
      .object({ instance_lease: durationSchema.optional(), grace: durationSchema.optional() })
      .strict()
      .default({}),
  })
  .strict();

export const DEFAULT_RECOVERY_GRACE_MS = 600_000;

export type BillingConfigInput = z.input<typeof billingConfigSchema>;

export interface BillingSettings {
  defaultBalance: Micros | undefined;
  balances: Record<string, Micros>;
  unpricedModels: 'reject' | 'free';
  defaultMaxOutputTokens: number;
  prices: PriceTable;
  policy: EndingPolicy;
  /** MySQL: a relay process whose lease is this old is dead; its reservations are recovered. */
  instanceLeaseMs: number;
  /** MySQL: reservations that name no relay process are recovered after this long. */
  recoveryGraceMs: number;
}

type Env = Record<string, string | undefined>;

/** Validated config + environment overrides -> the settings billing runs on. */
export function billingSettings(parsed: z.output<typeof billingConfigSchema>, env: Env = process.env): BillingSettings {
  const policy = { ...DEFAULT_POLICY } as EndingPolicy;
  for (const [rule, mode] of Object.entries(parsed.policy)) if (mode) policy[rule as keyof EndingPolicy] = mode as ChargeMode;
  const settings: BillingSettings = {
    defaultBalance: parsed.default_balance,
    balances: parsed.balances,
    unpricedModels: parsed.unpriced_models,
    defaultMaxOutputTokens: parsed.default_max_output_tokens,
    prices: { version: parsed.price_version ?? priceTableVersion(parsed.prices), models: parsed.prices },
    policy,
    instanceLeaseMs: parsed.recovery.instance_lease ?? DEFAULT_INSTANCE_LEASE_MS,
    recoveryGraceMs: parsed.recovery.grace ?? DEFAULT_RECOVERY_GRACE_MS,
  };
  const lease = env.RELAY_BILLING_INSTANCE_LEASE;
  if (lease) settings.instanceLeaseMs = envDuration('RELAY_BILLING_INSTANCE_LEASE', lease);
  const grace = env.RELAY_BILLING_RECOVERY_GRACE;
  if (grace) settings.recoveryGraceMs = envDuration('RELAY_BILLING_RECOVERY_GRACE', grace);
  const balance = env.RELAY_BILLING_DEFAULT_BALANCE;
  if (balance !== undefined && balance !== '') settings.defaultBalance = balance === 'none' ? undefined : envMoney('RELAY_BILLING_DEFAULT_BALANCE', balance);
  const unpriced = env.RELAY_BILLING_UNPRICED_MODELS;
  if (unpriced) {
    if (unpriced !== 'reject' && unpriced !== 'free') throw new Error(`RELAY_BILLING_UNPRICED_MODELS: expected reject or free, got "${unpriced}"`);
    settings.unpricedModels = unpriced;
  }
  const maxOut = env.RELAY_BILLING_DEFAULT_MAX_OUTPUT_TOKENS;
  if (maxOut) {
    const n = Number(maxOut);
    if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`RELAY_BILLING_DEFAULT_MAX_OUTPUT_TOKENS: expected a positive integer, got "${maxOut}"`);
    settings.defaultMaxOutputTokens = n;
  }
  return settings;
}

function envDuration(name: string, value: string): number {
  try {
    return parseDuration(value);
  } catch (err) {
    throw new Error(`${name}: ${(err as Error).message}`);
  }
}

function envMoney(name: string, value: string): Micros {
  try {
    return parseMoney(value);
  } catch (err) {
    throw new Error(`${name}: ${(err as Error).message}`);
  }
}

/** Parses an in-process or YAML-loaded billing section (throws zod errors; YAML callers use lib/yaml-config). */
export function parseBillingConfig(input: unknown, env: Env = process.env): BillingSettings {
  return billingSettings(billingConfigSchema.parse(input ?? {}), env);
}
