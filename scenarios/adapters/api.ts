/**
 * The adapter interface: how the scenario engine drives a relay. An adapter is a module
 * (`--adapter ./my-adapter.ts` or a package name) whose default export is a RelayAdapter or a
 * function that returns one; the built-in ones (in-process, reference, manual) implement the
 * same interface. scenarios/README.md has a complete minimal example.
 *
 * The engine calls, per scenario: `configure(layout)` once, `apply(change)` for each relay
 * change, `readRecords()` / `state()` / ... where a step checks the relay's records, and
 * `teardown()` at the end; `close()` once after the last scenario.
 */
import type { LedgerView } from '../engine/billing.js';
import type { Capability, ClientProtocol } from '../engine/schema.js';
import type { UpstreamKind } from '../../protocols/index.js';
import type { Layout, LayoutChange } from './layout.js';

export type { Layout, LayoutChange, LayoutChannel, LayoutEndpoint } from './layout.js';
export type { Capability, ClientProtocol } from '../engine/schema.js';
export { fallbackChainFor } from './chain.js';

/** A relay feature a scenario may need (the `requires:` vocabulary, minus what the fields below say). */
export type Feature = Exclude<Capability, 'clock' | 'restart' | 'relay_records'>;

export interface AdapterCapabilities {
  /** The client APIs the relay accepts; a request of another protocol is skipped, not failed. */
  inbound: readonly ClientProtocol[];
  /**
   * Where clients send each protocol, when not at the target URL itself: `{ anthropic:
   * 'http://127.0.0.1:3456/api' }` makes `/v1/messages` go to `http://127.0.0.1:3456/api/v1/messages`.
   * `--target anthropic=http://h/api,openai-chat=http://h/openai` sets the same from the command line.
   */
  baseUrls?: Partial<Record<ClientProtocol, string>>;
  /** Client protocol -> upstream APIs it translates to (Anthropic in, OpenAI Chat upstream ...). */
  translates?: Partial<Record<ClientProtocol, readonly UpstreamKind[]>>;
  /**
   * How clients authenticate: `layout` = the layout's keys work as written; `mapped` = the relay
   * has keys of its own, `configure` returns them by the layout's key names (or `--key name=value`);
   * `none` = the relay checks no client key (checks that a bad key is refused are skipped).
   */
  keys: 'layout' | 'mapped' | 'none';
  /** `virtual`: `advance(ms)` moves the relay's clock. `none`: the engine waits in real time. */
  clock: 'virtual' | 'none';
  /** `apply({ kind: 'restart' })` stops and starts the relay on the same records. */
  restart: boolean;
  /** `readRecords()` returns the relay's request log with each request's attempt chain. */
  records: boolean;
  /**
   * Everything else the relay can do or show: `pause`, `admin_tokens` (apply token / endpoint /
   * channel / layout changes), `health` (healthCheck), `relay_state` (state, stats), `billing`,
   * `fastest`, `sticky`, `cross_channel`, `oauth_refresh`, `custom_pass`.
   */
  features: readonly Feature[];
}

/** One upstream attempt of a request, as the relay recorded it. */
export interface RelayAttempt {
  endpoint: string;
  status?: number;
  /** Why an attempt without a status ended: timeout, connect_error, stream_cut ... */
  errorClass?: string;
  /** The credential sent, masked, when the relay records it. */
  token?: string;
}

/** One client request in the relay's log; `requestId` is the x-request-id the client got back. */
export interface RelayRecord {
  requestId: string;
  attempts: RelayAttempt[];
}

/** One endpoint as the relay's state API shows it (fields a relay may lack are optional). */
export interface EndpointView {
  name: string;
  channel?: string;
  type?: string;
  paused?: boolean;
  health?: unknown;
  cooldown?: unknown;
  breaker?: unknown;
  latencyMs?: number;
  disabled?: boolean;
  [k: string]: unknown;
}

export interface RelayStateView {
  endpoints: EndpointView[];
  /** The relay's clock (ms). */
  now?: number;
  activeChannel?: string | null;
}

/** Cumulative per-endpoint counters (requests, successes, errors, byClass ...). */
export interface RelayStatsView {
  endpoints: Record<string, Record<string, unknown>>;
  [k: string]: unknown;
}

export interface AdapterContext {
  scenario: string;
  log(line: string): void;
}

/** What configure learned, when it differs from what the adapter declared. */
export interface Configured {
  /** The relay's URL when the adapter started it (in process) or moved it. */
  url?: string;
  baseUrls?: Partial<Record<ClientProtocol, string>>;
  /** The relay's own client keys by the layout's key names (keys: 'mapped'). */
  keys?: Record<string, string>;
  /** Narrower capabilities found on this relay (a reference relay without a virtual clock). */
  capabilities?: Partial<AdapterCapabilities>;
}

export interface RelayAdapter {
  readonly name: string;
  readonly capabilities: AdapterCapabilities;
  /** First port of the mock upstreams, consecutive from there (a relay set up by hand needs fixed ports); omit for free ports. */
  readonly mockPortBase?: number;
  /** Sets the relay up for a scenario: every channel, endpoint, token and key of `layout`, and nothing left of an earlier scenario. */
  configure(layout: Layout, ctx: AdapterContext): Promise<Configured | void>;
  /** One change during the scenario; `change.layout` is the whole layout after it. */
  apply(change: LayoutChange, ctx: AdapterContext): Promise<void>;
  /**
   * Headers every client request of `protocol` must carry, for relays that take their routing
   * from the request itself (Portkey's `x-portkey-config`). Asked for each request, so a change
   * applied while a load runs is in the requests sent after it; a step's own headers win.
   */
  requestHeaders?(protocol: ClientProtocol): Record<string, string>;
  /**
   * The model a request names when it is played in another protocol than written (a Chat step
   * sent as an Anthropic request, engine/played-protocol.ts), for relays that route by the model:
   * the step is about the endpoints of `kinds`, and the relay's own routing must reach them
   * (claude-code-router sends a Claude haiku model to its background route). Undefined: the
   * step's own model.
   */
  playedModel?(sent: ClientProtocol, kinds: readonly UpstreamKind[]): string | undefined;
  /** The newest `limit` request records, oldest first (capabilities.records). */
  readRecords?(limit: number): Promise<RelayRecord[]>;
  /** Moves the relay's virtual clock (capabilities.clock = virtual). */
  advance?(ms: number): Promise<void>;
  /** Runs one health probe round now and returns its results (feature `health`). */
  healthCheck?(): Promise<unknown>;
  /** Feature `relay_state`. */
  state?(): Promise<RelayStateView | undefined>;
  stats?(): Promise<RelayStatsView | undefined>;
  /** Feature `billing`: the ledger and balances. */
  billing?(): Promise<LedgerView | undefined>;
  /** After each scenario: stop what configure started. */
  teardown?(): Promise<void>;
  /** After the last scenario. */
  close?(): Promise<void>;
}

/** What `--target`, `--admin-token` and `--adapter-option k=v` gave on the command line. */
export interface AdapterOptions {
  target?: string;
  adminToken?: string;
  /** `--admin-url`: a relay's admin API when it listens apart from the target (the reference relay's does). */
  adminUrl?: string;
  mockPortBase?: number;
  options: Record<string, string>;
}

export type AdapterFactory = (options: AdapterOptions) => RelayAdapter | Promise<RelayAdapter>;

/** Types a module's default export: `export default defineAdapter((opts) => ({ ... }))`. */
export function defineAdapter(factory: AdapterFactory): AdapterFactory {
  return factory;
}

/** The capability names a scenario's `requires:` and steps are checked against. */
export function capabilitySet(c: AdapterCapabilities): Set<Capability> {
  const set = new Set<Capability>(c.features);
  if (c.clock === 'virtual') set.add('clock');
  if (c.restart) set.add('restart');
  if (c.records) set.add('relay_records');
  return set;
}
