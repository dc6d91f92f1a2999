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
import { AdminClient, AdminError } from './admin-client.js';

const FEATURES = CAPABILITIES.filter((c): c is Feature => c !== 'clock' && c !== 'restart' && c !== 'relay_records');

/** Everything the reference relay can do over its admin API; restart needs its process. */
export const REFERENCE_CAPABILITIES: AdapterCapabilities = {
  inbound: PROTOCOLS,
  keys: 'layout',
  clock: 'virtual',
  restart: false,
  records: true,
  features: FEATURES,
};

/** Drives a reference relay through its admin API: the part the in-process and reference adapters share. */
export class AdminDriver {
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
      return { ledger: rows, balances };
    } catch (err) {
      if (err instanceof AdminError && err.status === 404) return undefined;
      throw err;
    }
  }
}

/** POST /admin/state/reset with bindings; false when the relay has no such route. */
async function resetLiveState(admin: AdminClient): Promise<boolean> {
  try {
    await admin.call('POST', '/admin/state/reset', { sticky: true });
    return true;
  } catch (err) {
    if (err instanceof AdminError && (err.status === 404 || err.status === 405)) return false;
    throw err;
  }
}

/** Longer than any sticky TTL, cooldown or breaker period a scenario configures. */
const STALE_STATE_MS = 60 * 86_400_000;

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
      let capabilities: Partial<AdapterCapabilities> | undefined;
      if (await admin.hasClock()) {
        if (!reset) await admin.advanceClock(STALE_STATE_MS);
      } else {
        capabilities = { clock: 'none' };
        if (!reset) ctx.log('  (target cannot reset its state: cooldowns and bindings of an earlier run may remain)');
        ctx.log('  (target runs on real time: start it with RELAY_TEST_CLOCK=1 for virtual time)');
      }
      await admin.putConfig(layout.reference);
      return { capabilities };
    },
    apply: (change) => driver.change(change),
    readRecords: (limit) => driver.readRecords(limit),
    advance: (ms) => driver.advance(ms),
    healthCheck: () => driver.healthCheck(),
    state: () => driver.state(),
    stats: () => driver.stats(),
    billing: () => driver.billing(),
  };
}
