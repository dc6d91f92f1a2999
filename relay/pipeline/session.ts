/**
 * Sticky sessions around the pipeline: the session a request belongs to (read before planning,
 * so the plan can prefer its bound endpoint) and the binding written after it was served.
 */
import type { RelayModel } from '../config/model.js';
import type { LoopResult } from '../proxy/attempt-loop.js';
import type { Exchange } from '../proxy/exchange.js';
import { bindingAfterSuccess, stickySession, type Session } from '../state/sticky.js';
import type { StickyBinding } from '../state/types.js';
import type { RelayRuntime } from './runtime.js';

export type { Session };

/**
 * The request's session when sticky routing is on and one is found: an identifier the client
 * sent, or one derived from the content where the protocol's `derived_keys` allows, scoped by
 * the client key and the model (relay/state/sticky).
 */
export function sessionOf(config: RelayModel, ex: Exchange, keyName: string): Session | undefined {
  if (ex.route.kind !== 'generate' || !config.sticky.enabled) return undefined;
  return stickySession(ex.protocol, ex.req.headers, ex.body, keyName, ex.model ?? '', config.sticky.derivedKeys[ex.protocol.id] === true);
}

/** After a success, binds (or keeps bound) the session to the endpoint that served it; not awaited. */
export function bindSession(rt: RelayRuntime, config: RelayModel, session: Session, binding: StickyBinding | undefined, loop: LoopResult): void {
  const ep = loop.endpoint;
  if (loop.last?.kind !== 'ok' || !ep) return;
  const t = rt.clock.now();
  // The first endpoint tried is where the session was meant to go: served elsewhere, a failover moved it.
  const next = bindingAfterSuccess(binding, ep.name, loop.attempts[0]?.endpoint ?? ep.name, t, config.sticky);
  if (next) rt.live.setBinding(session.stickyKey, next, t).catch((err) => rt.logger.warn({ err: (err as Error).message }, 'sticky binding write failed'));
}
