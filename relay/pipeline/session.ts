/**
 * Sticky sessions around the pipeline: the session a request belongs to (read before planning,
 * so the plan can prefer its bound endpoint) and the binding written after it was served.
 */
import type { SessionKey } from '../../protocols/types.js';
import type { RelayModel } from '../config/model.js';
import type { LoopResult } from '../proxy/attempt-loop.js';
import type { Exchange } from '../proxy/exchange.js';
import { bindingAfterSuccess, stickyKeyHash } from '../state/sticky.js';
import type { StickyBinding } from '../state/types.js';
import type { RelayRuntime } from './runtime.js';

export interface Session extends SessionKey {
  /** The key of the session's binding in live state. */
  stickyKey: string;
}

/** The request's session when sticky routing is on and the protocol finds one. */
export function sessionOf(config: RelayModel, ex: Exchange): Session | undefined {
  if (ex.route.kind !== 'generate' || !config.sticky.enabled) return undefined;
  const s = ex.protocol.sessionKey(ex.req.headers, ex.body);
  return s ? { source: s.source, value: s.value, stickyKey: stickyKeyHash(ex.protocol.id, s.source, s.value) } : undefined;
}

/** After a success, binds (or keeps bound) the session to the endpoint that served it; not awaited. */
export function bindSession(rt: RelayRuntime, config: RelayModel, session: Session, binding: StickyBinding | undefined, loop: LoopResult): void {
  const ep = loop.endpoint;
  if (loop.last?.kind !== 'ok' || !ep) return;
  const t = rt.clock.now();
  const next = bindingAfterSuccess(binding, ep.name, t, config.sticky);
  if (next) rt.live.setBinding(session.stickyKey, next, t).catch((err) => rt.logger.warn({ err: (err as Error).message }, 'sticky binding write failed'));
}
