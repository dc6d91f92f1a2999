/**
 * Runs one scenario: starts its mock upstreams, opens the target through an adapter (by default
 * the reference relay in process on a TestClock), plays the steps, checks each step's
 * expectations and the invariants, and returns a result with every token masked.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { SingleBar, Presets } from 'cli-progress';
import { maskToken } from '../../lib/mask.js';
import { parseDuration } from '../../lib/duration.js';
import { startMocks, type MockFleet } from '../../mocks/index.js';
import type { JournalEntry } from '../../mocks/journal.js';
import { ROUTE_PREFIX } from '../../mocks/server.js';
import type { UpstreamConfig } from '../../mocks/config.js';
import { sendAll, type ClientResult } from './clients.js';
import { clientPatience } from './patience.js';
import { evaluate, expectationsByLevel, attemptLabel, skipChecks, type Check, type StepObservation } from './expect.js';
import { checkInvariants } from './invariants.js';
import { billingChecks } from './billing.js';
import { playedAs, skipDialectChecks, type PlayedAs } from './played-protocol.js';
import { blackBoxLayout, isPolicyWait, parsePolicy, resolvePolicyWait, timeScale } from './policy-time.js';
import { LEVELS, PLAY_CAPABILITIES, policyWaits, requiredTranslations, resolveLayout, translationLabel, type BillingExpectation, type Capability, type ClientProtocol, type Expectation, type Level, type Scenario, type ScenarioEndpoint, type ScenarioLayout, type Step } from './schema.js';
import { capabilitySet, type AdapterCapabilities, type AdapterContext, type Layout, type RelayAdapter, type RelayAttempt, type RelayRecord } from '../adapters/api.js';
import { applyToReference, portableChange, portableLayout, type ResolvedChange, type RunningUpstream } from './portable-layout.js';
import type { LevelVerdict, RequestView, ScenarioResult, StepResult, UpstreamHit } from './result.js';

export type { RequestView, ScenarioResult, StepResult, UpstreamHit, Verdict } from './result.js';

export interface RunOptions {
  adapter: RelayAdapter;
  file: string;
  /** The relay's URL (--target); an adapter that starts its relay returns it from configure. */
  target?: string;
  seed?: number;
  /** Use this client key for every request that names none (a relay configured by hand with its own key). */
  clientKey?: string;
  /** The relay's own client keys by the scenario's key names (`--key alice=sk-...`); win over the adapter's. */
  keys?: Record<string, string>;
  log?: (line: string) => void;
  /** Show a progress bar for steps with many requests. */
  progress?: boolean;
  /** On a target without a virtual clock, `advance` waits in real time up to this long (default 30 s); a longer one is skipped. */
  maxRealWaitMs?: number;
}

const DEFAULT_MAX_REAL_WAIT_MS = 30_000;

/** The translations a scenario needs that a target does not declare in `translates`. */
export function missingTranslations(s: Scenario, caps: AdapterCapabilities): string[] {
  return requiredTranslations(s)
    .filter((t) => !caps.translates?.[t.from]?.includes(t.to))
    .map(translationLabel);
}

/** Capabilities a scenario needs: declared ones plus those its steps imply. */
export function requiredCapabilities(s: Scenario): Set<Capability> {
  const caps = new Set<Capability>(s.requires);
  if (s.relay.strategy === 'fastest') caps.add('fastest');
  for (const step of s.steps) {
    if (step.advance !== undefined || step.request?.advance_during) caps.add('clock');
    if (step.health_check) caps.add('health');
    const c = step.relay_change;
    if (c?.restart) caps.add('restart');
    if (c?.pause || c?.resume) caps.add('pause');
    if (c?.token || c?.update_endpoint || c?.remove_endpoint || c?.update_channel || c?.layout) caps.add('admin_tokens');
    // Expectations on the relay's own records are skipped (shown as such) on a target that cannot
    // show them; the client and journal checks of the same step still run.
    if (step.expect?.health) caps.add('health');
    if (step.expect?.billing) caps.add('billing');
  }
  return caps;
}

function stepAction(step: Step): string {
  if (step.request) {
    const r = step.request;
    return `${r.background ? `start ${r.background}: ` : ''}request ${r.protocol}${r.stream ? ' stream' : ''}${r.path ? ` ${r.path}` : ''}${r.count > 1 ? ` ×${r.count}` : ''}${r.concurrency > 1 ? ` (${r.concurrency} at once)` : ''}`;
  }
  if (step.advance !== undefined) return `advance clock ${isPolicyWait(step.advance) ? step.advance.text : formatMs(step.advance)}`;
  if (step.wait !== undefined) return `wait ${formatMs(step.wait)}`;
  if (step.faults) {
    const f = step.faults;
    return `faults ${f.upstream ?? 'all'}: ${f.set ? `set ${f.set.length} rule(s)` : f.add ? `add ${f.add.length} rule(s)` : f.tokens ? 'tokens changed' : 'clear'}`;
  }
  if (step.relay_change) return `relay change: ${Object.keys(step.relay_change).join(', ')}`;
  if (step.health_check) return 'health check round';
  if (step.join) return `join ${step.join}`;
  return 'step';
}

function formatMs(ms: number): string {
  const units: Array<[number, string]> = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'm'],
    [1000, 's'],
  ];
  for (const [u, n] of units) if (ms >= u && ms % u === 0) return `${ms / u}${n}`;
  return `${ms}ms`;
}

/** Replaces every occurrence of a secret in strings of a JSON-able value with its masked form. */
export function redact<T>(value: T, secrets: string[]): T {
  const list = [...new Set(secrets.filter((s) => s.length >= 4))].sort((a, b) => b.length - a.length);
  if (list.length === 0) return value;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      let out = v;
      for (const s of list) if (out.includes(s)) out = out.split(s).join(maskToken(s));
      return out;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [walk(k) as string, walk(x)]));
    return v;
  };
  return walk(value) as T;
}

interface Ctx {
  scenario: Scenario;
  adapter: RelayAdapter;
  /** What the adapter declared, narrowed by what configure found. */
  caps: Set<Capability>;
  inbound: Set<ClientProtocol>;
  translates: AdapterCapabilities['translates'];
  /** How the target takes client keys (adapters/api.ts `keys`). */
  keyMode: AdapterCapabilities['keys'];
  maxRealWaitMs: number;
  /**
   * What the policy durations of the layouts this target gets are multiplied by: 1 on a virtual
   * clock, less on a target without one so policy waits take seconds of real time (policy-time.ts).
   */
  timeScale: number;
  /** Background requests the target could not play: name -> why. */
  skippedFlights: Map<string, string>;
  actx: AdapterContext;
  relayUrl: string;
  baseUrls: Partial<Record<ClientProtocol, string>>;
  /** The relay layout as it stands (as the target got it: scaled by timeScale): the reference relay's terms, and the portable one adapters get. */
  reference: ScenarioLayout;
  layout: Layout;
  upstreams: RunningUpstream[];
  /** Upstreams whose endpoints get routes of their own (sharedUpstreams). */
  shared: Set<string>;
  fleet: MockFleet;
  keys: Map<string, string>;
  initialKeys: NonNullable<ScenarioLayout['keys']>;
  defaultKey: string | undefined;
  endpoints: Map<string, { upstream: string; tokens: Set<string> }>;
  upstreamTokens: Map<string, Set<string>>;
  secrets: string[];
  results: ClientResult[];
  /** The relay's attempt chain of each client request, by request id (targets with records). */
  attempts: Map<string, RelayAttempt[]>;
  /** Background requests by name, until joined. */
  flights: Map<string, Flight>;
  lastSeq: number;
  log: (line: string) => void;
  progress: boolean;
}

async function journalAfter(fleet: MockFleet, seq: number): Promise<JournalEntry[]> {
  return fleet.journal.list({ afterSeq: seq }).sort((a, b) => a.seq - b.seq);
}

/**
 * The highest journal sequence number handed out. The mock reserves it when a request arrives and
 * lists the entry when the response is finished, so the difference is what is still in flight.
 * (Journal keeps it in a private field; read it structurally until it has a public getter.)
 */
function reservedSeq(fleet: MockFleet): number | undefined {
  const j = fleet.journal as unknown as { lastSeq?: number; seq?: number };
  const v = j.lastSeq ?? j.seq;
  return typeof v === 'number' ? v : undefined;
}

/**
 * The journal entries after `seq`, once every request that reached a mock so far is finished
 * (a request the relay abandoned lands a moment after the client is done), bounded by maxWaitMs.
 * `quietMs`: also wait until no new request arrived for that long (work the relay starts on its
 * own after a clock advance, such as a health round, reaches the mocks a moment later).
 */
async function settledJournal(fleet: MockFleet, seq: number, quietMs = 0, maxWaitMs = 3000): Promise<JournalEntry[]> {
  const started = performance.now();
  const deadline = started + maxWaitMs;
  let lastReserved = reservedSeq(fleet);
  let lastChange = started;
  for (let i = 0; ; i++) {
    const entries = await journalAfter(fleet, seq);
    const reserved = reservedSeq(fleet);
    const now = performance.now();
    if (reserved !== lastReserved) {
      lastReserved = reserved;
      lastChange = now;
    }
    const finished = reserved === undefined ? i >= 2 : entries.length >= reserved - seq;
    if ((finished && now - lastChange >= quietMs) || now > deadline) return entries;
    await sleep(i < 5 ? 5 : 20);
  }
}

function hit(j: JournalEntry): UpstreamHit {
  return {
    seq: j.seq,
    upstream: j.upstream,
    method: j.method,
    path: j.path,
    ...(j.route === undefined ? {} : { route: j.route }),
    status: j.status,
    token: maskToken(j.credential),
    disconnect: j.disconnect,
    clientAborted: j.clientAborted,
    durationMs: j.durationMs,
  };
}

function requestIdOf(j: JournalEntry): string | undefined {
  const v = j.headers['x-request-id'];
  return Array.isArray(v) ? v[0] : v;
}

/** The relay's records of these results; the log is written asynchronously, so poll briefly. */
async function recordsFor(ctx: Ctx, results: ClientResult[]): Promise<Array<RelayRecord | undefined>> {
  const read = ctx.adapter.readRecords?.bind(ctx.adapter);
  if (!ctx.caps.has('relay_records') || !read) return results.map(() => undefined);
  const wanted = results.map((r) => r.requestId);
  let byId = new Map<string, RelayRecord>();
  // The reference relay flushes its log before answering; a few retries cover relays that do not.
  // Some requests are never logged (GET /v1/models, HEAD /), so do not wait long for them.
  for (let i = 0; i < 5; i++) {
    const log = await read(Math.max(100, results.length + 50)).catch(() => []);
    byId = new Map(log.map((e) => [e.requestId, e]));
    if (wanted.every((id) => !id || byId.has(id))) break;
    await sleep(25);
  }
  return wanted.map((id) => (id ? byId.get(id) : undefined));
}

/** How long a clock move waits for the upstream call it is meant to time out. */
const ARRIVAL_WAIT_MS = 5000;

/**
 * Moves virtual time on schedule while `pending` runs; stops early once it has settled. Each move
 * waits its real-time `after` AND for a new upstream request since the previous move (the relay
 * arms its timers before it calls an upstream), so on a loaded machine a move cannot land before
 * the timer it is meant to fire.
 */
async function advanceWhile(ctx: Ctx, plan: Array<{ after: number; by: number }>, pending: Promise<unknown>): Promise<void> {
  let settled = false;
  const done = pending.then(
    () => (settled = true),
    () => (settled = true),
  );
  let seen = reservedSeq(ctx.fleet) ?? 0;
  for (const { after, by } of plan) {
    const giveUpAt = performance.now() + Math.max(after, ARRIVAL_WAIT_MS);
    await Promise.race([sleep(after), done]);
    while (!settled && (reservedSeq(ctx.fleet) ?? Infinity) <= seen && performance.now() < giveUpAt) await Promise.race([sleep(10), done]);
    if (settled) return;
    seen = reservedSeq(ctx.fleet) ?? seen;
    await advanceClock(ctx, by);
  }
}

function blindness(ctx: Ctx): StepObservation['blind'] {
  return { records: !ctx.caps.has('relay_records'), state: !ctx.caps.has('relay_state') };
}

async function advanceClock(ctx: Ctx, ms: number): Promise<void> {
  if (!ctx.adapter.advance) throw new Error(`the ${ctx.adapter.name} adapter has no virtual clock`);
  await ctx.adapter.advance(ms);
}

function relayState(ctx: Ctx, wanted: unknown) {
  return wanted && ctx.caps.has('relay_state') ? ctx.adapter.state?.() : undefined;
}

function relayStats(ctx: Ctx, wanted: unknown) {
  return wanted && ctx.caps.has('relay_state') ? ctx.adapter.stats?.() : undefined;
}

/** Where requests of a protocol go: its own base URL (a relay serving under /api) or the relay's. */
function baseUrlFor(ctx: Ctx, protocol: ClientProtocol): string {
  return ctx.baseUrls[protocol] ?? ctx.relayUrl;
}

function resolveKey(ctx: Ctx, key: string | undefined): string | undefined {
  if (key === 'none') return undefined;
  if (key === undefined) return ctx.defaultKey;
  return ctx.keys.get(key) ?? key;
}

interface Flight {
  step: Step;
  index: number;
  startSeq: number;
  /** Set when the requests went out in another protocol than written (played-protocol.ts). */
  played?: PlayedAs;
  done: Promise<ClientResult[]>;
}

/** How this target plays a request written in a protocol it does not accept (undefined: as written, or not at all). */
function playedOn(ctx: Ctx, spec: NonNullable<Step['request']>): PlayedAs | undefined {
  return playedAs(spec, { inbound: ctx.inbound, translates: ctx.translates }, ctx.layout.channels.flatMap((c) => c.endpoints.map((e) => e.kind)));
}

function startRequests(ctx: Ctx, step: Step, index: number): Flight {
  const played = playedOn(ctx, step.request!);
  const model = played && ctx.adapter.playedModel?.(played.sent, played.kinds);
  const written = step.request!;
  // A background flight is checked by a later step: only its own timeout, or the default, bounds it.
  const timeout = clientPatience(written.timeout, written.background ? undefined : step.expect);
  const spec = { ...written, timeout, ...(played ? { protocol: played.sent, ...(model ? { model } : {}) } : {}) };
  const key = resolveKey(ctx, spec.key);
  let bar: SingleBar | undefined;
  if (ctx.progress && spec.count >= 50 && !spec.background) {
    bar = new SingleBar({ format: '    {bar} {value}/{total} requests', hideCursor: true, clearOnComplete: true }, Presets.shades_classic);
    bar.start(spec.count, 0);
  }
  const sending = sendAll({
    baseUrl: baseUrlFor(ctx, spec.protocol),
    spec,
    key,
    tag: `${ctx.scenario.seed}-${index + 1}`,
    relayHeaders: ctx.adapter.requestHeaders ? () => ctx.adapter.requestHeaders!(spec.protocol) : undefined,
    onDone: () => bar?.increment(),
  });
  // Without a virtual clock the relay's own timers run in real time while the requests wait.
  const done = Promise.all([sending, spec.advance_during && ctx.caps.has('clock') ? advanceWhile(ctx, spec.advance_during, sending) : undefined])
    .then(([results]) => results)
    .finally(() => bar?.stop());
  return { step, index, startSeq: ctx.lastSeq, done, ...(played ? { played } : {}) };
}

/** Waits for a flight of requests and checks them against the expectations of `expectStep`. */
async function finishRequests(ctx: Ctx, flight: Flight, expectStep: Step): Promise<Omit<StepResult, 'index' | 'name' | 'action' | 'status' | 'durationMs'>> {
  const results = await flight.done;
  ctx.results.push(...results);
  const journal = await settledJournal(ctx.fleet, flight.startSeq);
  ctx.lastSeq = Math.max(ctx.lastSeq, ...journal.map((j) => j.seq));
  // Upstream calls that carry a request id of something else (a health probe) are not this step's.
  const ids = new Set(results.map((r) => r.requestId).filter((x): x is string => !!x));
  const everyHasId = results.every((r) => r.requestId);
  const mine = journal.filter((j) => {
    const id = requestIdOf(j);
    return !everyHasId || !id || ids.has(id);
  });
  const records = await recordsFor(ctx, results);
  results.forEach((r, i) => {
    const rec = records[i];
    if (r.requestId && rec) ctx.attempts.set(r.requestId, rec.attempts);
  });
  const state = await relayState(ctx, expectStep.expect?.state);
  const stats = await relayStats(ctx, expectStep.expect?.stats);
  const obs: StepObservation = { results, journal: mine, records, state, stats, endpoints: ctx.endpoints, blind: blindness(ctx) };
  const requests: RequestView[] = results.map((r, i) => ({
    ...r,
    attempts: records[i]?.attempts,
    upstreamHits: r.requestId ? journal.filter((j) => requestIdOf(j) === r.requestId).map(hit) : [],
  }));
  const evaluated = [...evaluate(expectStep.expect, obs, ctx.scenario.level), ...(await billingChecksOf(ctx, expectStep.expect))];
  const checks = flight.played ? skipDialectChecks(evaluated, flight.played) : evaluated;
  return { checks, requests, upstreamHits: journal.map(hit) };
}

/** The step's billing expectations by level; skipped, with the reason, on a target without a ledger. */
async function billingChecksOf(ctx: Ctx, expect: Expectation | undefined): Promise<Check[]> {
  const out: Check[] = [];
  for (const b of expectationsByLevel(expect, ctx.scenario.level)) {
    if (!b.expect.billing) continue;
    if (!ctx.caps.has('billing')) {
      out.push({ name: 'billing', level: b.level, pass: true, skipped: true, reason: 'the target does not show its ledger', expected: b.expect.billing, actual: '(not visible on this target)' });
    } else {
      const checks = await stepBillingChecks(ctx, b.expect.billing);
      out.push(...checks.map((c) => ({ ...c, level: b.level, ...(c.skipped && !c.reason ? { reason: 'the target shows no ledger' } : {}) })));
    }
  }
  return out;
}

/** Why the target cannot play this step (it is then skipped with its checks), or undefined. */
function cannotPlay(ctx: Ctx, step: Step): string | undefined {
  const protocol = step.request?.protocol;
  if (protocol && !ctx.inbound.has(protocol) && !playedOn(ctx, step.request!)) return `the target does not accept ${protocol} requests${ctx.translates && Object.keys(ctx.translates).length ? ', nor translates another protocol to its upstreams' : ''}`;
  if (step.join && ctx.skippedFlights.has(step.join)) return ctx.skippedFlights.get(step.join);
  // A relay without client keys has none to refuse: an unknown key or none at all is every other request to it.
  if (ctx.keyMode === 'none' && step.request && sendsNoKnownKey(ctx, step.request) && expectsKeyRefusal(step))
    return `the target takes no client keys (keys: none), so it has no key to refuse ${step.request.key === 'none' ? 'a request without one' : 'this one'} for`;
  if (step.health_check && !(ctx.caps.has('health') && ctx.adapter.healthCheck)) return 'the target cannot run a health probe round on demand';
  if (step.relay_change?.restart && !ctx.caps.has('restart')) return 'the target\u2019s adapter cannot restart it';
  if (step.advance !== undefined && !ctx.caps.has('clock') && advanceMs(ctx, step) > ctx.maxRealWaitMs)
    return `no virtual clock, and ${formatMs(advanceMs(ctx, step))} is longer than the real-time bound (${formatMs(ctx.maxRealWaitMs)})`;
  return undefined;
}

/**
 * Whether a request carries none of the layout's keys: `key: none` with no credential header of
 * its own, or a literal key that is not one (`key: none` with the key written into its headers,
 * as Claude Code sends it, carries one).
 */
function sendsNoKnownKey(ctx: Pick<Ctx, 'keys'>, spec: NonNullable<Step['request']>): boolean {
  if (spec.key === undefined) return false;
  if (spec.key !== 'none') return !ctx.keys.has(spec.key);
  const known = [...ctx.keys.values()];
  const credentials = Object.entries(spec.headers).filter(([h]) => ['authorization', 'x-api-key', 'api-key'].includes(h.toLowerCase()));
  return !credentials.some(([, v]) => known.some((k) => v.includes(k)));
}

/** Whether a step expects its requests refused for their key (401 or 403 at any level). */
function expectsKeyRefusal(step: Step): boolean {
  const e = step.expect;
  const statuses = [e?.status, e?.protocol?.status, e?.resilience?.status, e?.reference?.status].flatMap((x) => (x === undefined ? [] : Array.isArray(x) ? x : [x]));
  return statuses.some((x) => x === 401 || x === 403);
}

/** How far an `advance` step moves: its duration, or its policy duration under the layout the target has now. */
function advanceMs(ctx: Pick<Ctx, 'reference'>, step: Step): number {
  const a = step.advance!;
  return isPolicyWait(a) ? resolvePolicyWait(a, parsePolicy(ctx.reference)) : a;
}

/** The layout as this target gets it (policy durations shortened on a target without a virtual clock). */
function forTarget(ctx: Pick<Ctx, 'timeScale'>, layout: ScenarioLayout): ScenarioLayout {
  return blackBoxLayout(layout, ctx.timeScale);
}

/** A step the target cannot play: its checks are listed as skipped with the reason. */
function skippedStep(ctx: Ctx, step: Step, reason: string): Omit<StepResult, 'index' | 'name' | 'action' | 'durationMs'> {
  const blank: StepObservation = { results: [], journal: [], records: [], endpoints: ctx.endpoints };
  const billing: Check[] = expectationsByLevel(step.expect, ctx.scenario.level)
    .filter((b) => b.expect.billing)
    .map((b) => ({ name: 'billing', level: b.level, pass: true, expected: b.expect.billing }));
  return { status: 'skipped', reason, checks: skipChecks([...evaluate(step.expect, blank, ctx.scenario.level), ...billing], reason), requests: [], upstreamHits: [] };
}

function stepStatus(checks: Check[]): StepResult['status'] {
  if (checks.some((c) => !c.pass && !c.skipped)) return 'fail';
  return checks.length > 0 && checks.every((c) => c.skipped) ? 'skipped' : 'pass';
}

/** Billing expectations compare the relay's ledger with the whole run's journal (engine/billing.ts). */
function stepBillingChecks(ctx: Ctx, expectation: BillingExpectation) {
  return billingChecks(expectation, {
    read: async () => ctx.adapter.billing?.(),
    journal: ctx.fleet.journal.list(),
    billingConfig: (ctx.scenario.relay as { billing?: unknown }).billing,
  });
}

/**
 * Upstreams that more than one endpoint points at, in any layout of the scenario. Each such
 * endpoint gets a base URL of its own (`<mock>/_r/<endpoint>`, mocks/server.ts), so the journal
 * alone proves which endpoint a request was sent for, on any relay, records or not.
 */
export function sharedUpstreams(s: Scenario): Set<string> {
  const users = new Map<string, Set<string>>();
  const use = (upstream: unknown, endpoint: string) => {
    if (typeof upstream !== 'string') return;
    if (!users.has(upstream)) users.set(upstream, new Set());
    users.get(upstream)!.add(endpoint);
  };
  const layouts = [s.relay, ...s.steps.map((st) => st.relay_change?.layout).filter((l): l is ScenarioLayout => !!l)];
  for (const l of layouts) for (const c of l.channels ?? []) for (const e of c.endpoints ?? []) use(e.upstream, e.name);
  for (const st of s.steps) if (st.relay_change?.update_endpoint) use(st.relay_change.update_endpoint.upstream, st.relay_change.update_endpoint.name);
  return new Set([...users].filter(([, eps]) => eps.size > 1).map(([u]) => u));
}

function endpointUrl(ctx: Pick<Ctx, 'fleet' | 'shared'>, upstream: string, endpoint: string): string {
  const mock = ctx.fleet.get(upstream);
  if (!ctx.shared.has(upstream)) return mock.url;
  const routed = `${mock.url}${ROUTE_PREFIX}${encodeURIComponent(endpoint)}`;
  // A ChatGPT backend's base URL with a path is the Codex backend itself (…/backend-api/codex), as in Codex's own config.
  return mock.kind === 'chatgpt-oauth' ? `${routed}/backend-api/codex` : routed;
}

function resolveChange(ctx: Ctx, step: Step): ResolvedChange {
  const c = step.relay_change!;
  const urlOf = (upstream: string, endpoint: string) => endpointUrl(ctx, upstream, endpoint);
  if (c.token) {
    const ep = ctx.endpoints.get(c.token.endpoint);
    ep?.tokens.add(c.token.value);
    if (ep) ctx.upstreamTokens.get(ep.upstream)?.add(c.token.value);
    ctx.secrets.push(c.token.value);
    return { kind: 'token', endpoint: c.token.endpoint, value: c.token.value };
  }
  if (c.pause) return { kind: 'pause', channel: c.pause };
  if (c.resume) return { kind: 'resume', channel: c.resume };
  if (c.update_endpoint) {
    const { name, upstream, ...patch } = c.update_endpoint as { name: string; upstream?: string; [k: string]: unknown };
    const ep = ctx.endpoints.get(name);
    if (typeof upstream === 'string') {
      patch.base_url = urlOf(upstream, name);
      if (ep) ep.upstream = upstream;
    }
    if (ep && typeof patch.token === 'string') {
      ep.tokens.add(patch.token);
      ctx.secrets.push(patch.token);
    }
    if (ep) for (const t of ep.tokens) tokensOf(ctx.upstreamTokens, ep.upstream).add(t);
    return { kind: 'update_endpoint', endpoint: name, patch };
  }
  if (c.remove_endpoint) return { kind: 'remove_endpoint', endpoint: c.remove_endpoint };
  if (c.update_channel) {
    const { name, ...patch } = c.update_channel;
    return { kind: 'update_channel', channel: name, patch };
  }
  if (c.layout) {
    // A layout without keys keeps the scenario's keys: clients keep working across the change.
    const given = c.layout.keys?.length ? c.layout : { ...c.layout, keys: ctx.initialKeys };
    const layout = resolveLayout(given, urlOf, (e) => String(e.token)) as ScenarioLayout;
    learnLayout(ctx, given);
    return { kind: 'layout', layout };
  }
  return { kind: 'restart' };
}

/** Hands a change to the adapter in portable terms, with the whole layout after it. */
async function applyChange(ctx: Ctx, change: ResolvedChange): Promise<void> {
  // A whole new layout is scaled like the first one; patches apply to the (scaled) layout in force.
  const reference = applyToReference(ctx.reference, change.kind === 'layout' ? { ...change, layout: forTarget(ctx, change.layout) } : change);
  const layout = portableLayout(ctx.scenario.name, reference, ctx.upstreams);
  await ctx.adapter.apply(portableChange(change, ctx.layout, layout), ctx.actx);
  ctx.reference = reference;
  ctx.layout = layout;
}

function tokensOf(map: Map<string, Set<string>>, upstream: string): Set<string> {
  let s = map.get(upstream);
  if (!s) map.set(upstream, (s = new Set()));
  return s;
}

function learnLayout(ctx: Ctx, layout: ScenarioLayout, tokenOf: (e: ScenarioEndpoint) => string = (e) => String(e.token)): void {
  for (const c of layout.channels ?? []) {
    for (const e of c.endpoints ?? []) {
      if (!e.upstream) continue;
      const token = tokenOf(e);
      const known = ctx.endpoints.get(e.name);
      if (known) {
        known.upstream = e.upstream;
        known.tokens.add(token);
      } else ctx.endpoints.set(e.name, { upstream: e.upstream, tokens: new Set([token]) });
      tokensOf(ctx.upstreamTokens, e.upstream).add(token);
      ctx.secrets.push(token);
    }
  }
  for (const k of layout.keys ?? []) {
    ctx.keys.set(k.name, k.key);
    ctx.secrets.push(k.key);
  }
}

async function runStep(ctx: Ctx, step: Step, index: number): Promise<StepResult> {
  const started = performance.now();
  const realTime = step.advance !== undefined && !ctx.caps.has('clock');
  const action = actionText(ctx, step, realTime);
  const base = { index, name: step.name ?? action, action };
  const why = cannotPlay(ctx, step);
  if (why) {
    if (step.request?.background) ctx.skippedFlights.set(step.request.background, why);
    return { ...base, ...skippedStep(ctx, step, why), durationMs: 0 };
  }
  try {
    let out: Omit<StepResult, 'index' | 'name' | 'action' | 'status' | 'durationMs'> = { checks: [], requests: [], upstreamHits: [] };
    let health: unknown;
    if (step.request?.background) {
      ctx.flights.set(step.request.background, startRequests(ctx, step, index));
    } else if (step.request) out = await finishRequests(ctx, startRequests(ctx, step, index), step);
    else if (step.join) {
      const flight = ctx.flights.get(step.join);
      if (!flight) throw new Error(`no background requests named ${step.join}`);
      ctx.flights.delete(step.join);
      out = await finishRequests(ctx, flight, step);
    } else {
      if (step.advance !== undefined) await (realTime ? sleep(advanceMs(ctx, step)) : advanceClock(ctx, advanceMs(ctx, step)));
      else if (step.wait !== undefined) await sleep(step.wait);
      else if (step.faults) {
        const f = step.faults;
        const control = ctx.fleet.control;
        if (f.clear) await control.clearRules(f.upstream);
        if (f.set) await control.setRules(f.upstream!, f.set);
        if (f.add) for (const r of f.add) await control.addRule(f.upstream!, r);
        if (f.tokens) {
          await control.setTokens(f.upstream!, f.tokens);
          ctx.secrets.push(...f.tokens);
        }
      } else if (step.relay_change) await applyChange(ctx, resolveChange(ctx, step));
      else if (step.health_check) {
        if (!ctx.adapter.healthCheck) throw new Error(`the ${ctx.adapter.name} adapter cannot run health checks`);
        health = await ctx.adapter.healthCheck();
      }
      // Under a background load the journal never goes quiet; the join step reads it instead.
      const journal = ctx.flights.size > 0 ? [] : await settledJournal(ctx.fleet, ctx.lastSeq, step.advance !== undefined || step.relay_change ? 60 : 0);
      ctx.lastSeq = Math.max(ctx.lastSeq, ...journal.map((j) => j.seq));
      const state = await relayState(ctx, step.expect?.state);
      out = {
        checks: evaluate(step.expect, {
          results: [],
          journal,
          records: [],
          state,
          stats: await relayStats(ctx, step.expect?.stats),
          health,
          endpoints: ctx.endpoints,
          blind: blindness(ctx),
        }, ctx.scenario.level),
        requests: [],
        upstreamHits: journal.map(hit),
      };
      out.checks.push(...(await billingChecksOf(ctx, step.expect)));
    }
    const status = stepStatus(out.checks);
    return { ...base, ...out, status, ...(status === 'skipped' ? { reason: [...new Set(out.checks.map((c) => c.reason))].join('; ') } : {}), durationMs: performance.now() - started };
  } catch (err) {
    return { ...base, status: 'error', checks: [], requests: [], upstreamHits: [], error: (err as Error).message, durationMs: performance.now() - started };
  }
}

/** The step's action in words: an `advance` says how far it moved and how, a request the protocol it went out in, on this target. */
function actionText(ctx: Ctx, step: Step, realTime: boolean): string {
  const played = step.request && playedOn(ctx, step.request);
  if (played) return `${stepAction(step)}, sent as ${played.sent} (the target translates it to ${played.kinds.join(', ')})`;
  if (step.advance === undefined) return stepAction(step);
  const ms = formatMs(advanceMs(ctx, step));
  const policy = isPolicyWait(step.advance) ? `${step.advance.text} = ` : '';
  const scaled = isPolicyWait(step.advance) && ctx.timeScale < 1 ? `, durations ×${ctx.timeScale.toPrecision(2)} for a target without a virtual clock` : '';
  return realTime ? `wait ${policy}${ms} in real time (no virtual clock${scaled})` : `advance clock ${policy}${ms}`;
}

function printStep(log: (s: string) => void, s: StepResult): void {
  const mark = { pass: '✓', fail: '✗', error: '!', skipped: '–' }[s.status];
  const chains = [...new Set(s.requests.filter((r) => r.attempts?.length).map((r) => r.attempts!.map(attemptLabel).join(' → ')))];
  const chainText = chains.length ? `  [${chains.slice(0, 3).join(' | ')}${chains.length > 3 ? ' …' : ''}]` : '';
  const title = s.name === s.action ? s.name : `${s.name} (${s.action})`;
  log(`  ${mark} ${String(s.index + 1).padStart(2)}. ${title}${chainText}  ${Math.round(s.durationMs)}ms`);
  if (s.error) log(`       error: ${s.error}`);
  const skipped = s.checks.filter((c) => c.skipped);
  for (const reason of new Set(skipped.map((c) => c.reason ?? 'skipped'))) log(`       – ${skipped.filter((c) => (c.reason ?? 'skipped') === reason).length} check(s) skipped: ${reason}`);
  if (s.status === 'skipped' && skipped.length === 0 && s.reason) log(`       – skipped: ${s.reason}`);
  for (const c of s.checks.filter((c) => !c.pass && !c.skipped)) log(`       ✗ [${c.level ?? 'protocol'}] ${c.name}: expected ${JSON.stringify(c.expected)}, got ${JSON.stringify(c.actual)}`);
}

function defaultSeed(cfg: UpstreamConfig, seed: number, i: number): UpstreamConfig {
  return cfg.seed === undefined ? { ...cfg, seed: seed * 100 + i } : cfg;
}

async function issueTokens(fleet: MockFleet, layout: ScenarioLayout): Promise<Map<ScenarioEndpoint, string>> {
  const out = new Map<ScenarioEndpoint, string>();
  for (const c of layout.channels ?? []) {
    for (const e of c.endpoints ?? []) {
      if (typeof e.token === 'string') out.set(e, e.token);
      else {
        const jwt = e.token.jwt;
        const expires = jwt.expires_in === undefined ? 3600 : typeof jwt.expires_in === 'number' ? jwt.expires_in : parseDuration(jwt.expires_in) / 1000;
        const refreshToken = typeof e.refresh_token === 'string' ? e.refresh_token : undefined;
        const issued = await fleet.control.issueJwt(e.upstream!, { accountId: jwt.account_id, expiresInSec: expires, refreshToken });
        out.set(e, issued.accessToken);
      }
    }
  }
  return out;
}

/** Per level: fail if any of its checks failed, pass if any passed, skipped if all were skipped. */
export function levelVerdicts(checks: Check[]): Record<Level, LevelVerdict> {
  const verdict = (level: Level): LevelVerdict => {
    const mine = checks.filter((c) => (c.level ?? 'protocol') === level);
    if (mine.length === 0) return 'none';
    if (mine.some((c) => !c.pass && !c.skipped)) return 'fail';
    return mine.some((c) => !c.skipped) ? 'pass' : 'skipped';
  };
  return { protocol: verdict('protocol'), resilience: verdict('resilience'), reference: verdict('reference') };
}

const DEFAULT_KEY = { key: 'rk-scenario-default-key-0001', name: 'scenario' };

export async function runScenario(scenario: Scenario, opts: RunOptions): Promise<ScenarioResult> {
  const log = opts.log ?? ((s: string) => console.log(s));
  const seed = opts.seed ?? scenario.seed;
  const started = performance.now();
  const result: ScenarioResult = {
    name: scenario.name,
    description: scenario.description,
    file: opts.file,
    suites: scenario.suites,
    seed,
    adapter: opts.adapter.name,
    target: '',
    status: 'pass',
    levels: { protocol: 'none', resilience: 'none', reference: 'none' },
    startedAt: new Date().toISOString(),
    durationMs: 0,
    steps: [],
    invariants: [],
    tokensSeen: [],
  };
  const finish = (r: ScenarioResult, secrets: string[]) => {
    r.durationMs = performance.now() - started;
    return redact(r, secrets);
  };
  log(`▶ ${scenario.name}: ${scenario.description}`);

  // Only what the target needs to play the scenario makes it not applicable; what it cannot show
  // or shortcut skips single steps and checks (cannotPlay, expect's blindness).
  const required = [...requiredCapabilities(scenario)].filter((c) => PLAY_CAPABILITIES.includes(c));
  const declared = capabilitySet(opts.adapter.capabilities);
  const missing = required.filter((c) => !declared.has(c));
  if (missing.length) {
    log(`  – not applicable: the ${opts.adapter.name} target lacks ${missing.join(', ')}`);
    return finish({ ...result, status: 'not_applicable', missingCapabilities: missing, reason: `target lacks: ${missing.join(', ')}` }, []);
  }
  // A translation step's request can only be answered by translating: a target that does not
  // translate that pair cannot play the scenario at all.
  const untranslated = missingTranslations(scenario, opts.adapter.capabilities);
  if (untranslated.length) {
    log(`  – not applicable: the ${opts.adapter.name} target does not translate ${untranslated.join(', ')}`);
    return finish({ ...result, status: 'not_applicable', missingTranslations: untranslated, reason: `target does not translate: ${untranslated.join(', ')}` }, []);
  }

  let fleet: MockFleet | undefined;
  let configured = false;
  const secrets: string[] = [];
  try {
    const mockConfigs = scenario.mocks.map((m, i) => {
      const withSeed = defaultSeed(m, seed, i);
      return opts.adapter.mockPortBase ? { ...withSeed, port: opts.adapter.mockPortBase + i } : withSeed;
    });
    fleet = await startMocks({ upstreams: mockConfigs }, { host: '127.0.0.1' });
    for (const m of scenario.mocks) secrets.push(...(m.tokens ?? []));
    const issued = await issueTokens(fleet, scenario.relay);
    secrets.push(...issued.values());
    const withKeys: ScenarioLayout = scenario.relay.keys?.length ? scenario.relay : { ...scenario.relay, keys: [DEFAULT_KEY] };
    const routing = { fleet, shared: sharedUpstreams(scenario) };
    // Without a virtual clock the target gets policy durations short enough to wait out for real.
    const blackBoxScale = timeScale(policyWaits(scenario).map((w) => w.ms));
    const scale = declared.has('clock') ? 1 : blackBoxScale;
    const layout = blackBoxLayout(resolveLayout(withKeys, (upstream, endpoint) => endpointUrl(routing, upstream, endpoint), (e) => issued.get(e) ?? String(e.token)) as ScenarioLayout, scale);
    const upstreams: RunningUpstream[] = fleet.upstreams.map((u) => ({ name: u.name, kind: u.kind, url: u.url, tokens: u.tokens }));
    const portable = portableLayout(scenario.name, layout, upstreams);
    const actx: AdapterContext = { scenario: scenario.name, log };
    const ctx: Ctx = {
      scenario,
      adapter: opts.adapter,
      caps: declared,
      inbound: new Set(opts.adapter.capabilities.inbound),
      translates: opts.adapter.capabilities.translates,
      keyMode: opts.adapter.capabilities.keys,
      maxRealWaitMs: opts.maxRealWaitMs ?? DEFAULT_MAX_REAL_WAIT_MS,
      timeScale: scale,
      skippedFlights: new Map(),
      actx,
      relayUrl: opts.target ?? '',
      baseUrls: { ...opts.adapter.capabilities.baseUrls },
      reference: layout,
      layout: portable,
      upstreams,
      shared: routing.shared,
      fleet,
      keys: new Map(),
      initialKeys: withKeys.keys!,
      defaultKey: undefined,
      endpoints: new Map(),
      upstreamTokens: new Map(),
      secrets,
      results: [],
      attempts: new Map(),
      flights: new Map(),
      lastSeq: 0,
      log,
      progress: opts.progress ?? false,
    };
    learnLayout(ctx, withKeys, (e) => issued.get(e) ?? String(e.token));

    configured = true;
    const found = (await opts.adapter.configure(portable, actx)) ?? {};
    const caps: AdapterCapabilities = { ...opts.adapter.capabilities, ...found.capabilities };
    ctx.caps = capabilitySet(caps);
    ctx.inbound = new Set(caps.inbound);
    ctx.translates = caps.translates;
    ctx.keyMode = caps.keys;
    ctx.relayUrl = found.url ?? opts.target ?? '';
    if (!ctx.relayUrl) throw new Error(`the ${opts.adapter.name} adapter started no relay and no --target was given`);
    ctx.baseUrls = { ...caps.baseUrls, ...found.baseUrls };
    result.target = ctx.relayUrl;
    for (const [name, key] of Object.entries({ ...found.keys, ...opts.keys })) {
      ctx.keys.set(name, key);
      secrets.push(key);
    }
    ctx.defaultKey = opts.clientKey ?? ctx.keys.get(withKeys.keys![0].name);
    if (opts.clientKey) secrets.push(opts.clientKey);
    if (!ctx.caps.has('clock') && ctx.timeScale !== blackBoxScale) {
      // The relay turned out to have no virtual clock (a reference relay without RELAY_TEST_CLOCK): give it the short durations.
      ctx.timeScale = blackBoxScale;
      await applyChange(ctx, { kind: 'layout', layout: ctx.reference });
    }
    if (ctx.timeScale < 1) {
      log(`  (no virtual clock: the layout's policy durations are ×${ctx.timeScale.toPrecision(2)}, so its longest policy wait is ${formatMs(Math.round(Math.max(...policyWaits(scenario).map((w) => w.ms)) * ctx.timeScale))} of real time)`);
      result.timeScale = ctx.timeScale;
    }
    const lacking = required.filter((c) => !ctx.caps.has(c));
    if (lacking.length) {
      log(`  – not applicable: the target lacks ${lacking.join(', ')}`);
      return finish({ ...result, status: 'not_applicable', missingCapabilities: lacking, reason: `target lacks: ${lacking.join(', ')}` }, secrets);
    }
    const notTranslated = missingTranslations(scenario, caps);
    if (notTranslated.length) {
      log(`  – not applicable: the target does not translate ${notTranslated.join(', ')}`);
      return finish({ ...result, status: 'not_applicable', missingTranslations: notTranslated, reason: `target does not translate: ${notTranslated.join(', ')}` }, secrets);
    }
    // Anything the relay did while starting (probes) is not part of step 1.
    ctx.lastSeq = Math.max(0, ...(await settledJournal(fleet, 0, 60)).map((j) => j.seq));

    for (const [i, step] of scenario.steps.entries()) {
      const s = redact(await runStep(ctx, step, i), secrets);
      result.steps.push(s);
      printStep(log, s);
      if (s.status === 'error') break;
    }

    // Background requests nobody joined still count for the invariants.
    for (const f of ctx.flights.values()) ctx.results.push(...(await f.done));
    const journal = await journalAfter(fleet, 0);
    result.invariants = checkInvariants({
      journal,
      results: ctx.results,
      clientKeys: [...ctx.keys.values(), ...(opts.clientKey ? [opts.clientKey] : [])],
      upstreamTokens: ctx.upstreamTokens,
      endpointTokens: new Map([...ctx.endpoints].map(([name, e]) => [name, e.tokens])),
      attempts: ctx.attempts,
      mintingUpstreams: new Set(fleet.upstreams.filter((u) => u.kind === 'chatgpt-oauth').map((u) => u.name)),
    });
    for (const c of result.invariants) if (!c.pass) log(`  ✗ ${c.name}: ${JSON.stringify(redact(c.actual, secrets))}`);
    result.tokensSeen = fleet.upstreams.map((u) => {
      const counts = new Map<string, number>();
      for (const j of journal) if (j.upstream === u.name) counts.set(j.credential ?? '(none)', (counts.get(j.credential ?? '(none)') ?? 0) + 1);
      return { upstream: u.name, kind: u.kind, url: u.url, tokens: [...counts].map(([t, count]) => ({ token: t === '(none)' ? t : maskToken(t), count })) };
    });
    const errored = result.steps.some((s) => s.status === 'error');
    const failed = result.steps.some((s) => s.status === 'fail') || result.invariants.some((c) => !c.pass);
    const stepChecks = result.steps.flatMap((s) => s.checks);
    const nothingChecked = !stepChecks.some((c) => !c.skipped);
    result.status = errored ? 'error' : failed ? 'fail' : nothingChecked ? 'skipped' : 'pass';
    result.levels = levelVerdicts([...stepChecks, ...result.invariants]);
    if (errored) result.reason = result.steps.find((s) => s.status === 'error')?.error;
    else if (nothingChecked) result.reason = `every check was skipped: ${[...new Set(stepChecks.map((c) => c.reason).filter(Boolean))].join('; ') || 'the scenario has no checks'}`;
  } catch (err) {
    result.status = 'error';
    result.reason = (err as Error).message;
    log(`  ! could not run: ${(err as Error).message}`);
  } finally {
    if (configured) await opts.adapter.teardown?.().catch(() => {});
    await fleet?.close().catch(() => {});
  }
  const out = finish(result, secrets);
  const mark = { pass: '✓ PASS', fail: '✗ FAIL', error: '! ERROR', not_applicable: '– N/A', skipped: '– SKIPPED' }[out.status];
  const levels = LEVELS.filter((l) => out.levels[l] !== 'none').map((l) => `${l} ${out.levels[l]}`);
  log(`${mark} ${scenario.name} (${Math.round(out.durationMs)}ms)${levels.length ? `  [${levels.join(', ')}]` : ''}${out.status === 'skipped' ? `: ${out.reason}` : ''}`);
  return out;
}
