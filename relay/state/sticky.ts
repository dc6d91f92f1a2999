/**
 * Sticky sessions: a conversation stays on the endpoint it started on, so upstream prompt caches
 * keep hitting. Bindings live `ttl` (15 days) and are renewed once less than `renew_below`
 * (14 days) remains, i.e. about once a day per active session instead of on every request.
 * A binding to an endpoint that cannot be used now is replaced, never obeyed.
 *
 * Pure rules first; `StickySessions` is the thin shell over LiveState.
 */
import { digest } from '../../protocols/util.js';
import type { LiveState, StickyBinding } from './types.js';

export interface StickyPolicy {
  ttlMs: number;
  renewBelowMs: number;
}

export type StickyOutcome = 'hit' | 'miss' | 'rebind';

/**
 * The stored key of a session: protocol, where the key came from and its value, hashed, so the
 * same text from different sources or protocols never shares a binding and no prompt is stored.
 * The protocols' digest (128 bits of sha256) keeps it collision-free for any realistic count.
 */
export function stickyKeyHash(protocol: string, source: string, value: string): string {
  return digest(`${protocol}\u0000${source}\u0000${value}`);
}

/** Whether a live binding should be pushed out to a full TTL again. */
export function needsRenewal(binding: StickyBinding, now: number, policy: StickyPolicy): boolean {
  return binding.expiresAt - now < policy.renewBelowMs;
}

/** What a binding means for this request: follow it, or there is none, or it must be replaced. */
export function decideSticky(
  binding: StickyBinding | undefined,
  isUsable: (endpoint: string) => boolean,
): { outcome: StickyOutcome; endpoint: string | undefined } {
  if (!binding) return { outcome: 'miss', endpoint: undefined };
  if (!isUsable(binding.endpoint)) return { outcome: 'rebind', endpoint: undefined };
  return { outcome: 'hit', endpoint: binding.endpoint };
}

/**
 * The binding to write after a request succeeded on `served`, or undefined when the existing
 * one stays as it is (same endpoint, enough time left).
 */
export function bindingAfterSuccess(
  existing: StickyBinding | undefined,
  served: string,
  now: number,
  policy: StickyPolicy,
): StickyBinding | undefined {
  if (existing && existing.endpoint === served && existing.expiresAt > now && !needsRenewal(existing, now, policy)) {
    return undefined;
  }
  return { endpoint: served, expiresAt: now + policy.ttlMs };
}

export class StickySessions {
  constructor(
    private readonly live: LiveState,
    private readonly policy: () => StickyPolicy,
  ) {}

  /** The binding for a session key hash, judged against what is usable now. */
  async lookup(
    keyHash: string,
    now: number,
    isUsable: (endpoint: string) => boolean,
  ): Promise<{ outcome: StickyOutcome; endpoint: string | undefined; binding: StickyBinding | undefined }> {
    const binding = await this.live.getBinding(keyHash, now);
    return { ...decideSticky(binding, isUsable), binding };
  }

  /**
   * After a success on `served`: bind a new session, move a replaced one, renew one running low.
   * `existing` is what lookup returned (saves a round trip). Returns whether it wrote.
   */
  async afterSuccess(keyHash: string, served: string, now: number, existing: StickyBinding | undefined): Promise<boolean> {
    const next = bindingAfterSuccess(existing, served, now, this.policy());
    if (!next) return false;
    await this.live.setBinding(keyHash, next, now);
    return true;
  }

  async forget(keyHash: string): Promise<void> {
    await this.live.deleteBinding(keyHash);
  }
}
