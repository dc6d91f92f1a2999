/**
 * The mock fleet's configuration: what a YAML file (`pnpm mocks --config f.yaml`), a scenario file
 * or a test hands to `startMocks`. Keys are snake_case like every relaylab YAML; the stream
 * pacing keys also accept the camelCase spelling of the team contract (chunkDelay, tokensPerSecond).
 * Durations are numbers (ms) or strings ("250ms", "2s").
 */
import { z } from 'zod';
import { durationSchema } from '../lib/schema.js';
import { JOURNAL_MAX_BODY_BYTES, JOURNAL_MAX_BYTES } from './journal.js';

export const UPSTREAM_KINDS = ['claude', 'openai', 'openai-responses', 'chatgpt-oauth', 'custom-pass'] as const;

export { durationSchema };

/** Where in a stream a fault strikes: after N events, or after a named point of the phases. */
export const STREAM_POINTS = ['start', 'first_content', 'mid_content', 'last_content', 'usage', 'mid_reasoning'] as const;
export type StreamPoint = (typeof STREAM_POINTS)[number];
export const streamPointSchema = z.union([z.number().int().min(0), z.enum(STREAM_POINTS)]);

const stringOrList = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]));

export const ruleMatchSchema = z
  .object({
    /** Exact path without query string, or a glob with `*` (e.g. `/v1/*`). */
    path: stringOrList.optional(),
    method: z.string().min(1).optional(),
    model: stringOrList.optional(),
    /** The credential as sent (x-api-key value or Bearer token). */
    token: stringOrList.optional(),
    /** The protocol's session key value (e.g. metadata.user_id, prompt_cache_key, session header). */
    session: stringOrList.optional(),
    stream: z.boolean().optional(),
    /** Request headers that must be present: name → value, or `*` for any value (names case-insensitive). */
    headers: z
      .record(z.string().min(1), z.string())
      .transform((h) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v])))
      .optional(),
    /** Fire only on the nth matching request (1-based). */
    nth: z.number().int().min(1).optional(),
    /** Fire on the first N matching requests. */
    first: z.number().int().min(1).optional(),
    /** Fire on every kth matching request (k, 2k, ...). */
    every: z.number().int().min(1).optional(),
    /** Fire with this probability, drawn from a generator seeded by the rule's seed. */
    probability: z.number().min(0).max(1).optional(),
    seed: z.number().int().optional(),
  })
  .strict();

const ERROR_STATUSES = [400, 401, 403, 404, 408, 413, 429, 500, 502, 503, 504, 529];

export const faultActionSchema = z
  .object({
    /** Answer this error status with the kind's real error body. */
    status: z
      .number()
      .int()
      .refine((s) => ERROR_STATUSES.includes(s), { message: `status must be one of ${ERROR_STATUSES.join(', ')}` })
      .optional(),
    message: z.string().optional(),
    /** Protocol error type override (Anthropic error.type / OpenAI error.type). */
    error_type: z.string().optional(),
    /** OpenAI error.code. */
    code: z.string().optional(),
    /** Seconds, sent as retry-after (429 / 503 / 529). */
    retry_after: z.number().min(0).optional(),
    /** Delay before the response headers. */
    latency: durationSchema.optional(),
    /** Stream pacing overrides. */
    ttft: durationSchema.optional(),
    chunk_delay: durationSchema.optional(),
    tokens_per_second: z.number().positive().optional(),
    /** Number of output tokens to generate. */
    output_tokens: z.number().int().min(0).optional(),
    /**
     * Cut the stream (or a non-stream body, truncated) at a point: FIN mid-body, RST, or a clean
     * HTTP end. `within`: first send that many bytes of the next event (never all of it), so the
     * cut lands inside an event, as a connection dying mid-write does.
     */
    cut: z
      .object({ after: streamPointSchema, mode: z.enum(['fin', 'rst', 'end']).default('fin'), within: z.number().int().min(1).optional() })
      .strict()
      .optional(),
    /** Send the protocol's in-stream error event(s) at a point, then end the response. */
    stream_error: z
      .object({ kind: z.enum(['overloaded', 'failed', 'incomplete']), after: streamPointSchema.default('mid_content') })
      .strict()
      .optional(),
    /** Stop sending at a point and keep the connection open (for `for`, or until the client leaves). */
    stall: z.object({ after: streamPointSchema, for: durationSchema.optional() }).strict().optional(),
    /** Send a broken SSE chunk (an event cut in half) at a point, then carry on. */
    malformed: z.object({ after: streamPointSchema }).strict().optional(),
    /** Send the event at a point again, `count` extra times. */
    duplicate: z.object({ after: streamPointSchema, count: z.number().int().min(1).default(1) }).strict().optional(),
    /** Never send headers (`headers`) or send headers and never a body (`body`). */
    hang: z.enum(['headers', 'body']).optional(),
    /** Send only the first part of a JSON body, then close. */
    truncate: z
      .object({ fraction: z.number().gt(0).lt(1).default(0.5), mode: z.enum(['fin', 'rst', 'end']).default('end') })
      .strict()
      .optional(),
    /** Write the body in small pieces with a pause between them. */
    drip: z.object({ bytes: z.number().int().min(1).default(16), every: durationSchema.prefault(50) }).strict().optional(),
    /** 200 with an empty body (no events for a stream). */
    empty: z.boolean().optional(),
    /**
     * What to answer instead of the default text: a tool call (a tool name, else one offered
     * picked by the seed; an input, else one generated from the tool's schema). Applies even
     * after a tool result, which is how a rule makes an agent loop on purpose.
     */
    respond: z
      .object({
        tool_call: z
          .object({ name: z.string().min(1).optional(), input: z.record(z.string(), z.unknown()).optional() })
          .strict(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const faultRuleSchema = z
  .object({
    name: z.string().min(1).optional(),
    match: ruleMatchSchema.prefault({}),
    /** Count matches and firings per credential instead of per upstream. */
    per_credential: z.boolean().default(false),
    /** How many times the rule fires (per credential when per_credential): a number, `once`, or `always` (until cleared). */
    times: z
      .union([z.number().int().min(1), z.literal('once'), z.literal('always')])
      .default('always')
      .transform((t) => (t === 'once' ? 1 : t === 'always' ? Infinity : t)),
    action: faultActionSchema,
  })
  .strict();

const streamPacingSchema = z
  .object({
    ttft: durationSchema.optional(),
    chunk_delay: durationSchema.optional(),
    chunkDelay: durationSchema.optional(),
    tokens_per_second: z.number().positive().optional(),
    tokensPerSecond: z.number().positive().optional(),
  })
  .strict()
  .transform((s) => ({
    ttft: s.ttft ?? 0,
    chunkDelay: s.chunk_delay ?? s.chunkDelay ?? 0,
    tokensPerSecond: s.tokens_per_second ?? s.tokensPerSecond,
  }));

export const customPassSchema = z
  .object({
    /** Time a submitted task stays queued, then running, before it finishes. */
    queued_for: durationSchema.prefault(100),
    running_for: durationSchema.prefault(200),
    /** Share of tasks that end `failed` (seeded, deterministic per task number). */
    fail_ratio: z.number().min(0).max(1).default(0),
  })
  .strict();

export const chatgptOAuthSchema = z
  .object({
    /** HS256 secret signing the test JWTs. */
    jwt_secret: z.string().min(8).default('relaylab-mock-jwt-secret'),
    /** Lifetime of access tokens minted by POST /oauth/token. */
    access_ttl: durationSchema.prefault('1h'),
    /** refresh token -> account id accepted by POST /oauth/token. */
    refresh_tokens: z.record(z.string(), z.string()).default({}),
  })
  .strict();

export const upstreamConfigSchema = z
  .object({
    name: z
      .string()
      .min(1)
      .regex(/^[A-Za-z0-9._-]+$/, 'name may contain letters, digits, . _ - only'),
    kind: z.enum(UPSTREAM_KINDS),
    /** 0 = a free port. */
    port: z.number().int().min(0).max(65535).default(0),
    /** Accepted credentials (x-api-key / Bearer). chatgpt-oauth also accepts JWTs it issued. */
    tokens: z.array(z.string().min(1)).default([]),
    seed: z.number().int().default(1),
    models: z.array(z.string().min(1)).default([]),
    stream: streamPacingSchema.prefault({}),
    /** Delay before response headers on every request. */
    latency: durationSchema.prefault(0),
    /**
     * Words generated, and reasoning tokens spent when a request asks for reasoning (thinking,
     * Responses `reasoning`, Chat `reasoning_effort`; scaled by the effort asked, protocols/reasoning.ts).
     */
    output: z.object({ tokens: z.number().int().min(0).default(16), reasoning_tokens: z.number().int().min(0).default(8) }).strict().prefault({}),
    /**
     * Tool calls without a rule: the share of tool-offering requests answered with a call (drawn
     * from the content seed; default 0, so agents get text that ends their turn) and which tool.
     */
    tool_calls: z
      .object({ probability: z.number().min(0).max(1).default(0), name: z.string().min(1).optional() })
      .strict()
      .prefault({}),
    /**
     * Whether a request ending with an assistant prefill (Anthropic: a trailing assistant message;
     * chat: one with `prefix: true`) is continued. false: refused with a 400 in the real API's
     * words ("This model does not support assistant message prefill. ..."), as models without
     * prefill answer.
     */
    prefill: z.boolean().default(true),
    rules: z.array(faultRuleSchema).default([]),
    custom_pass: customPassSchema.prefault({}),
    chatgpt: chatgptOAuthSchema.prefault({}),
  })
  .strict();

export const mocksConfigSchema = z
  .object({
    host: z.string().optional(),
    /**
     * Journal bounds: entries at most (`max`), bytes at most (`max_bytes`, body text plus ~2 kB
     * per entry; oldest entries are dropped beyond either), and `max_body_bytes`, over which a
     * body is kept truncated with its size recorded.
     */
    journal: z
      .object({
        max: z.number().int().min(1).default(100_000),
        max_bytes: z.number().int().min(1).default(JOURNAL_MAX_BYTES),
        max_body_bytes: z.number().int().min(0).default(JOURNAL_MAX_BODY_BYTES),
      })
      .strict()
      .prefault({}),
    upstreams: z.array(upstreamConfigSchema).min(1),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const seen = new Map<string, number>();
    cfg.upstreams.forEach((u, i) => {
      if (seen.has(u.name)) ctx.addIssue({ code: 'custom', path: ['upstreams', i, 'name'], message: `duplicate upstream name "${u.name}"` });
      seen.set(u.name, i);
    });
  });

/** What a config author writes (durations as strings, defaults omitted). */
export type MocksConfig = z.input<typeof mocksConfigSchema>;
export type UpstreamConfig = z.input<typeof upstreamConfigSchema>;
export type FaultRule = z.input<typeof faultRuleSchema>;
/** After validation: durations in ms, defaults filled in. */
export type ResolvedMocksConfig = z.output<typeof mocksConfigSchema>;
export type ResolvedUpstreamConfig = z.output<typeof upstreamConfigSchema>;
export type ResolvedFaultRule = z.output<typeof faultRuleSchema>;
export type FaultAction = z.output<typeof faultActionSchema>;
export type RuleMatch = z.output<typeof ruleMatchSchema>;
