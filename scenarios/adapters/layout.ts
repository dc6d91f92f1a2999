/**
 * The relay layout every adapter receives: plain JSON, the same for every relay, with one meaning
 * of priority, participation and pause (written out in the `.describe()` texts, which become the
 * JSON Schema's descriptions: `layout.schema.json`, `pnpm scenario --layout-schema`).
 *
 * The engine builds it from a scenario's `relay:` section (the reference relay's own config) and
 * the running mocks (engine/portable-layout.ts); `reference` carries that config as well, resolved,
 * for adapters that speak the reference relay's admin API.
 */
import { z } from 'zod';
import { UPSTREAM_KINDS, type UpstreamKind } from '../../protocols/index.js';

export const LAYOUT_VERSION = 1;

const upstreamKind = z.enum(UPSTREAM_KINDS as [UpstreamKind, ...UpstreamKind[]]);
const ms = z.number().int().min(0);

export const layoutEndpointSchema = z
  .object({
    name: z.string().describe('Unique across the layout; checks and changes name the endpoint by it.'),
    kind: upstreamKind.describe('The API the upstream speaks: claude (Anthropic Messages), openai (Chat Completions), openai-responses, chatgpt-oauth (Codex backend), custom-pass.'),
    upstream: z.string().describe('The mock upstream it points at (an entry of `upstreams`).'),
    base_url: z.string().describe('The upstream origin, plus a path prefix when the mock gives this endpoint a route of its own; API paths (/v1/messages ...) go after it.'),
    url: z.string().optional().describe('base_url + the main path of the API (POST /v1/messages, /v1/chat/completions, /v1/responses, /backend-api/codex/responses), for relays that take a full URL.'),
    token: z.string().describe('The credential this endpoint and no other sends upstream (x-api-key for claude API keys, Bearer otherwise).'),
    account_id: z.string().optional().describe('chatgpt-oauth: the chatgpt-account-id header to send with the token.'),
    refresh_token: z.string().optional().describe('chatgpt-oauth: a refresh token the upstream honours at <origin>/oauth/token.'),
    priority: z.number().int().describe('Lower is tried first within its channel; endpoints with equal priority share traffic by weight.'),
    weight: z.number().int().positive().describe('Share of traffic among endpoints of equal priority.'),
    failover: z
      .boolean()
      .describe(
        'Participation in failover. false: never tried after another endpoint failed, and a request it fails is not retried elsewhere; it serves a request only as that request\u2019s first candidate.',
      ),
    models: z.array(z.string()).describe('Models it serves; empty = every model.'),
    model_map: z.record(z.string(), z.string()).describe('Client model name -> the name sent upstream.'),
    prefill: z
      .union([z.boolean(), z.record(z.string(), z.boolean())])
      .optional()
      .describe(
        'Whether the upstream takes an assistant prefill (for every model, or per model): only such endpoints may continue a broken answer (channel `continuation`). Absent: claude yes, openai (chat) no, other kinds never.',
      ),
  })
  .strict();

export const layoutChannelSchema = z
  .object({
    name: z.string(),
    priority: z.number().int().describe('Lower is first: the primary channel is the first unpaused channel that has an endpoint for the request.'),
    paused: z.boolean().describe('A paused channel gets no requests; its endpoints stay configured and serve again once it is resumed.'),
    cross_channel: z.boolean().describe('Whether requests may fail over into this channel from another one.'),
    continuation: z
      .enum(['off', 'prefill'])
      .optional()
      .describe(
        'prefill: a stream of this channel that breaks mid-answer (cut, or stalled) is continued on another endpoint that takes an assistant prefill, the text the client already has sent as the prefill and the continuation spliced into the same client stream. Absent or off: it ends with the protocol\u2019s error event.',
      ),
    endpoints: z.array(layoutEndpointSchema),
  })
  .strict();

export const layoutSchema = z
  .object({
    version: z.literal(LAYOUT_VERSION),
    scenario: z.string().describe('The scenario this layout is for.'),
    strategy: z.enum(['priority', 'fastest']).describe('priority: by channel, then endpoint priority. fastest: the endpoint with the lowest measured latency first.'),
    cross_channel_failover: z.boolean().describe('false: a request never leaves its primary channel.'),
    channels: z.array(layoutChannelSchema).describe('In the order written; `priority` decides, not the position.'),
    fallback_chain: z
      .array(z.string())
      .describe(
        'Endpoint names in the order a priority relay tries them for a request when each one fails: unpaused channels by priority, endpoints by priority (ties in layout order), the primary channel only when cross_channel_failover is false, and only the first endpoint when it does not take part in failover. For relays configured as an ordered fallback list.',
      ),
    keys: z
      .array(z.object({ name: z.string(), key: z.string() }).strict())
      .describe('Client keys by name; requests name the key they send. A relay that mints its own keys maps these names to its keys (configure returns them).'),
    upstreams: z
      .array(z.object({ name: z.string(), kind: upstreamKind, base_url: z.string(), tokens: z.array(z.string()) }).strict())
      .describe('The mock upstreams, running while the scenario runs, and the credentials each accepts.'),
    policy: z
      .object({
        retry: z.object({ max_attempts: z.number().int(), deadline_ms: ms, upstream_timeout_ms: ms, first_byte_timeout_ms: ms }).strict(),
        cooldowns: z
          .object({
            rate_limited_ms: ms.describe('After a 429 without retry-after.'),
            retry_after_cap_ms: ms,
            overloaded_ms: ms.describe('After a 529 / overloaded error.'),
            server_error_ms: ms,
            network_ms: ms,
            timeout_ms: ms,
            channel_all_failed_ms: ms,
            auth_failures_to_disable: z.number().int(),
            auth_disable_for_ms: ms,
          })
          .strict(),
        breaker: z.object({ failures: z.number().int(), successes: z.number().int(), open_for_ms: ms }).strict(),
        sticky: z.object({ enabled: z.boolean(), ttl_ms: ms }).strict(),
        health: z.object({ enabled: z.boolean(), interval_ms: ms, failure_threshold: z.number().int(), timeout_ms: ms }).strict(),
      })
      .strict()
      .describe('Durations and thresholds of the failover policy, in milliseconds; map what your relay has, ignore the rest.'),
    reference: z.record(z.string(), z.unknown()).describe('The same layout as the reference relay\u2019s config (relay/config/schema.ts), resolved: PUT it to /admin/config.'),
  })
  .strict();

export type Layout = z.infer<typeof layoutSchema>;
export type LayoutEndpoint = z.infer<typeof layoutEndpointSchema>;
export type LayoutChannel = z.infer<typeof layoutChannelSchema>;

const endpointPatch = layoutEndpointSchema.omit({ name: true }).partial();
const channelPatch = layoutChannelSchema.omit({ name: true, endpoints: true }).partial();
const afterChange = {
  layout: layoutSchema.describe('The whole layout after the change: an adapter may simply configure it again.'),
  description: z.string().describe('The change in words, for a person doing it by hand.'),
};
const referencePatch = z.record(z.string(), z.unknown()).describe('The same patch in the reference relay\u2019s config terms (PATCH /admin/endpoints|channels/<name>).');

export const layoutChangeSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('token'), endpoint: z.string(), token: z.string(), ...afterChange }).strict().describe('The endpoint now sends this token.'),
  z.object({ kind: z.literal('pause'), channel: z.string(), ...afterChange }).strict(),
  z.object({ kind: z.literal('resume'), channel: z.string(), ...afterChange }).strict(),
  z.object({ kind: z.literal('update_endpoint'), endpoint: z.string(), patch: endpointPatch, reference_patch: referencePatch, ...afterChange }).strict(),
  z.object({ kind: z.literal('remove_endpoint'), endpoint: z.string(), ...afterChange }).strict(),
  z.object({ kind: z.literal('update_channel'), channel: z.string(), patch: channelPatch, reference_patch: referencePatch, ...afterChange }).strict(),
  z.object({ kind: z.literal('layout'), ...afterChange }).strict().describe('Replace everything with `layout`.'),
  z
    .object({ kind: z.literal('restart'), ...afterChange })
    .strict()
    .describe('Stop and start the relay on the same records: pauses and earlier changes must survive.'),
]);
export type LayoutChange = z.infer<typeof layoutChangeSchema>;

/** The JSON Schema of the layout and of a change (draft 2020-12), as written to layout.schema.json. */
export function layoutJsonSchema(): Record<string, unknown> {
  const registry = z.registry<{ id: string }>();
  registry.add(layoutSchema, { id: 'layout' });
  registry.add(layoutChangeSchema, { id: 'change' });
  const { schemas } = z.toJSONSchema(registry, { target: 'draft-2020-12', uri: (id) => `#/$defs/${id}` });
  // Each definition lives under the root's $defs: its own $schema and $id would start a new document.
  const definitions = Object.fromEntries(Object.entries(schemas).map(([id, { $schema: _s, $id: _i, ...rest }]) => [id, rest]));
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'relaylab relay layout',
    description:
      'What an adapter configures on a relay before a scenario (`layout`) and each change during it (`change`). Generated from scenarios/adapters/layout.ts; `pnpm scenario --layout-schema` prints it.',
    $defs: definitions,
    oneOf: [{ $ref: '#/$defs/layout' }, { $ref: '#/$defs/change' }],
  };
}
