/**
 * The relay's configuration file, as users write it (snake_case YAML). Durations accept
 * milliseconds or strings like "30s" / "15d". `RelayConfig` is the INPUT shape (defaults
 * optional, durations as written), so in-process callers can write the same thing as the YAML;
 * `ParsedRelayConfig` is what validation returns (defaults filled, durations in ms).
 */
import { z } from 'zod';
import { durationSchema as duration } from '../../lib/schema.js';
import { NEVER_FORWARDED, RELAY_OWNED } from '../proxy/headers.js';
import { translatableFrom } from '../translate/pairs.js';

export const ENDPOINT_TYPES = ['claude', 'openai', 'openai-responses', 'chatgpt-oauth', 'custom-pass'] as const;
export type EndpointType = (typeof ENDPOINT_TYPES)[number];

const name = z
  .string()
  .min(1)
  .regex(/^[A-Za-z0-9._:-]+$/, 'use letters, digits and . _ : - only (names appear in URLs)');

const baseUrl = z.string().refine((v) => {
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}, 'expected an http(s) URL');

/** An HTTP header name (RFC 9110 token characters), kept lower-case as node:http delivers them. */
const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'expected an HTTP header name')
  .transform((v) => v.toLowerCase());

const endpointFields = z.object({
  name,
  type: z.enum(ENDPOINT_TYPES),
  base_url: baseUrl,
  token: z.string().min(1),
  account_id: z.string().optional(),
  refresh_token: z.string().optional(),
  priority: z.number().int().default(1),
  weight: z.number().int().positive().default(1),
  failover_enabled: z.boolean().default(true),
  fast_test_path: z.string().startsWith('/').optional(),
  models: z.array(z.string()).default([]),
  model_map: z.record(z.string(), z.string()).default({}),
  /**
   * Tokens of context the endpoint accepts: one number for every model, or one per model (the
   * name the upstream is asked for, after model_map). A context_length_exceeded answer moves
   * only to an endpoint with a larger window; without a window it is returned to the client.
   */
  context_window: z.union([z.number().int().positive(), z.record(z.string(), z.number().int().positive())]).optional(),
  /**
   * Whether the endpoint takes an assistant prefill, for every model or per model (the name the
   * upstream is asked for, after model_map): only such endpoints continue a broken answer
   * (`continuation: prefill`). Unset: claude endpoints do, openai (chat) endpoints do not (the
   * OpenAI API has no prefill; compatible upstreams with `prefix: true` must say so), and the
   * other types never continue.
   */
  prefill: z.union([z.boolean(), z.record(z.string(), z.boolean())]).optional(),
  /**
   * Client protocols this endpoint also serves by translation (relay/translate): `[anthropic]` on
   * an openai (Chat) endpoint serves Anthropic Messages clients, `[openai-chat]` on a claude
   * endpoint serves Chat clients. Opt-in: without it a request only reaches endpoints that speak
   * its protocol. Such an endpoint keeps its place in the priority order for those clients too.
   */
  translate_from: z.array(z.enum(['anthropic', 'openai-chat'])).default([]),
  /** Client headers to pass on beyond what the endpoint type's API understands (relay/proxy/headers). */
  forward_headers: z
    .array(
      headerName.refine((n) => !NEVER_FORWARDED.has(n), {
        message: 'never taken from a client (credentials, organization and project, framing); fixed values go in set_headers',
      }),
    )
    .default([]),
  /** Fixed headers on every request to this endpoint, over the client's (e.g. openai-organization, openai-project). */
  set_headers: z
    .record(z.string(), z.string())
    .default({})
    .superRefine((headers, ctx) => {
      for (const raw of Object.keys(headers)) {
        const parsed = headerName.safeParse(raw);
        if (!parsed.success) ctx.addIssue({ code: 'custom', path: [raw], message: 'expected an HTTP header name' });
        else if (RELAY_OWNED.has(parsed.data)) ctx.addIssue({ code: 'custom', path: [raw], message: 'set by the relay itself (credentials come from token and account_id)' });
      }
    }),
});

export const endpointConfigSchema = endpointFields.superRefine((e, ctx) => {
  const possible = translatableFrom(e.type);
  e.translate_from.forEach((p, i) => {
    if (!possible.includes(p)) {
      ctx.addIssue({
        code: 'custom',
        path: ['translate_from', i],
        message: `a ${e.type} endpoint cannot serve ${p} clients by translation (${possible.length ? `it can: ${possible.join(', ')}` : 'it translates nothing'})`,
      });
    }
  });
});

/** Mid-stream continuation (relay/proxy/continuation.ts). */
export const continuationSchema = z.enum(['off', 'prefill']);

export const channelConfigSchema = z.object({
  name,
  priority: z.number().int().default(1),
  paused: z.boolean().default(false),
  cross_channel: z.boolean().default(true),
  /**
   * `prefill`: a stream of this channel that breaks after the commit point (cut, or stalled past
   * upstream_timeout) is continued on another endpoint that takes an assistant prefill, spliced
   * into the same client stream. `off` (default): it ends with the protocol's error event.
   */
  continuation: continuationSchema.default('off'),
  endpoints: z.array(endpointConfigSchema).default([]),
});

export const keyConfigSchema = z.object({
  key: z.string().min(8, 'relay keys need at least 8 characters'),
  name,
  models: z.array(z.string()).default([]),
  rate_limit: z.object({ requests: z.number().int().positive(), per: duration }).optional(),
  /** Mid-stream continuation for this key's requests, over the channels' setting (unset: the channel decides). */
  continuation: continuationSchema.optional(),
});

export const relayConfigSchema = z
  .object({
    strategy: z.enum(['priority', 'fastest']).default('priority'),
    cross_channel_failover: z.boolean().default(true),
    retry: z
      .object({
        max_attempts: z.number().int().positive().default(4),
        max_credential_rotations: z.number().int().nonnegative().default(3),
        /** No new attempt starts after this much time since the request arrived. */
        deadline: duration.default(60_000),
        /** Inactivity limit on an upstream call (no bytes for this long). Not a total limit. */
        upstream_timeout: duration.default(600_000),
        /** Streams: upstream headers and the first event must arrive within this. */
        first_byte_timeout: duration.default(30_000),
        /**
         * Retries on the same endpoint before failing over, per request (an isolated 5xx, a 429
         * with a short Retry-After), so a session keeps its prompt cache; 0 = fail over at once.
         * Only when they leave every later candidate its attempt (max_attempts) and time.
         */
        same_endpoint_retries: z.number().int().nonnegative().default(1),
        /** The longest Retry-After waited out on the same endpoint; a longer one moves on at once. */
        same_endpoint_max_wait: duration.default(1_000),
        /** Wait before a same-endpoint retry without Retry-After, doubled per retry, capped by max_wait. */
        same_endpoint_backoff: duration.default(0),
        /** Continuations of one broken answer (`continuation: prefill`), each one attempt within max_attempts. */
        max_continuations: z.number().int().nonnegative().default(1),
      })
      .prefault({}),
    breaker: z
      .object({
        failures: z.number().int().positive().default(5),
        successes: z.number().int().positive().default(2),
        open_for: duration.default(30_000),
      })
      .prefault({}),
    cooldowns: z
      .object({
        /** 429 without retry-after. */
        rate_limited: duration.default(10_000),
        /** Cap on a 429's retry-after. */
        retry_after_cap: duration.default(60_000),
        /** 529: brief and endpoint-only. */
        overloaded: duration.default(2_000),
        server_error: duration.default(5_000),
        network: duration.default(5_000),
        timeout: duration.default(5_000),
        /** Consecutive 401/403 after which the credential is disabled, and for how long. */
        auth_failures_to_disable: z.number().int().positive().default(3),
        auth_disable_for: duration.default(3_600_000),
        /** Every endpoint of a channel failed retryably inside one request: the channel cools (0 = never). */
        channel_all_failed: duration.default(30_000),
      })
      .prefault({}),
    sticky: z
      .object({
        enabled: z.boolean().default(true),
        ttl: duration.default(15 * 86_400_000),
        renew_below: duration.default(14 * 86_400_000),
        /**
         * Per protocol: whether a request without a session identifier gets a session derived from
         * its content (Responses instructions, the first message or input). Scoped by client key
         * and model either way; off means such requests are routed afresh each time.
         */
        derived_keys: z
          .object({ anthropic: z.boolean().default(true), 'openai-chat': z.boolean().default(true), 'openai-responses': z.boolean().default(true) })
          .strict()
          .prefault({}),
        /** A session that a failover moved goes back to where it came from once that endpoint is usable again. */
        return_after_failover: z.boolean().default(true),
      })
      .prefault({}),
    health: z
      .object({
        enabled: z.boolean().default(true),
        interval: duration.default(30_000),
        failure_threshold: z.number().int().positive().default(3),
        timeout: duration.default(5_000),
      })
      .prefault({}),
    /**
     * The admin API and /metrics listen here, never on the client port. Read from the file (and
     * RELAY_ADMIN_HOST / RELAY_ADMIN_PORT) at start; an admin edit of it applies at the next start.
     * Port unset: the CLI uses 8081 (a free port when the client port is 0), startRelay a free port.
     */
    admin: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).optional(),
      })
      .prefault({}),
    channels: z.array(channelConfigSchema).default([]),
    keys: z.array(keyConfigSchema).default([]),
    /** Prices and balances; validated by relay/billing (absent = free). */
    billing: z.unknown().optional(),
    /** The custom-pass channel (/pass/*); validated by relay/pass. */
    pass: z.unknown().optional(),
  })
  .superRefine((cfg, ctx) => {
    const unique = (values: string[], what: string, path: (i: number) => PropertyKey[]) => {
      const seen = new Set<string>();
      values.forEach((v, i) => {
        if (seen.has(v)) ctx.addIssue({ code: 'custom', path: path(i), message: `duplicate ${what} "${v}"` });
        seen.add(v);
      });
    };
    unique(cfg.channels.map((c) => c.name), 'channel name', (i) => ['channels', i, 'name']);
    const endpointPaths: PropertyKey[][] = [];
    const endpointNames: string[] = [];
    cfg.channels.forEach((c, ci) =>
      c.endpoints.forEach((e, ei) => {
        endpointNames.push(e.name);
        endpointPaths.push(['channels', ci, 'endpoints', ei, 'name']);
      }),
    );
    unique(endpointNames, 'endpoint name (names are unique across the relay)', (i) => endpointPaths[i]);
    unique(cfg.keys.map((k) => k.name), 'key name', (i) => ['keys', i, 'name']);
    unique(cfg.keys.map((k) => k.key), 'key value', (i) => ['keys', i, 'key']);
  });

export type RelayConfig = z.input<typeof relayConfigSchema>;
export type ParsedRelayConfig = z.output<typeof relayConfigSchema>;
export type ChannelConfig = z.input<typeof channelConfigSchema>;
export type EndpointConfig = z.input<typeof endpointConfigSchema>;
export type KeyConfig = z.input<typeof keyConfigSchema>;
export type ParsedChannelConfig = z.output<typeof channelConfigSchema>;
export type ParsedEndpointConfig = z.output<typeof endpointConfigSchema>;
export type ParsedKeyConfig = z.output<typeof keyConfigSchema>;
