/**
 * A request in a protocol the target does not accept, played in one it does. A resilience or
 * routing step is about what the relay does with the upstreams, not about the client's dialect:
 * when the target takes another client protocol and translates it to every kind of upstream the
 * step's own protocol would reach, the request goes out in that protocol instead (an Anthropic
 * request to claude-code-router, which translates it to the OpenAI Chat upstreams of an
 * OpenAI scenario), and only the checks written in the step's own dialect are skipped: body
 * fields and error types. Status, text, stream end, usage and everything upstream still run.
 * Pure functions.
 */
import type { UpstreamKind } from '../../protocols/index.js';
import type { Check } from './expect.js';
import type { ClientProtocol, RequestSpec } from './schema.js';

/** Upstream kinds a client protocol reaches without translation (as the reference relay routes it). */
const NATIVE: Readonly<Record<ClientProtocol, readonly UpstreamKind[]>> = {
  anthropic: ['claude'],
  'openai-chat': ['openai'],
  'openai-responses': ['openai', 'openai-responses', 'chatgpt-oauth'],
  codex: ['openai-responses', 'chatgpt-oauth'],
  'custom-pass': ['custom-pass'],
};

export interface PlayedAs {
  /** The protocol the step is written in. */
  written: ClientProtocol;
  /** The protocol its requests go out in. */
  sent: ClientProtocol;
  /** The upstream kinds the target translates `sent` to for it. */
  kinds: UpstreamKind[];
}

/** What is written in the protocol's own terms and cannot be said in another one. */
function dialectBound(spec: RequestSpec): boolean {
  return spec.path !== undefined || spec.method !== undefined || spec.raw_body !== undefined || spec.body !== undefined || spec.session !== undefined;
}

/**
 * The protocol a request goes out in on a target: undefined when it goes as written (accepted) or
 * cannot go at all (no accepted protocol is translated to the kinds it reaches, or the request
 * is bound to its dialect: its own path, method, body or session fields).
 */
export function playedAs(
  spec: RequestSpec,
  target: { inbound: ReadonlySet<ClientProtocol>; translates?: Partial<Record<ClientProtocol, readonly UpstreamKind[]>> },
  endpointKinds: readonly UpstreamKind[],
): PlayedAs | undefined {
  if (target.inbound.has(spec.protocol) || dialectBound(spec)) return undefined;
  const kinds = [...new Set(endpointKinds.filter((k) => NATIVE[spec.protocol].includes(k)))];
  if (kinds.length === 0) return undefined;
  for (const sent of target.inbound) {
    if (kinds.every((k) => target.translates?.[sent]?.includes(k))) return { written: spec.protocol, sent, kinds };
  }
  return undefined;
}

/** Checks in the written protocol's own terms (body fields, error types), skipped on a request sent in another. */
export function skipDialectChecks(checks: Check[], p: PlayedAs): Check[] {
  const reason = `sent as ${p.sent} (the target translates it to ${p.kinds.join(', ')}): ${p.written} body fields and error types are not comparable`;
  const bound = (c: Check) => c.name.startsWith('body.') || c.name.startsWith('body has ') || (c.name === 'error shape' && String(c.expected).startsWith('error.type'));
  return checks.map((c) => (bound(c) && !c.skipped ? { ...c, pass: true, skipped: true, reason, actual: '(not comparable)' } : c));
}
