/**
 * A target is the relay a scenario runs against, reached through an adapter: the reference relay
 * started in process (default), a running reference relay configured through its admin API, or
 * any relay configured by hand (manual). The engine only talks to this interface.
 */
import type { RequestLogEntry } from '../../relay/state/types.js';
import type { LedgerView } from './billing.js';
import type { Capability, ScenarioLayout } from './schema.js';

/** One endpoint as the relay's state API shows it (fields a third-party relay may lack are optional). */
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

/** GET /admin/stats: cumulative per-endpoint counters (requests, successes, errors, byClass ...). */
export interface RelayStatsView {
  endpoints: Record<string, Record<string, unknown>>;
  [k: string]: unknown;
}

export interface RelayStateView {
  endpoints: EndpointView[];
  activeChannel?: string | null;
}

/** A relay change with every value resolved (tokens issued, URLs filled). */
export type ResolvedChange =
  | { kind: 'token'; endpoint: string; value: string }
  | { kind: 'pause' | 'resume'; channel: string }
  | { kind: 'update_endpoint'; endpoint: string; patch: Record<string, unknown> }
  | { kind: 'remove_endpoint'; endpoint: string }
  | { kind: 'update_channel'; channel: string; patch: Record<string, unknown> }
  | { kind: 'layout'; layout: ScenarioLayout }
  | { kind: 'restart' };

export interface Target {
  readonly adapter: string;
  readonly relayUrl: string;
  readonly capabilities: ReadonlySet<Capability>;
  /** Replaces the relay's layout (channels, endpoints, tokens, keys, settings). */
  apply(layout: ScenarioLayout): Promise<void>;
  advance(ms: number): Promise<void>;
  change(change: ResolvedChange): Promise<void>;
  healthCheck(): Promise<unknown>;
  /** The relay's newest request log entries (oldest first); [] when the relay has no records. */
  requests(limit: number): Promise<RequestLogEntry[]>;
  state(): Promise<RelayStateView | undefined>;
  /** The relay's per-endpoint counters; undefined when it has none (expect.stats). */
  stats?(): Promise<RelayStatsView | undefined>;
  /** The relay's billing ledger and balances; undefined when it has none (expect.billing). */
  billing?(): Promise<LedgerView | undefined>;
  close(): Promise<void>;
}

export interface OpenTargetOptions {
  /** Scenario name (manual adapter prints it). */
  scenario: string;
  layout: ScenarioLayout;
  /** What the mocks are, for printing (manual adapter). */
  mocks: Array<{ name: string; kind: string; url: string; tokens: string[] }>;
  log: (line: string) => void;
}

export interface Adapter {
  readonly name: string;
  /** Capabilities this adapter can offer; the target may narrow them when opened. */
  readonly capabilities: ReadonlySet<Capability>;
  /** Mock upstream ports: 0 = free ports; a number = fixed ports from there up (manual). */
  readonly mockPortBase: number;
  open(opts: OpenTargetOptions): Promise<Target>;
}
