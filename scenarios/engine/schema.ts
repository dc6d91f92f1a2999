/**
 * The scenario file format (scenarios/*.yaml). Documented with a commented example in
 * scenarios/README.md. The mock upstreams and the relay layout are validated with their owners'
 * own schemas (mocks/config.ts, relay/config/schema.ts) so a scenario cannot drift from what the
 * mocks and the relay accept, but the values are kept AS WRITTEN: the engine hands them on to
 * startMocks / the relay, which apply their own defaults.
 */
import { z } from 'zod';
import { durationSchema } from '../../lib/schema.js';
import { faultRuleSchema, upstreamConfigSchema, type FaultRule, type UpstreamConfig } from '../../mocks/config.js';
import { relayConfigSchema } from '../../relay/config/schema.js';
import { UPSTREAM_KINDS, type UpstreamKind } from '../../protocols/index.js';
import { LEVELS, levelViolations } from './levels.js';
import { parseDuration } from '../../lib/duration.js';
import { isPolicyWait, parsePolicy, parsePolicyWait, rawPolicyWait, resolvePolicyWait, type PolicyWait } from './policy-time.js';

/** What a target must be able to do for a scenario to apply to it. */
export const CAPABILITIES = [
  'fastest', // strategy: fastest (latency from probes)
  'sticky', // session stickiness
  'cross_channel', // failover across channels
  'health', // health probes on demand (POST /admin/health/run)
  'clock', // virtual time (advance)
  'admin_tokens', // change an endpoint's token / fields while running
  'pause', // pause / resume a channel
  'restart', // restart the relay keeping its records
  'oauth_refresh', // chatgpt-oauth refresh tokens
  'billing', // billing / prices
  'custom_pass', // custom-pass channels
  'relay_records', // the relay's request log with attempt trails
  'relay_state', // per-endpoint state / stats
] as const;
export type Capability = (typeof CAPABILITIES)[number];

/**
 * What a target must have to PLAY a scenario at all (without them the scenario is not applicable).
 * The other capabilities only let the engine observe or shortcut: without them single steps and
 * checks are skipped, one by one, with the reason (or, for the clock, waited in real time).
 */
export const PLAY_CAPABILITIES: readonly Capability[] = ['fastest', 'sticky', 'cross_channel', 'admin_tokens', 'pause', 'oauth_refresh', 'custom_pass'];

export { LEVELS, RECORD_EXPECTATIONS, type Level } from './levels.js';

export const duration = durationSchema;

/** Validates with another part's schema but keeps the value as written. */
function validatedBy<T>(schema: z.ZodType, prepare: (v: unknown) => unknown = (v) => v) {
  return z.unknown().superRefine((value, ctx) => {
    const result = schema.safeParse(prepare(value));
    if (!result.success) for (const issue of result.error.issues) ctx.addIssue({ code: 'custom', path: issue.path as PropertyKey[], message: issue.message });
  }) as unknown as z.ZodType<T, T>;
}

// ---------------------------------------------------------------------------------------------
// Relay layout: the relay's own config, with `upstream: <mock name>` in place of base_url.

const PLACEHOLDER_URL = 'http://127.0.0.1:9';

/** Endpoint fields the scenario adds on top of the relay's endpoint config. */
export interface ScenarioEndpoint {
  name: string;
  type: string;
  /** Name of a mock upstream in `mocks`; becomes base_url. */
  upstream?: string;
  base_url?: string;
  /** A literal token, or a JWT the chatgpt-oauth mock issues at run time (expires_in: seconds or a duration; negative seconds = already expired). */
  token: string | { jwt: { account_id: string; expires_in?: string | number } };
  /** A refresh token the chatgpt-oauth mock will honour. */
  refresh_token?: string;
  [k: string]: unknown;
}

export interface ScenarioChannel {
  name: string;
  endpoints?: ScenarioEndpoint[];
  [k: string]: unknown;
}

export interface ScenarioLayout {
  strategy?: 'priority' | 'fastest';
  cross_channel_failover?: boolean;
  channels?: ScenarioChannel[];
  keys?: Array<{ key: string; name: string; [k: string]: unknown }>;
  [k: string]: unknown;
}

/** The layout with base_url filled from a map of mock URLs (placeholders for validation). */
export function resolveLayout(layout: unknown, urlOf: (upstream: string, endpoint: string) => string, tokenOf: (ep: ScenarioEndpoint) => string): unknown {
  if (!layout || typeof layout !== 'object') return layout;
  const l = layout as ScenarioLayout;
  if (!Array.isArray(l.channels)) return layout;
  return {
    ...l,
    channels: l.channels.map((c) =>
      !c || !Array.isArray(c.endpoints)
        ? c
        : {
            ...c,
            endpoints: c.endpoints.map((e) => {
              if (!e || typeof e !== 'object') return e;
              const { upstream, ...rest } = e;
              return { ...rest, base_url: e.base_url ?? (typeof upstream === 'string' ? urlOf(upstream, e.name) : undefined), token: tokenOf(e) };
            }),
          },
    ),
  };
}

const withPlaceholders = (v: unknown) =>
  resolveLayout(v, () => PLACEHOLDER_URL, (e) => (typeof e.token === 'object' && e.token !== null ? 'jwt-issued-at-run-time' : (e.token as string)));

const layoutSchema = validatedBy<ScenarioLayout>(relayConfigSchema, withPlaceholders);

/**
 * An `advance`: a duration (`15d`), or a policy duration of the layout in force at that step
 * (`cooldowns.network + 1ms`, engine/policy-time.ts), which the engine resolves at run time.
 */
const advanceSchema = z.union([z.number().nonnegative(), z.string()]).transform((value, ctx): number | PolicyWait => {
  if (typeof value === 'number') return value;
  try {
    return parseDuration(value);
  } catch (durationError) {
    if (!/[a-z_]\.[a-z_]/.test(value)) {
      ctx.addIssue({ code: 'custom', message: `${(durationError as Error).message}, or a policy duration like "cooldowns.network + 1ms"` });
      return z.NEVER;
    }
  }
  try {
    return parsePolicyWait(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

/** Each policy wait of the scenario resolved against the layout in force at its step (as written, unscaled), in ms. */
export function policyWaits(s: Pick<Scenario, 'relay' | 'steps'>): Array<{ step: number; wait: PolicyWait; ms: number }> {
  const out: Array<{ step: number; wait: PolicyWait; ms: number }> = [];
  let layout: unknown = s.relay;
  s.steps.forEach((st, i) => {
    if (st.relay_change?.layout) layout = st.relay_change.layout;
    if (isPolicyWait(st.advance)) out.push({ step: i, wait: st.advance, ms: resolvePolicyWait(st.advance, parsePolicy(withPlaceholders(layout))) });
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Steps

export const PROTOCOLS = ['anthropic', 'openai-chat', 'openai-responses', 'codex', 'custom-pass'] as const;
export type ClientProtocol = (typeof PROTOCOLS)[number];

/**
 * The upstream kinds a client protocol reaches without translation (the upstream speaks it:
 * OpenAI's API serves Responses too). Any other kind a request is meant to reach is a
 * translation, which a scenario declares with the request's `translate_to`.
 */
export const NATIVE_KINDS: Readonly<Record<ClientProtocol, readonly UpstreamKind[]>> = {
  anthropic: ['claude'],
  'openai-chat': ['openai'],
  'openai-responses': ['openai', 'openai-responses', 'chatgpt-oauth'],
  codex: ['openai', 'openai-responses', 'chatgpt-oauth'],
  'custom-pass': ['custom-pass'],
};

/** A client protocol in, an upstream API out: what a relay's `translates` capability lists. */
export interface Translation {
  from: ClientProtocol;
  to: UpstreamKind;
}

export function translationLabel(t: Translation): string {
  return `${t.from} -> ${t.to}`;
}

const sessionSchema = z
  .object({
    /** The protocol's session header (x-claude-code-session-id, session_id, x-session-id). */
    header: z.string().optional(),
    /** Responses / Codex instructions. */
    instructions: z.string().optional(),
    /** The first user message (all protocols). */
    first_message: z.string().optional(),
    /** Claude metadata.user_id session (Claude Code's `..._session_<id>` form). */
    metadata: z.string().optional(),
    /** Responses prompt_cache_key. */
    prompt_cache_key: z.string().optional(),
  })
  .strict();

const abortSchema = z.union([
  duration.transform((ms) => ({ ms, events: undefined as number | undefined })),
  z
    .object({ events: z.number().int().min(0).optional(), ms: duration.optional() })
    .strict()
    .transform((a) => ({ ms: a.ms, events: a.events })),
]);

export const requestSchema = z
  .object({
    protocol: z.enum(PROTOCOLS),
    /** Overrides the protocol's default path (query strings allowed). */
    path: z.string().startsWith('/').optional(),
    method: z.enum(['GET', 'POST', 'HEAD']).optional(),
    stream: z.boolean().default(false),
    model: z.string().optional(),
    /** The user message text; by default unique per request, so no two requests share a first-message session. */
    message: z.string().optional(),
    max_tokens: z.number().int().positive().optional(),
    session: sessionSchema.optional(),
    /** Deep-merged into the generated body (null deletes a field). */
    body: z.record(z.string(), z.unknown()).optional(),
    /** Sent verbatim instead of a generated JSON body (malformed input). */
    raw_body: z.string().optional(),
    headers: z.record(z.string(), z.string()).default({}),
    /** A key name from relay.keys, a literal key, or `none` for no credential. Default: the first key. */
    key: z.string().optional(),
    count: z.number().int().min(1).max(10_000).default(1),
    concurrency: z.number().int().min(1).max(500).default(1),
    /** Client disconnect: after a duration, or after N stream events. */
    abort_after: abortSchema.optional(),
    /** Per-request client timeout (default: engine/patience.ts, 30 s or twice the step's max_duration). */
    timeout: duration.optional(),
    /**
     * Virtual time while the requests are in flight: after `after` of real time, and once a new
     * upstream call has begun since the previous move, move the clock `by`, in order, until the
     * requests are done. For what the relay times on its clock while a
     * request waits (a hang, a stall, a first token slower than its budget).
     */
    advance_during: z.array(z.object({ after: duration, by: duration }).strict()).min(1).optional(),
    /** Start the requests under this name and go on at once; a later `join: <name>` waits and checks them. */
    background: z.string().min(1).optional(),
    /**
     * The upstream kind this request is meant to reach when it is not one its protocol speaks
     * (`anthropic` in, `openai` upstream): a translation. The layout must serve the protocol only
     * through endpoints of that kind; a target whose `translates` lacks the pair cannot play the
     * scenario (not applicable).
     */
    translate_to: z.enum(UPSTREAM_KINDS as [UpstreamKind, ...UpstreamKind[]]).optional(),
  })
  .strict();

export const faultsSchema = z
  .object({
    upstream: z.string().optional(),
    /** Replace the upstream's rules. */
    set: z.array(validatedBy<FaultRule>(faultRuleSchema)).optional(),
    /** Append rules. */
    add: z.array(validatedBy<FaultRule>(faultRuleSchema)).optional(),
    /** Drop the rules of `upstream` (or of every upstream). */
    clear: z.boolean().optional(),
    /** Change the credentials the upstream accepts. */
    tokens: z.array(z.string().min(1)).optional(),
  })
  .strict()
  .superRefine((f, ctx) => {
    if ((f.set || f.add || f.tokens) && !f.upstream) ctx.addIssue({ code: 'custom', path: ['upstream'], message: 'set/add/tokens need an upstream name' });
    if (!f.set && !f.add && !f.clear && !f.tokens) ctx.addIssue({ code: 'custom', message: 'expected one of set, add, clear, tokens' });
  });

export const relayChangeSchema = z
  .object({
    /** New token for an endpoint: { endpoint: A, token: Token-A2 }. */
    token: z.object({ endpoint: z.string(), value: z.string().min(1) }).strict().optional(),
    pause: z.string().optional(),
    resume: z.string().optional(),
    /** Patch an endpoint's fields (priority, failover_enabled, models ...). */
    update_endpoint: z.object({ name: z.string() }).catchall(z.unknown()).optional(),
    /** Remove an endpoint. */
    remove_endpoint: z.string().optional(),
    /** Patch a channel's fields. */
    update_channel: z.object({ name: z.string() }).catchall(z.unknown()).optional(),
    /** Replace the whole layout. */
    layout: layoutSchema.optional(),
    /** Stop and start the relay on the same records (pause flags and admin changes must survive). */
    restart: z.boolean().optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const n = Object.values(c).filter((v) => v !== undefined).length;
    if (n !== 1) ctx.addIssue({ code: 'custom', message: 'expected exactly one of token, pause, resume, update_endpoint, remove_endpoint, update_channel, layout, restart' });
  });

// ---------------------------------------------------------------------------------------------
// Expectations

/** A status or a status class (`5xx`: any 5xx, what a protocol check can demand where the exact status is a relay's choice). */
const oneStatus = z.union([z.number().int(), z.string().regex(/^[1-5]xx$/, 'expected a status or a class like "5xx"')]);
const statusSchema = z.union([oneStatus, z.array(oneStatus).min(1)]);

const textSchema = z.union([
  z.literal('non_empty'),
  z.literal('empty'),
  z.object({ equals: z.string() }).strict(),
  z.object({ contains: z.string() }).strict(),
]);

/** A count: exact number or a comparison string (">0", ">=2", "<5"). */
export const countSchema = z.union([
  z.number().int().min(0),
  z.string().regex(/^(>=|<=|>|<|=)?\s*\d+$/, 'expected a number or a comparison like ">0", ">=2", "<5"'),
]);
export type Count = z.infer<typeof countSchema>;

/** `expect.billing` (checked by billing.ts against the relay's ledger and the mocks' journal). */
export const billingExpectSchema = z
  .object({
    reconcile: z.boolean().optional(),
    pending: countSchema.optional(),
    non_negative: z.boolean().optional(),
    rows: z.record(z.string(), z.partialRecord(z.enum(['topup', 'precharge', 'settle', 'refund', 'charge']), countSchema)).optional(),
    balances: z.record(z.string(), z.union([z.number(), z.string()])).optional(),
  })
  .strict();
export type BillingExpectation = z.infer<typeof billingExpectSchema>;

/**
 * A value an upstream request body must hold at a path: the value itself, or `{ contains: x }`
 * (a string holding x, an array with an element equal to or holding x, an object whose JSON holds x).
 */
const bodyValueSchema = z.union([z.object({ contains: z.string() }).strict(), z.unknown()]);

const usageExpectSchema = z
  .object({
    input_tokens: countSchema.optional(),
    output_tokens: countSchema.optional(),
    cache_write_tokens: countSchema.optional(),
    cache_read_tokens: countSchema.optional(),
    present: z.boolean().optional(),
  })
  .strict();

const endpointStateSchema = z
  .object({
    health: z.string().optional(),
    breaker: z.enum(['closed', 'open', 'half_open']).optional(),
    cooldown: z.boolean().optional(),
    paused: z.boolean().optional(),
    disabled: z.boolean().optional(),
  })
  .strict();

const expectFields = {
    // client side, for every request of the step
    status: statusSchema.optional(),
    /** How many requests of the step got each status: { 200: 8, 429: ">0" }. */
    statuses: z.record(z.string().regex(/^\d{3}$/), countSchema).optional(),
    /** Error body in the protocol's shape, with this type (or just the shape when `true`). */
    error: z.union([z.literal(true), z.object({ type: z.string().optional(), message_contains: z.string().optional() }).strict()]).optional(),
    text: textSchema.optional(),
    /** The error event a stream ended with: its type, and text its message contains. */
    stream_error: z.object({ type: z.string().optional(), message_contains: z.string().optional() }).strict().optional(),
    /** How a stream ended. */
    stream_end: z.enum(['terminal', 'error', 'terminal_or_error', 'none']).optional(),
    /**
     * Every event of every stream is whole and well formed when read strictly (engine/strict-sse.ts):
     * ended by a blank line, known fields, `event` once and named after its data's `type`, JSON data.
     * Fails an error event written after half an event, which a lenient parser merges with it.
     */
    well_formed: z.boolean().optional(),
    usage: usageExpectSchema.optional(),
    /** Why the model stopped, in the client protocol's own words (Anthropic `end_turn`, Chat `stop`, `length`, `tool_calls` ...). */
    stop_reason: z.string().min(1).optional(),
    /** The tool calls the client read, by name in order, each with a JSON object as its input (Anthropic tool_use, Chat tool_calls). */
    tool_calls: z.array(z.string().min(1)).optional(),
    /** Anthropic: the answer's content block types, in order (`[text, tool_use]`): nothing invented, nothing lost. */
    content_blocks: z.array(z.string().min(1)).optional(),
    /**
     * Every stream's events came in the order its protocol defines (engine/event-order.ts):
     * Anthropic message_start, blocks opened, filled and closed one at a time, message_delta,
     * message_stop; Chat: no content after a choice's finish_reason, usage after it, [DONE] last.
     */
    event_order: z.boolean().optional(),
    /**
     * What the client read equals what the upstream that served it generated (the journal's
     * answer): `text` the same text, `usage` the same input and output tokens, whatever the
     * protocols on either side (a translating relay maps prompt/completion tokens to input/output).
     */
    same_as_upstream: z.array(z.enum(['text', 'usage'])).min(1).optional(),
    /** The client got response header(s) with these values (`*` = present; `text/event-stream` also matches `text/event-stream; charset=utf-8`). */
    headers: z.record(z.string(), z.string()).optional(),
    /** Client-side duration bound for every request of the step. */
    max_duration: duration.optional(),
    min_duration: duration.optional(),
    /** JSON body field values (dot paths), non-stream answers. */
    body: z.record(z.string(), z.unknown()).optional(),
    /** JSON body fields (dot paths) that must be present and not null. */
    body_has: z.array(z.string()).optional(),

    // upstream side, from the mocks' journal, for the requests made during this step
    upstreams: z.record(z.string(), countSchema).optional(),
    /** Every request that reached this upstream carried exactly this credential. */
    only_token: z.record(z.string(), z.string()).optional(),
    /** This credential reached no upstream during the step. */
    token_unused: z.union([z.string(), z.array(z.string())]).optional(),
    /**
     * A continued answer (mid-stream continuation): the client's text is the text these upstreams
     * (or endpoints) sent, joined in this order, and each after the first was asked to continue
     * exactly what came before it (its request's assistant prefill, as the journal shows it).
     */
    continued: z.array(z.string()).min(2).optional(),
    /** Upstream order of the journal (consecutive repeats collapsed). */
    order: z.array(z.string()).optional(),
    /** Upstream requests answered with these statuses: { 401: 0 }. */
    upstream_statuses: z.record(z.string().regex(/^\d{3}$/), countSchema).optional(),
    /** Journal: only this path family reached upstreams (e.g. health probes checked separately). */
    upstream_paths: z.record(z.string(), countSchema).optional(),
    /** Every upstream request of the step carried these headers (`*` = present) ... */
    upstream_headers: z.record(z.string(), z.string()).optional(),
    /** ... and these query parameters. */
    upstream_query: z.record(z.string(), z.string()).optional(),
    /**
     * Every upstream request body of the step holds these values at these dot paths
     * (`tools.0.function.name`); `a|b` is either path (`max_tokens|max_completion_tokens`).
     */
    upstream_body: z.record(z.string(), bodyValueSchema).optional(),
    /** Upstream requests whose stream was cut by the client leaving: >0 proves an abort propagated. */
    upstream_disconnects: countSchema.optional(),

    // relay records
    /** Attempt chain of each request, e.g. ["A:429", "B:200"]; a list of chains for count > 1 checks each request in order. */
    attempts: z.union([z.array(z.string()), z.array(z.array(z.string()))]).optional(),
    /** Relay per-endpoint state after the step. */
    state: z.record(z.string(), endpointStateSchema).optional(),
    /** The relay's cumulative per-endpoint counters (GET /admin/stats): { A: { errors: ">0", byClass.rate_limited: 1 } }. */
    stats: z.record(z.string(), z.record(z.string(), countSchema)).optional(),
    /** Every request of the step was served by endpoints from this list (last attempt). */
    served_by: z.union([z.string(), z.array(z.string())]).optional(),
    /** All requests of the step ended on the same endpoint (stickiness). */
    same_endpoint: z.boolean().optional(),
    /** Health check round: endpoint -> result (ok, failed, skipped / not_checked). */
    health: z.record(z.string(), z.string()).optional(),

    // billing: the relay's ledger against the whole run's journal (see engine/billing.ts)
    billing: billingExpectSchema.optional(),
};

/** One level's expectations (the blocks `protocol:`, `resilience:`, `reference:` inside `expect`). */
export const levelExpectSchema = z.object(expectFields).strict();
export type LevelExpectation = z.infer<typeof levelExpectSchema>;

/**
 * A step's expectations. Checks written directly under `expect` belong to the scenario's `level`
 * (records and state: `reference`); a `protocol:`, `resilience:` or `reference:` block puts its
 * checks in that level.
 */
export const expectSchema = z
  .object({
    ...expectFields,
    protocol: levelExpectSchema.optional(),
    resilience: levelExpectSchema.optional(),
    reference: levelExpectSchema.optional(),
  })
  .strict();
export type Expectation = z.infer<typeof expectSchema>;

const stepBase = {
  name: z.string().optional(),
  expect: expectSchema.optional(),
};

export const stepSchema = z
  .object({
    ...stepBase,
    request: requestSchema.optional(),
    /**
     * Virtual time: moves the relay's (and mocks') clock; on a target without one, waits in real
     * time. A policy duration (`cooldowns.network + 1ms`) follows the layout the target was given.
     */
    advance: advanceSchema.optional(),
    /** Real time: only for stream pacing and in-flight work. */
    wait: duration.optional(),
    faults: faultsSchema.optional(),
    relay_change: relayChangeSchema.optional(),
    /** Run one health probe round now. */
    health_check: z.literal(true).optional(),
    /** Wait for background requests started earlier and check them (journal: everything since they started). */
    join: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    const actions = (['request', 'advance', 'wait', 'faults', 'relay_change', 'health_check', 'join'] as const).filter((k) => s[k] !== undefined);
    if (actions.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: `a step has exactly one action (request, advance, wait, faults, relay_change, health_check, join); found ${actions.length ? actions.join(', ') : 'none'}`,
      });
    }
  });
export type Step = z.infer<typeof stepSchema>;
export type RequestSpec = z.infer<typeof requestSchema>;
export type FaultsSpec = z.infer<typeof faultsSchema>;
export type RelayChange = z.infer<typeof relayChangeSchema>;

export const SUITES = ['routing', 'streaming', 'resilience', 'billing', 'custom-pass', 'health', 'sessions', 'forwarding', 'config', 'input', 'oauth'] as const;

export const scenarioSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lowercase letters, digits and dashes (it names the report file)'),
    description: z.string().min(1).refine((d) => !d.includes('\n'), 'one line'),
    suites: z.array(z.enum(SUITES)).min(1),
    seed: z.number().int().default(1),
    /** The level of the checks written directly under a step's `expect` (records and state: reference). */
    level: z.enum(LEVELS).default('protocol'),
    requires: z.array(z.enum(CAPABILITIES)).default([]),
    /** Mock upstreams (mocks/config.ts upstream schema). */
    mocks: z.array(validatedBy<UpstreamConfig>(upstreamConfigSchema)).min(1),
    /** The reference relay's layout; endpoints name a mock with `upstream:`. */
    relay: layoutSchema,
    steps: z.array(stepSchema).min(1),
  })
  .strict()
  .superRefine((s, ctx) => {
    const mockNames = new Set(s.mocks.map((m) => m.name));
    (s.relay.channels ?? []).forEach((c, ci) =>
      (c.endpoints ?? []).forEach((e, ei) => {
        if (!e.upstream && !e.base_url) ctx.addIssue({ code: 'custom', path: ['relay', 'channels', ci, 'endpoints', ei, 'upstream'], message: 'expected the name of a mock upstream' });
        if (e.upstream && !mockNames.has(e.upstream))
          ctx.addIssue({ code: 'custom', path: ['relay', 'channels', ci, 'endpoints', ei, 'upstream'], message: `no mock upstream named "${e.upstream}" (have: ${[...mockNames].join(', ')})` });
      }),
    );
    for (const issue of translationIssues(s)) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
    const started = new Set<string>();
    s.steps.forEach((st, i) => {
      if (st.request?.background) started.add(st.request.background);
      if (st.join && !started.has(st.join)) ctx.addIssue({ code: 'custom', path: ['steps', i, 'join'], message: `no earlier request with background: ${st.join}` });
      if (st.faults?.upstream && !mockNames.has(st.faults.upstream))
        ctx.addIssue({ code: 'custom', path: ['steps', i, 'faults', 'upstream'], message: `no mock upstream named "${st.faults.upstream}"` });
      for (const v of levelViolations(st.expect, s.level)) ctx.addIssue({ code: 'custom', path: ['steps', i, 'expect', ...v.path], message: v.message });
    });
    // A policy wait taking more off than the duration it names is a mistake in the file.
    let layout: unknown = s.relay;
    s.steps.forEach((st, i) => {
      if (st.relay_change?.layout) layout = st.relay_change.layout;
      if (!isPolicyWait(st.advance)) return;
      const parsed = relayConfigSchema.safeParse(withPlaceholders(layout));
      if (!parsed.success) return; // the layout's own errors are reported on it
      const raw = rawPolicyWait(st.advance, parsed.data);
      if (raw < 0) ctx.addIssue({ code: 'custom', path: ['steps', i, 'advance'], message: `"${st.advance.text}" comes to ${raw}ms under the layout in force at this step` });
    });
  });

export type Scenario = z.infer<typeof scenarioSchema>;

/** The endpoint types of a layout (the scenario's starting one). */
function layoutKinds(layout: ScenarioLayout): Set<string> {
  return new Set((layout.channels ?? []).flatMap((c) => (c.endpoints ?? []).map((e) => e.type)));
}

/**
 * A translation step must be one: the layout has an endpoint of the kind it is meant to reach,
 * and none its protocol reaches natively (a relay would serve those and never translate).
 */
function translationIssues(s: { relay: ScenarioLayout; steps: Array<{ request?: RequestSpec; relay_change?: RelayChange }> }): Array<{ path: PropertyKey[]; message: string }> {
  const kinds = layoutKinds(s.relay);
  const out: Array<{ path: PropertyKey[]; message: string }> = [];
  // A layout replaced mid-scenario may bring other kinds; only a fixed layout is checked for undeclared translations.
  const fixedLayout = !s.steps.some((st) => st.relay_change?.layout || st.relay_change?.update_endpoint);
  s.steps.forEach((st, i) => {
    const r = st.request;
    if (!r) return;
    const native = NATIVE_KINDS[r.protocol];
    if (!r.translate_to) {
      // Only a generation request as a client sends it; a path, method or raw body of its own probes input handling.
      const generation = r.path === undefined && r.method === undefined && r.raw_body === undefined;
      const other = [...kinds].filter((k) => !native.includes(k as UpstreamKind));
      if (generation && fixedLayout && kinds.size > 0 && other.length === kinds.size) {
        out.push({ path: ['steps', i, 'request', 'protocol'], message: `no endpoint speaks ${r.protocol} (the layout has ${other.join(', ')}): a step that tests translation says so with translate_to: ${other[0]}` });
      }
      return;
    }
    const path = ['steps', i, 'request', 'translate_to'];
    if (native.includes(r.translate_to)) {
      out.push({ path, message: `${r.protocol} requests reach ${r.translate_to} upstreams without translation; translate_to names a kind they do not speak` });
      return;
    }
    if (!kinds.has(r.translate_to)) out.push({ path, message: `no ${r.translate_to} endpoint in relay.channels to translate to (have: ${[...kinds].join(', ') || 'none'})` });
    const direct = native.filter((k) => kinds.has(k));
    if (direct.length) {
      out.push({ path, message: `relay.channels has ${direct.join(', ')} endpoints, which ${r.protocol} requests reach without translation; a translation step needs a layout that serves ${r.protocol} only through ${r.translate_to}` });
    }
  });
  return out;
}

/** The translations a scenario's requests need (each pair once). */
export function requiredTranslations(s: Pick<Scenario, 'steps'>): Translation[] {
  const seen = new Map<string, Translation>();
  for (const st of s.steps) {
    const r = st.request;
    if (r?.translate_to) seen.set(`${r.protocol} ${r.translate_to}`, { from: r.protocol, to: r.translate_to });
  }
  return [...seen.values()];
}
