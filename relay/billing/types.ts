/**
 * The billing contract the relay core calls. One client request = one precharge and exactly one
 * settle, whatever happened inside (retries, failover, a cut stream): the core calls `settle`
 * once with how the request ended, and billing decides what that ending costs by its policy table.
 */
import type { ProtocolId, RequestInfo, Usage } from '../../protocols/types.js';

/** How a client request ended, as the relay core saw it. */
export type Outcome = 'success' | 'upstream_error' | 'stream_cut' | 'client_abort' | 'empty';

export interface PrechargeInput {
  requestId: string;
  keyName: string;
  model: string;
  protocol: ProtocolId;
  info: RequestInfo;
  /** Endpoint path (/v1/messages ...), for statistics by endpoint route. Optional. */
  path?: string;
}

export type PrechargeResult = { ok: true } | { ok: false; status: number; message: string };

export interface SettleInput {
  requestId: string;
  keyName: string;
  model: string;
  /** The upstream endpoint that served the request (the last attempt), for statistics. */
  endpoint?: string;
  outcome: Outcome;
  /** Usage the upstream reported (or the core's estimate, marked `estimated`). */
  usage?: Usage;
  /** true once the first content byte went to the client (the commit point). */
  firstTokenSent: boolean;
}

export interface Billing {
  /** Atomic reservation from an estimate; `ok: false` is answered with protocol.errorReply(status, message). */
  precharge(i: PrechargeInput): Promise<PrechargeResult>;
  /** Exactly once per client request; idempotent by requestId (a second call is a no-op). */
  settle(i: SettleInput): Promise<void>;
  /**
   * Instead of `settle`, for a complete answer whose end has not been released to the client yet:
   * resolves when the answer may be released, i.e. when a crash from then on can no longer
   * refund it (charged, or recorded for recovery in a group commit); `settled` is the settlement
   * itself. Absent: the relay settles after the answer, like any other ending.
   */
  chargeComplete?(i: SettleInput): Promise<{ settled: Promise<void> }>;
}

/** The billing of a relay without prices: everything is allowed and nothing is recorded. */
export class FreeBilling implements Billing {
  async precharge(): Promise<PrechargeResult> {
    return { ok: true };
  }
  async settle(): Promise<void> {}
}
