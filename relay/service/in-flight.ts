/**
 * What graceful shutdown waits for: client responses still open (streams among them), and
 * charges pre-charged but not yet settled. Tracking is a Set add/delete per request; counts are
 * read only by scrapes and by shutdown.
 */
import type { ServerResponse } from 'node:http';
import type { Billing, PrechargeInput, PrechargeResult, SettleInput } from '../billing/types.js';

/** Resolves waiters when a count drops to zero. */
class IdleSignal {
  private waiters: Array<() => void> = [];
  wait(isIdle: () => boolean): Promise<void> {
    if (isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  fire(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }
}

export class InFlightResponses {
  private readonly open = new Set<ServerResponse>();
  private readonly signal = new IdleSignal();

  track(res: ServerResponse): void {
    this.open.add(res);
    res.once('close', () => {
      this.open.delete(res);
      if (this.open.size === 0) this.signal.fire();
    });
  }

  get size(): number {
    return this.open.size;
  }

  /** Responses sent as a stream (headers out, no content-length) and not yet ended. */
  streams(): number {
    let n = 0;
    for (const res of this.open) if (res.headersSent && res.chunkedEncoding && !res.writableEnded) n++;
    return n;
  }

  idle(): Promise<void> {
    return this.signal.wait(() => this.open.size === 0);
  }
}

/**
 * Billing that remembers which requests hold a reservation until their settle has completed,
 * so shutdown can wait for every charge to be settled before it closes the ledger.
 */
export class SettlementTracker implements Billing {
  private readonly outstanding = new Set<string>();
  private readonly signal = new IdleSignal();

  constructor(private readonly inner: Billing) {}

  async precharge(i: PrechargeInput): Promise<PrechargeResult> {
    this.outstanding.add(i.requestId);
    try {
      const result = await this.inner.precharge(i);
      if (!result.ok) this.done(i.requestId);
      return result;
    } catch (err) {
      this.done(i.requestId);
      throw err;
    }
  }

  async settle(i: SettleInput): Promise<void> {
    try {
      await this.inner.settle(i);
    } finally {
      this.done(i.requestId);
    }
  }

  get size(): number {
    return this.outstanding.size;
  }

  idle(): Promise<void> {
    return this.signal.wait(() => this.outstanding.size === 0);
  }

  private done(requestId: string): void {
    this.outstanding.delete(requestId);
    if (this.outstanding.size === 0) this.signal.fire();
  }
}
