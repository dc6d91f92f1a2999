/**
 * Prometheus metrics for one relay. Each relay owns its Registry (never prom-client's global
 * one), so several relays in one process (scenarios, tests) keep separate numbers.
 *
 * The hot path feeds it through `observe(entry)`: the request-log entry the relay writes for
 * every client request already holds protocol, route, status, outcome and the attempt trail, so
 * counting is a few synchronous increments and nothing is awaited. State that lives elsewhere
 * (cooldowns, breakers and health in LiveState; ledger totals in billing; in-flight streams in
 * the server) is read at scrape time, off the hot path. A scrape reads the ledger's running
 * per-key totals, balances and the count of open reservations: its cost follows the number of
 * keys, never the number of ledger rows (`pnpm bench metrics-scrape` measures it).
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { Clock } from '../../lib/clock.js';
import type { LedgerStore } from '../billing/ledger.js';
import type { LiveState, RequestLogEntry } from '../state/types.js';
import { HotCounter, HotHistogram } from './hot-metrics.js';

/** What the ledger offers for gauges (relay/billing LedgerBilling.store), each read costing the same whatever the ledger's size. */
export interface LedgerSource {
  store: Pick<LedgerStore, 'totalsByKey' | 'pendingCount' | 'balances'>;
}

export interface MetricsSources {
  /** The configured endpoints, read at scrape time (the layout may change). */
  endpoints(): Array<{ name: string; channel: string; tokenId: string }>;
  live: Pick<LiveState, 'readEndpoints'>;
  clock: Clock;
  ledger?: LedgerSource;
  inFlight?: () => { requests: number; streams: number };
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const MICROS_PER_DOLLAR = 1_000_000;
/** Client paths are labels; past this many distinct ones the rest count as "other". */
const MAX_PATH_LABELS = 64;

export class RelayMetrics {
  readonly registry = new Registry();
  private sources: MetricsSources | undefined;
  private readonly paths = new Set<string>();

  // Fed on every request: hot metrics (relay/service/hot-metrics) instead of prom-client's label hashing.
  private readonly requests = new HotCounter(
    'relay_requests_total',
    'Client requests by protocol, client route, HTTP status and outcome (ok, upstream_error, stream_cut, client_abort, no_candidate, rejected ...)',
    ['protocol', 'path', 'status', 'outcome'],
    this.registry,
  );
  private readonly requestDuration = new HotHistogram(
    'relay_request_duration_seconds',
    'Client request duration, arrival to the last byte',
    ['protocol', 'stream'],
    LATENCY_BUCKETS,
    this.registry,
  );
  private readonly ttfb = new HotHistogram(
    'relay_time_to_first_byte_seconds',
    'Arrival to the first byte sent to the client (the commit point)',
    ['protocol'],
    LATENCY_BUCKETS,
    this.registry,
  );
  private readonly attempts = new HotCounter(
    'relay_upstream_attempts_total',
    'Upstream attempts by endpoint, upstream status and outcome (ok or the error class)',
    ['endpoint', 'channel', 'status', 'outcome'],
    this.registry,
  );
  private readonly attemptDuration = new HotHistogram(
    'relay_upstream_attempt_duration_seconds',
    'Upstream attempt duration by endpoint',
    ['endpoint'],
    LATENCY_BUCKETS,
    this.registry,
  );
  private readonly failovers = new Counter({
    name: 'relay_failovers_total',
    help: 'Moves from one endpoint to the next inside one client request',
    labelNames: ['from_endpoint', 'to_endpoint', 'cross_channel'] as const,
    registers: [this.registry],
  });
  private readonly cooldownsSet = new Counter({
    name: 'relay_cooldowns_set_total',
    help: 'Cooldowns started by attempt outcomes',
    labelNames: ['endpoint', 'scope'] as const,
    registers: [this.registry],
  });
  private readonly tokens = new HotCounter(
    'relay_usage_tokens_total',
    'Tokens delivered to clients as the upstream reported them (or estimated)',
    ['protocol', 'kind'],
    this.registry,
  );
  private readonly inFlightRequests = new Gauge({ name: 'relay_in_flight_requests', help: 'Client requests being answered now', registers: [this.registry] });
  private readonly activeStreams = new Gauge({ name: 'relay_active_streams', help: 'Streaming answers being sent now', registers: [this.registry] });
  private readonly health = new Gauge({
    name: 'relay_endpoint_health',
    help: '1 for the endpoint\'s current health status',
    labelNames: ['endpoint', 'channel', 'status'] as const,
    registers: [this.registry],
  });
  private readonly breaker = new Gauge({
    name: 'relay_endpoint_breaker',
    help: '1 for the endpoint breaker\'s current phase (closed, open, half_open)',
    labelNames: ['endpoint', 'phase'] as const,
    registers: [this.registry],
  });
  private readonly cooldown = new Gauge({
    name: 'relay_endpoint_cooldown_seconds',
    help: 'Remaining cooldown per endpoint and scope (token, endpoint, channel); absent when none',
    labelNames: ['endpoint', 'scope'] as const,
    registers: [this.registry],
  });
  private readonly breakersOpen = new Gauge({ name: 'relay_breakers_open', help: 'Endpoints whose breaker is open or half-open', registers: [this.registry] });
  private readonly cooldownsActive = new Gauge({ name: 'relay_cooldowns_active', help: 'Endpoints in any cooldown now', registers: [this.registry] });
  private readonly ledgerRequests = new Gauge({ name: 'relay_ledger_requests', help: 'Settled requests in the ledger by key', labelNames: ['key'] as const, registers: [this.registry] });
  private readonly ledgerCost = new Gauge({ name: 'relay_ledger_cost_dollars', help: 'Charged cost in the ledger by key', labelNames: ['key'] as const, registers: [this.registry] });
  private readonly ledgerTokens = new Gauge({ name: 'relay_ledger_tokens', help: 'Billed tokens in the ledger by key and kind', labelNames: ['key', 'kind'] as const, registers: [this.registry] });
  private readonly ledgerBalance = new Gauge({ name: 'relay_ledger_balance_dollars', help: 'Balance by key', labelNames: ['key'] as const, registers: [this.registry] });
  private readonly ledgerPending = new Gauge({ name: 'relay_ledger_pending_reservations', help: 'Pre-charges not yet settled', registers: [this.registry] });
  private readonly scrapeErrors = new Counter({ name: 'relay_metrics_source_errors_total', help: 'Scrape-time reads that failed', labelNames: ['source'] as const, registers: [this.registry] });

  /** Where scrape-time gauges read from; set once the relay's parts exist. */
  bind(sources: MetricsSources): void {
    this.sources = sources;
  }

  /** One finished client request. Synchronous and allocation-light: it runs on the hot path. */
  observe(e: RequestLogEntry): void {
    const path = this.pathLabel(e.path);
    this.requests.inc([e.protocol, path, String(e.status), e.outcome]);
    this.requestDuration.observe([e.protocol, e.stream ? 'true' : 'false'], e.latencyMs / 1000);
    if (e.ttfbMs !== undefined) this.ttfb.observe([e.protocol], e.ttfbMs / 1000);
    const attempts = e.attempts;
    for (let i = 0; i < attempts.length; i++) {
      const a = attempts[i];
      const ok = !a.errorClass && a.status !== undefined && a.status < 400;
      this.attempts.inc([a.endpoint, a.channel, a.status === undefined ? 'none' : String(a.status), ok ? 'ok' : (a.errorClass ?? 'error')]);
      this.attemptDuration.observe([a.endpoint], a.durationMs / 1000);
      if (a.cooldownSetMs && a.cooldownScope) this.cooldownsSet.inc({ endpoint: a.endpoint, scope: a.cooldownScope });
      if (i > 0) {
        const prev = attempts[i - 1];
        if (prev.endpoint !== a.endpoint || prev.channel !== a.channel) {
          this.failovers.inc({ from_endpoint: prev.endpoint, to_endpoint: a.endpoint, cross_channel: prev.channel === a.channel ? 'false' : 'true' });
        }
      }
    }
    const u = e.usage;
    if (u) {
      if (u.inputTokens) this.tokens.inc([e.protocol, 'input'], u.inputTokens);
      if (u.outputTokens) this.tokens.inc([e.protocol, 'output'], u.outputTokens);
      if (u.cacheReadTokens) this.tokens.inc([e.protocol, 'cache_read'], u.cacheReadTokens);
      if (u.cacheWriteTokens) this.tokens.inc([e.protocol, 'cache_write'], u.cacheWriteTokens);
    }
  }

  /** The exposition text, with scrape-time gauges refreshed first. */
  async text(): Promise<string> {
    await this.refresh();
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private pathLabel(path: string): string {
    if (this.paths.has(path)) return path;
    if (this.paths.size >= MAX_PATH_LABELS) return 'other';
    this.paths.add(path);
    return path;
  }

  private async refresh(): Promise<void> {
    const s = this.sources;
    if (!s) return;
    const flight = s.inFlight?.();
    if (flight) {
      this.inFlightRequests.set(flight.requests);
      this.activeStreams.set(flight.streams);
    }
    await Promise.all([this.refreshEndpoints(s).catch(() => this.scrapeErrors.inc({ source: 'live_state' })), this.refreshLedger(s).catch(() => this.scrapeErrors.inc({ source: 'ledger' }))]);
  }

  private async refreshEndpoints(s: MetricsSources): Promise<void> {
    const eps = s.endpoints();
    const now = s.clock.now();
    const states = eps.length ? await s.live.readEndpoints(eps.map((e) => ({ endpoint: e.name, channel: e.channel, tokenId: e.tokenId })), now) : [];
    const channelOf = new Map(eps.map((e) => [e.name, e.channel]));
    this.health.reset();
    this.breaker.reset();
    this.cooldown.reset();
    let open = 0;
    let cooling = 0;
    for (const st of states) {
      this.health.set({ endpoint: st.endpoint, channel: channelOf.get(st.endpoint) ?? '', status: st.health.status }, 1);
      this.breaker.set({ endpoint: st.endpoint, phase: st.breaker.phase }, 1);
      if (st.breaker.phase !== 'closed') open++;
      let any = false;
      for (const [scope, cd] of [['token', st.tokenCooldown], ['endpoint', st.endpointCooldown], ['channel', st.channelCooldown]] as const) {
        if (cd && cd.until > now) {
          this.cooldown.set({ endpoint: st.endpoint, scope }, (cd.until - now) / 1000);
          any = true;
        }
      }
      if (any) cooling++;
    }
    this.breakersOpen.set(open);
    this.cooldownsActive.set(cooling);
  }

  private async refreshLedger(s: MetricsSources): Promise<void> {
    if (!s.ledger) return;
    const [byKey, pending, balances] = await Promise.all([s.ledger.store.totalsByKey(), s.ledger.store.pendingCount(), s.ledger.store.balances()]);
    this.ledgerRequests.reset();
    this.ledgerCost.reset();
    this.ledgerTokens.reset();
    this.ledgerBalance.reset();
    for (const [key, t] of Object.entries(byKey)) {
      this.ledgerRequests.set({ key }, t.requests);
      this.ledgerCost.set({ key }, t.cost / MICROS_PER_DOLLAR);
      this.ledgerTokens.set({ key, kind: 'input' }, t.inputTokens);
      this.ledgerTokens.set({ key, kind: 'output' }, t.outputTokens);
      this.ledgerTokens.set({ key, kind: 'cache_read' }, t.cacheReadTokens);
      this.ledgerTokens.set({ key, kind: 'cache_write' }, t.cacheWriteTokens);
    }
    for (const b of balances) this.ledgerBalance.set({ key: b.keyName }, b.balance / MICROS_PER_DOLLAR);
    this.ledgerPending.set(pending);
  }
}
