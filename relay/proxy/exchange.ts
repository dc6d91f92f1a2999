/**
 * One client request as it moves through the relay: what was asked, and what has already
 * reached the client. `committed` is the commit point: once true, nothing is retried.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Protocol, RequestInfo, StreamObserver, Usage } from '../../protocols/types.js';
import type { EndpointType } from '../config/schema.js';
import type { Route } from '../http/classify.js';
import type { AttemptSignal } from './attempt-signal.js';
import type { Continuation } from './continuation.js';

export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  requestId: string;
  startedAt: number;
  route: Route;
  protocol: Protocol;
  /** '?a=b' or ''. */
  query: string;
  rawBody: Buffer;
  body: unknown;
  info: RequestInfo;
  /** Client model name without a `type,` prefix. */
  model: string | undefined;
  /** The body must be re-serialised for every endpoint (a prefix was stripped). */
  forcedType?: EndpointType;
  /** Set when the client goes away; aborts the attempt in flight. */
  clientGone: boolean;
  current?: AttemptSignal;
  committed: boolean;
  ttfbAt?: number;
  /** Final usage of the delivered answer. */
  usage?: Usage;
  /** A JSON answer's text, for the estimate when the upstream reported no usage (a stream counts its delivered characters instead: `observer.contentTokens`). */
  outputText: string;
  /** The observer of the stream being delivered (error events are spliced after what it saw). */
  observer?: StreamObserver;
  /**
   * Charges a complete answer before its last bytes (the terminal event, or a JSON body) are
   * released to the client; set by the settle stage once the reservation is made. So a relay
   * killed at any moment has charged every answer a client received whole.
   */
  chargeBeforeRelease?: (endpoint: string) => Promise<void>;
  /** Mid-stream continuation of this request's stream, when its key or a channel turns it on. */
  continuation?: Continuation;
  /** What the request was charged, once it was (by chargeBeforeRelease or at the end). */
  settled?: { outcome: 'success' | 'upstream_error' | 'stream_cut' | 'client_abort' | 'empty'; usage: Usage | undefined };
}

export function markClientGone(ex: Exchange): void {
  if (ex.clientGone) return;
  ex.clientGone = true;
  ex.current?.abort(new Error('client disconnected'));
}
