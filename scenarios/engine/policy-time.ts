/**
 * Time in terms of the layout's own policy. A step that waits out a policy duration says which
 * (`advance: cooldowns.network + 1ms`), and the engine resolves it against the layout in force
 * at that step, so the wait follows the layout wherever it runs:
 *
 * - on a target with a virtual clock (in process, `RELAY_TEST_CLOCK=1`) the layout is the
 *   scenario's as written and the clock moves by the resolved value;
 * - on a target without one the layout it is given has its policy durations shortened by one
 *   factor (`timeScale`, ordering and ratios kept), so the longest wait the scenario names takes
 *   seconds of real time, and the engine waits that long.
 *
 * Written as policy durations and plain durations added or taken off (`breaker.open_for -
 * cooldowns.server_error`, `2 * cooldowns.server_error`, `policy.longest + 1s`); only the policy
 * durations scale with the layout, so an offset that must scale is written as one. Pure functions.
 */
import { parseDuration } from '../../lib/duration.js';
import { relayConfigSchema, type ParsedRelayConfig } from '../../relay/config/schema.js';

/** The cooldowns a failure starts (not auth_disable_for: an hour-long disable is not waited out). */
const FAILURE_COOLDOWNS = ['rate_limited', 'overloaded', 'server_error', 'network', 'timeout', 'channel_all_failed'] as const;

/** Policy durations a step may name, read from the parsed relay config (milliseconds). */
export const POLICY_DURATIONS = {
  'cooldowns.rate_limited': (c) => c.cooldowns.rate_limited,
  'cooldowns.retry_after_cap': (c) => c.cooldowns.retry_after_cap,
  'cooldowns.overloaded': (c) => c.cooldowns.overloaded,
  'cooldowns.server_error': (c) => c.cooldowns.server_error,
  'cooldowns.network': (c) => c.cooldowns.network,
  'cooldowns.timeout': (c) => c.cooldowns.timeout,
  'cooldowns.channel_all_failed': (c) => c.cooldowns.channel_all_failed,
  'cooldowns.auth_disable_for': (c) => c.cooldowns.auth_disable_for,
  'breaker.open_for': (c) => c.breaker.open_for,
  'sticky.ttl': (c) => c.sticky.ttl,
  'health.interval': (c) => c.health.interval,
  /** The longest any failure keeps an endpoint out: its longest failure cooldown or the breaker's open period ("let it all pass"). */
  'policy.longest': (c) => Math.max(c.breaker.open_for, ...FAILURE_COOLDOWNS.map((k) => c.cooldowns[k])),
} satisfies Record<string, (c: ParsedRelayConfig) => number>;
export type PolicyDurationName = keyof typeof POLICY_DURATIONS;

/** One term of a policy wait: `[n *] name`, or a plain duration; `sign` -1 takes it off. */
export type PolicyTerm = { sign: 1 | -1; times: number; name: PolicyDurationName } | { sign: 1 | -1; ms: number };

/** An `advance` written in policy terms: a sum of policy durations (scaled with the layout) and plain durations (not scaled). */
export interface PolicyWait {
  /** As written, for the console and the report. */
  text: string;
  terms: PolicyTerm[];
}

const TERM = /^(?:(\d+(?:\.\d+)?)\s*[*×]\s*)?([a-z_]+\.[a-z_]+)$/;

/**
 * Parses `term (+|- term)*`, a term being `[n *] <section>.<field>` or a duration, with at least
 * one policy duration; throws with the known names when a name is not one.
 */
export function parsePolicyWait(text: string): PolicyWait {
  const parts = text.trim().split(/\s+([+-])\s+/);
  const terms: PolicyTerm[] = [];
  for (let i = 0; i < parts.length; i += 2) {
    const sign = i > 0 && parts[i - 1] === '-' ? -1 : 1;
    const part = parts[i].trim();
    const m = TERM.exec(part);
    if (m) {
      const [, times, name] = m;
      if (!(name in POLICY_DURATIONS)) throw new Error(`unknown policy duration "${name}" (known: ${Object.keys(POLICY_DURATIONS).join(', ')})`);
      terms.push({ sign, times: times === undefined ? 1 : Number(times), name: name as PolicyDurationName });
      continue;
    }
    try {
      terms.push({ sign, ms: parseDuration(part) });
    } catch {
      throw new Error(`expected a duration (500ms, 2s, 5m) or a policy duration like "cooldowns.network + 1ms" (terms joined by " + " or " - "); got "${part}" in "${text}"`);
    }
  }
  if (!terms.some((t) => 'name' in t)) throw new Error(`"${text}" names no policy duration`);
  return { text: text.trim(), terms };
}

export function isPolicyWait(v: unknown): v is PolicyWait {
  return typeof v === 'object' && v !== null && 'terms' in v;
}

/** The wait in milliseconds under this (parsed) relay config, as the arithmetic comes out (the loader refuses a negative one). */
export function rawPolicyWait(w: PolicyWait, cfg: ParsedRelayConfig): number {
  return Math.round(w.terms.reduce((sum, t) => sum + t.sign * ('name' in t ? t.times * POLICY_DURATIONS[t.name](cfg) : t.ms), 0));
}

/** The wait in milliseconds under this (parsed) relay config; never negative. */
export function resolvePolicyWait(w: PolicyWait, cfg: ParsedRelayConfig): number {
  return Math.max(0, rawPolicyWait(w, cfg));
}

/** A layout (the reference relay's config, as written or resolved) with its defaults filled in. */
export function parsePolicy(layout: unknown): ParsedRelayConfig {
  const parsed = relayConfigSchema.safeParse(layout);
  if (!parsed.success) throw new Error(`not a valid relay layout: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** The longest real-time wait a scenario's policy waits come to on a target without a virtual clock. */
export const BLACK_BOX_LONGEST_WAIT_MS = 3000;

/**
 * The factor a black-box layout's policy durations are multiplied by: 1 when every policy wait the
 * scenario names is already short, else what brings the longest of them to BLACK_BOX_LONGEST_WAIT_MS.
 * `waits` are the scenario's policy waits resolved against the layout as written (unscaled).
 */
export function timeScale(waitsMs: number[]): number {
  const longest = Math.max(0, ...waitsMs);
  return longest <= BLACK_BOX_LONGEST_WAIT_MS ? 1 : BLACK_BOX_LONGEST_WAIT_MS / longest;
}

/** 0 stays 0 (no cooldown at all); anything else stays at least 1 ms. */
const scaled = (ms: number, factor: number) => (ms === 0 ? 0 : Math.max(1, Math.round(ms * factor)));

/**
 * The layout a target without a virtual clock gets: every policy duration a step can wait out
 * (cooldowns, the breaker's open period, sticky TTLs, the health interval) multiplied by
 * `factor`. Timeouts and deadlines are left as written: they race the mocks' own latencies,
 * which do not scale.
 */
export function blackBoxLayout<L extends Record<string, unknown>>(layout: L, factor: number): L {
  if (factor >= 1) return layout;
  const c = parsePolicy(layout);
  const s = (ms: number) => scaled(ms, factor);
  const section = (key: string) => (layout[key] && typeof layout[key] === 'object' ? (layout[key] as Record<string, unknown>) : {});
  return {
    ...layout,
    cooldowns: {
      ...section('cooldowns'),
      rate_limited: s(c.cooldowns.rate_limited),
      retry_after_cap: s(c.cooldowns.retry_after_cap),
      overloaded: s(c.cooldowns.overloaded),
      server_error: s(c.cooldowns.server_error),
      network: s(c.cooldowns.network),
      timeout: s(c.cooldowns.timeout),
      channel_all_failed: s(c.cooldowns.channel_all_failed),
      auth_disable_for: s(c.cooldowns.auth_disable_for),
    },
    breaker: { ...section('breaker'), open_for: s(c.breaker.open_for) },
    sticky: { ...section('sticky'), ttl: s(c.sticky.ttl), renew_below: s(c.sticky.renew_below) },
    health: { ...section('health'), interval: s(c.health.interval) },
  };
}
