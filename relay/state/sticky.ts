/**
 * Sticky sessions: a conversation stays on the endpoint it started on, so upstream prompt caches
 * keep hitting. Bindings live `ttl` (15 days) and are renewed once less than `renew_below`
 * (14 days) remains, i.e. about once a day per active session instead of on every request.
 * A binding to an endpoint that cannot be used now is replaced, never obeyed (the planner).
 *
 * A binding that a failover moved is provisional: it remembers `home`, the endpoint the session
 * would have used had nothing failed, and the planner sends the session back there once home is
 * usable again (cooldown over, breaker closed).
 *
 * Which session a request belongs to: an identifier the client sent (a session header,
 * prompt_cache_key, metadata.user_id) first; a key derived from the content (Responses
 * instructions, the first message or input) only where the protocol's `derived_keys` allows it.
 * Either way scoped by the client key and the model, so two clients that happen to send the same
 * first message (a fixed system prompt, a health script, a benchmark) never share a binding.
 */
import { digest } from '../../protocols/util.js';
import type { Protocol, SessionKey } from '../../protocols/types.js';
import type { StickyBinding } from './types.js';

export interface StickyPolicy {
  ttlMs: number;
  renewBelowMs: number;
}

/** Where the planner put the request: the binding followed, none, replaced, or the session sent home. */
export type StickyOutcome = 'hit' | 'miss' | 'rebind' | 'return';

/** A request's session, as the relay keys it. */
export interface Session extends SessionKey {
  /** The key of the session's binding in live state: protocol, client key, model, source and value, hashed. */
  stickyKey: string;
}

/**
 * The stored key of a session: protocol, client key, model, where the key came from and its
 * value, hashed, so the same text from different clients, models, sources or protocols never
 * shares a binding and no prompt is stored. The protocols' digest (128 bits of sha256) keeps it
 * collision-free for any realistic count.
 */
export function stickyKeyHash(protocol: string, clientKey: string, model: string, source: string, value: string): string {
  return digest(`${protocol}\u0000${clientKey}\u0000${model}\u0000${source}\u0000${value}`);
}

/**
 * The session of a request, or undefined when it has none the policy accepts: explicit
 * identifiers always, content-derived keys only when `derived` is on for the protocol.
 */
export function stickySession(
  protocol: Protocol,
  headers: Record<string, string | string[] | undefined>,
  body: unknown,
  clientKey: string,
  model: string,
  derived: boolean,
): Session | undefined {
  const key = protocol.sessionKey(headers, body);
  if (!key || (key.derived && !derived)) return undefined;
  return { ...key, stickyKey: stickyKeyHash(protocol.id, clientKey, model, key.source, key.value) };
}

/** Whether a live binding should be pushed out to a full TTL again. */
export function needsRenewal(binding: StickyBinding, now: number, policy: StickyPolicy): boolean {
  return binding.expiresAt - now < policy.renewBelowMs;
}

/**
 * The binding to write after a request succeeded on `served`, having tried `firstTried` first
 * (the bound endpoint, or routing's own choice), or undefined when the existing one stays as it
 * is (same endpoint, same home, enough time left). Served elsewhere than first tried means a
 * failover moved the session: the binding is provisional and keeps the home it already had.
 */
export function bindingAfterSuccess(
  existing: StickyBinding | undefined,
  served: string,
  firstTried: string,
  now: number,
  policy: StickyPolicy,
): StickyBinding | undefined {
  const stayed = existing !== undefined && existing.endpoint === served;
  const home = served !== firstTried ? (existing?.home ?? firstTried) : stayed ? existing.home : undefined;
  if (stayed && existing.home === home && existing.expiresAt > now && !needsRenewal(existing, now, policy)) return undefined;
  const next: StickyBinding = { endpoint: served, expiresAt: now + policy.ttlMs };
  if (home !== undefined && home !== served) next.home = home;
  return next;
}
