/**
 * The reference relay's adapter: configures a running relay through its admin API
 * (PUT /admin/config with the layout's `reference` section, PATCH and pause routes for changes)
 * and reads back its request log, endpoint state, counters and ledger.
 * `--target <url> --adapter reference [--admin-token t]` (or RELAYLAB_ADMIN_TOKEN).
 */
import type { Balance, LedgerRow } from '../../relay/billing/ledger.js';
import type { LedgerView } from '../engine/billing.js';
import { CAPABILITIES, PROTOCOLS } from '../engine/schema.js';
import type { AdapterCapabilities, AdapterContext, Configured, Feature, LayoutChange, RelayAdapter, RelayRecord, RelayStateView, RelayStatsView } from './api.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { AdminClient, AdminError } from './admin-client.js';

const FEATURES = CAPABILITIES.filter((c): c is Feature => c !== 'clock' && c !== 'restart' && c !== 'relay_records');

/** Everything the reference relay can do over its admin API (restart when it runs as `pnpm relay`). */
export const REFERENCE_CAPABILITIES: AdapterCapabilities = {
  inbound: PROTOCOLS,
  // Endpoints that say `translate_from` in the layout (relay/translate): Anthropic clients on Chat upstreams, Chat clients on claude.
  translates: { anthropic: ['openai'], 'openai-chat': ['claude'] },
  keys: 'layout',
  clock: 'virtual',
  restart: true,
  records: true,
  features: FEATURES,
};

/** Drives a reference relay through its admin API: the part the in-process and reference adapters share. */
export class AdminDriver {
  /** Ledger rows before this relay time belong to earlier scenarios on the same relay. */
  ledgerSince = 0;

  constructor(public admin: AdminClient) {}

  async change(c: LayoutChange): Promise<void> {
    switch (c.kind) {
      case 'token':
        await this.admin.patchEndpoint(c.endpoint, { token: c.token });
        return;
      case 'pause':
      case 'resume':
        await this.admin.pauseChannel(c.channel, c.kind === 'pause');
        return;
      case 'update_endpoint':
        await this.admin.patchEndpoint(c.endpoint, c.reference_patch);
        return;
      case 'remove_endpoint':
        await this.admin.deleteEndpoint(c.endpoint);
        return;
      case 'update_channel':
        await this.admin.patchChannel(c.channel, c.reference_patch);
        return;
      case 'layout':
        await this.admin.putConfig(c.layout.reference);
        return;
      case 'restart':
        throw new Error('restart is the adapter\u2019s own (it needs the relay process)');
    }
  }

  advance(ms: number): Promise<void> {
    return this.admin.advanceClock(ms).then(() => undefined);
  }
  healthCheck(): Promise<unknown> {
    return this.admin.runHealth();
  }
  readRecords(limit: number): Promise<RelayRecord[]> {
    return this.admin.requests(limit);
  }
  state(): Promise<RelayStateView | undefined> {
    return this.admin.state();
  }
  stats(): Promise<RelayStatsView | undefined> {
    return this.admin.stats();
  }

  /** GET /admin/billing/ledger and /balances; a relay without billing answers 404. */
  async billing(): Promise<LedgerView | undefined> {
    try {
      const [{ rows }, { balances }] = await Promise.all([
        this.admin.call<{ rows: LedgerRow[] }>('GET', '/admin/billing/ledger?limit=100000000'),
        this.admin.call<{ balances: Balance[] }>('GET', '/admin/billing/balances'),
      ]);
      return { ledger: sinceScenarioStart(rows, this.ledgerSince), balances };
    } catch (err) {
      if (err instanceof AdminError && err.status === 404) return undefined;
      throw err;
    }
  }
}

/**
 * A relay that outlives one scenario keeps its ledger, and an account keeps its balance (starting
 * balances apply once). The scenario sees its own rows, and before them, per key, one opening
 * topup worth everything earlier rows did: balance = that start - this scenario's rows still holds.
 */
export function sinceScenarioStart(rows: LedgerRow[], since: number): LedgerRow[] {
  const opening = new Map<string, number>();
  for (const r of rows) if (r.time < since) opening.set(r.keyName, (opening.get(r.keyName) ?? 0) + r.amount);
  const carried: LedgerRow[] = [...opening].map(([keyName, amount], i) => ({ id: -1 - i, time: since, keyName, requestId: `opening:${keyName}`, kind: 'topup', amount, rule: 'earlier scenarios' }));
  return [...carried, ...rows.filter((r) => r.time >= since)];
}

/** POST /admin/state/reset with bindings, counters and health; false when the relay has no such route. */
async function resetLiveState(admin: AdminClient): Promise<boolean> {
  try {
    await admin.call('POST', '/admin/state/reset', { sticky: true, history: true });
    return true;
  } catch (err) {
    if (err instanceof AdminError && (err.status === 404 || err.status === 405)) return false;
    throw err;
  }
}

/** Longer than any sticky TTL, cooldown or breaker period a scenario configures. */
const STALE_STATE_MS = 60 * 86_400_000;

/** POST /admin/restart { dry_run }: only a relay that owns its process (`pnpm relay`) can restart itself. */
async function canRestart(admin: AdminClient): Promise<boolean> {
  try {
    await admin.call('POST', '/admin/restart', { dry_run: true });
    return true;
  } catch (err) {
    if (err instanceof AdminError && [404, 405, 501].includes(err.status)) return false;
    throw err;
  }
}

const RESTART_DOWN_WAIT_MS = 2000;
const RESTART_UP_WAIT_MS = 30_000;

/** Restarts the relay and returns once the new process answers its admin API. */
export async function restartRelay(admin: AdminClient): Promise<void> {
  await admin.call('POST', '/admin/restart');
  const up = async () => admin.state().then(() => true, () => false);
  // The old server closes right after answering: wait to see it gone (a fast restart may hide the gap).
  const downBy = performance.now() + RESTART_DOWN_WAIT_MS;
  while (performance.now() < downBy && (await up())) await sleep(20);
  const upBy = performance.now() + RESTART_UP_WAIT_MS;
  while (!(await up())) {
    if (performance.now() > upBy) throw new Error(`the relay did not come back within ${RESTART_UP_WAIT_MS / 1000}s of POST /admin/restart`);
    await sleep(50);
  }
}

export interface ReferenceAdapterOptions {
  target: string;
  adminToken?: string;
  /** The relay's admin listener (`--admin-url`, RELAYLAB_ADMIN_URL); default: the target, for relays that serve /admin on the client port. */
  adminUrl?: string;
}

export function referenceAdapter(opts: ReferenceAdapterOptions): RelayAdapter {
  const token = opts.adminToken ?? process.env.RELAYLAB_ADMIN_TOKEN;
  if (!token) throw new Error('the reference adapter needs the relay admin token: --admin-token <t> or RELAYLAB_ADMIN_TOKEN');
  const driver = new AdminDriver(new AdminClient(opts.adminUrl ?? (process.env.RELAYLAB_ADMIN_URL || opts.target), token));
  return {
    name: 'reference',
    capabilities: REFERENCE_CAPABILITIES,
    async configure(layout, ctx: AdapterContext): Promise<Configured> {
      const admin = driver.admin;
      // A relay that outlives one scenario keeps its live state (cooldowns, breakers, sticky
      // bindings) under endpoint names the next scenario may reuse: clear it first. Relays
      // without POST /admin/state/reset get the old treatment: let all of it expire.
      const reset = await resetLiveState(admin);
      const capabilities: Partial<AdapterCapabilities> = {};
      if (!(await canRestart(admin))) capabilities.restart = false;
      if (await admin.hasClock()) {
        // A step past the last scenario's ledger rows, which may carry the very same virtual time.
        await admin.advanceClock(reset ? 1 : STALE_STATE_MS);
      } else {
        capabilities.clock = 'none';
        if (!reset) ctx.log('  (target cannot reset its state: cooldowns and bindings of an earlier run may remain)');
        ctx.log('  (target runs on real time: start it with RELAY_TEST_CLOCK=1 for virtual time)');
      }
      // The scenario's layout is all of it: no billing or pass section means none, not the last scenario's.
      await admin.putConfig({ billing: null, pass: null, ...layout.reference });
      driver.ledgerSince = (await admin.state()).now ?? 0;
      return { capabilities };
    },
    apply: (change) => (change.kind === 'restart' ? restartRelay(driver.admin) : driver.change(change)),
    readRecords: (limit) => driver.readRecords(limit),
    advance: (ms) => driver.advance(ms),
    healthCheck: () => driver.healthCheck(),
    state: () => driver.state(),
    stats: () => driver.stats(),
    billing: () => driver.billing(),
  };
}
