/**
 * What every stage of the request pipeline reads: the relay's state stores, configuration,
 * billing, clock, upstream pools and logger, built once by `startRelay`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../../lib/clock.js';
import type { Billing } from '../billing/types.js';
import type { ConfigHolder } from '../config/holder.js';
import type { EndpointModel, KeyModel, RelayModel } from '../config/model.js';
import type { UpstreamPools } from '../proxy/pools.js';
import type { StatsCollector } from '../proxy/stats.js';
import type { LiveState, RecordStore } from '../state/types.js';

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface RelayRuntime {
  holder: ConfigHolder;
  live: LiveState;
  records: RecordStore;
  billing: Billing;
  clock: Clock;
  pools: UpstreamPools;
  stats: StatsCollector;
  logger: Logger;
  /** chatgpt-oauth: a fresh access token after a 401, or undefined. */
  refreshToken(endpoint: EndpointModel): Promise<EndpointModel | undefined>;
  /** The relay's one request body limit (relay/service `maxBodyBytes`). */
  maxBodyBytes: number;
  /** The custom-pass channel's /pass/* routes (relay/pass), served after authenticate and the key's rate limit. */
  pass?: { serve(rt: RelayRuntime, call: AuthenticatedCall): Promise<void> };
}

/** A request past the shared first stages (authenticate, the key's rate limit), for a route that composes the rest itself. */
export interface AuthenticatedCall {
  req: IncomingMessage;
  res: ServerResponse;
  requestId: string;
  startedAt: number;
  config: RelayModel;
  key: KeyModel;
  /** Without the query string. */
  path: string;
  /** '?a=b' or ''. */
  query: string;
}
