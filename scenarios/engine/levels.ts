/**
 * Levels of conformance and the rule of which expectation may be declared at which level.
 *
 * `protocol` is what every relay must do, whatever its routing policy; so a check that can only
 * hold under one policy (an exact attempt chain, a duration, the relay's own admin endpoints)
 * must not be declared there, or a relay with another, equally valid policy is reported as
 * breaking the protocol. The scenario schema refuses such a file, naming the step and the check.
 */

/**
 * `protocol` every relay must meet (credentials, error shapes, stream ends, usage, headers);
 * `resilience` a relay that claims failover should (failover within a request, no hammering a
 * 429, back to the primary, bounded time on a silent upstream); `reference` the reference
 * relay's own policy (durations, breaker counts, exact attempt chains, its records).
 */
export const LEVELS = ['protocol', 'resilience', 'reference'] as const;
export type Level = (typeof LEVELS)[number];

/** Expectation keys on the relay's own records and state: `reference` unless a level block says otherwise. */
export const RECORD_EXPECTATIONS = ['attempts', 'served_by', 'same_endpoint', 'state', 'stats', 'health', 'billing'] as const;

interface LevelRule {
  allowed: readonly Level[];
  why: string;
}

const REFERENCE_ONLY = (why: string): LevelRule => ({ allowed: ['reference'], why });
const NOT_PROTOCOL = (why: string): LevelRule => ({ allowed: ['resilience', 'reference'], why });

/** Expectations that only some levels may declare (any other key may be declared at any level). */
export const LEVEL_RULES: Readonly<Record<string, LevelRule>> = {
  attempts: REFERENCE_ONLY('an exact attempt chain is the reference relay\u2019s retry policy'),
  state: REFERENCE_ONLY('endpoint state is read from the reference relay\u2019s admin API'),
  stats: REFERENCE_ONLY('counters are read from the reference relay\u2019s admin API'),
  health: REFERENCE_ONLY('probe rounds are the reference relay\u2019s admin API'),
  billing: REFERENCE_ONLY('the ledger is the reference relay\u2019s'),
  served_by: NOT_PROTOCOL('which endpoint serves is routing, read from the relay\u2019s records'),
  same_endpoint: NOT_PROTOCOL('which endpoint serves is routing, read from the relay\u2019s records'),
  upstreams: NOT_PROTOCOL('which upstream is asked, and how often, is routing'),
  order: NOT_PROTOCOL('the order upstreams are asked in is routing'),
  continued: NOT_PROTOCOL('continuing an answer on another upstream is failover'),
  max_duration: NOT_PROTOCOL('a time bound is resilience, or the reference relay\u2019s durations'),
  min_duration: NOT_PROTOCOL('a time bound is resilience, or the reference relay\u2019s durations'),
};

/** Response headers a relay chooses itself (`retry-after` on its own 503, when every endpoint cools). */
const RELAY_CHOSEN_HEADERS = ['retry-after'];

export interface LevelViolation {
  /** Path inside the step's `expect`: `attempts`, `protocol.order`, `headers.retry-after`. */
  path: Array<string>;
  level: Level;
  message: string;
}

/**
 * The checks of one step's `expect` declared at a level they may not have. `expect` is the raw
 * expectation object (direct keys, plus `protocol:` / `resilience:` / `reference:` blocks);
 * `level` the scenario's default level for direct keys.
 */
export function levelViolations(expect: Record<string, unknown> | undefined, level: Level): LevelViolation[] {
  if (!expect) return [];
  const out: LevelViolation[] = [];
  const visit = (block: Record<string, unknown>, at: Level, prefix: string[], direct: boolean) => {
    for (const [key, value] of Object.entries(block)) {
      if (value === undefined || (LEVELS as readonly string[]).includes(key)) continue;
      const effective: Level = direct && (RECORD_EXPECTATIONS as readonly string[]).includes(key) ? 'reference' : at;
      const rule = LEVEL_RULES[key];
      if (rule && !rule.allowed.includes(effective)) {
        out.push({ path: [...prefix, key], level: effective, message: `${key} may not be a ${effective} check (${rule.why}); put it in a ${rule.allowed.map((l) => `\`${l}:\``).join(' or ')} block` });
      }
      if (key === 'headers' && effective === 'protocol' && value && typeof value === 'object') {
        for (const h of Object.keys(value)) {
          if (RELAY_CHOSEN_HEADERS.includes(h.toLowerCase())) {
            out.push({ path: [...prefix, key, h], level: effective, message: `the ${h} header is the relay\u2019s own choice, not a protocol check; put it in a \`reference:\` block` });
          }
        }
      }
    }
  };
  visit(expect, level, [], true);
  for (const l of LEVELS) {
    const block = expect[l];
    if (block && typeof block === 'object') visit(block as Record<string, unknown>, l, [l], false);
  }
  return out;
}
