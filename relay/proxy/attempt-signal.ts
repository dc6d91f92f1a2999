/**
 * The abort switch of one upstream attempt, pulled by markClientGone (relay/proxy/exchange) and
 * by the attempt's timeouts. What it stops is the upstream request in flight, which attaches
 * itself (relay/proxy/upstream-request). A plain object instead of an AbortController: that one
 * costs createAbortSignal and EventTarget listeners per attempt, for a single listener.
 */

/** What an abort stops. */
export interface Abortable {
  abortWith(reason: Error): void;
}

export class AttemptSignal {
  aborted = false;
  reason: Error | undefined = undefined;
  private target: Abortable | undefined = undefined;

  /** Ends the attempt: the attached request fails with `reason` (now, or as soon as it attaches). */
  abort(reason: Error): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const target = this.target;
    this.target = undefined;
    target?.abortWith(reason);
  }

  /** Sets what an abort stops; undefined once there is nothing left to stop. */
  attach(target: Abortable | undefined): void {
    this.target = target;
  }
}
