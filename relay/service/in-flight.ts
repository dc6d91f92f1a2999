/**
 * What graceful shutdown waits for: client responses still open (streams among them), and
 * charges pre-charged but not yet settled. Tracking is a Set add/delete per request; counts are
 * read only by scrapes and by shutdown.
 */
import type { ServerResponse } from 'node:http';
import { protocolForPath } from '../http/classify.js';
import { protocolFor } from '../../protocols/index.js';
import { encodeSseAll } from '../../protocols/sse.js';
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
  /** Open responses and the client path each answers (its protocol, should it have to be ended). */
  private readonly open = new Map<ServerResponse, string>();
  private readonly signal = new IdleSignal();

  track(res: ServerResponse, path: string): void {
    this.open.set(res, path);
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
    for (const res of this.open.keys()) if (res.headersSent && res.chunkedEncoding && !res.writableEnded) n++;
    return n;
  }

  idle(): Promise<void> {
    return this.signal.wait(() => this.open.size === 0);
  }

  /**
   * Last resort when shutdown's grace has passed too: a stream still open gets the protocol's
   * error event and its end, an answer not yet started a 503 in the protocol's shape, so no
   * client sees a bare reset. Returns how many were ended.
   */
  endAll(message: string): number {
    let n = 0;
    for (const [res, path] of this.open) {
      if (res.writableEnded || res.destroyed) continue;
      const protocol = protocolFor(protocolForPath(path));
      try {
        if (res.headersSent) {
          res.end(res.chunkedEncoding ? encodeSseAll(protocol.streamErrorEvents(message)) : undefined);
        } else {
          const reply = protocol.errorReply(503, message);
          const body = JSON.stringify(reply.body);
          res.writeHead(503, { ...reply.headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), connection: 'close' });
          res.end(body);
        }
        n++;
      } catch {
        res.destroy();
      }
    }
    return n;
  }
}

/**
 * Billing that remembers which requests hold a reservation until their settle has completed,
 * so shutdown can wait for every charge to be settled before it closes the ledger.
 */
export class SettlementTracker implements Billing {
  private readonly outstanding = new Set<string>();
  private readonly signal = new IdleSignal();
  readonly chargeComplete?: (i: SettleInput) => Promise<{ settled: Promise<void> }>;

  constructor(private readonly inner: Billing) {
    if (inner.chargeComplete) this.chargeComplete = (i) => this.trackCharge(i);
  }

  private async trackCharge(i: SettleInput): Promise<{ settled: Promise<void> }> {
    try {
      const r = await this.inner.chargeComplete!(i);
      // Shutdown waits for the settlement, which may run on after the answer is released.
      const settled = r.settled.finally(() => this.done(i.requestId));
      settled.catch(() => undefined);
      return { settled };
    } catch (err) {
      this.done(i.requestId);
      throw err;
    }
  }

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
