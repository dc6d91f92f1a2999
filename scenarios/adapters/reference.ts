/**
 * The reference relay's adapter: configures a running relay through its admin API
 * (PUT /admin/config and friends) and reads back its request log and endpoint state.
 * `--target <url> --adapter reference [--admin-token t]` (or RELAYLAB_ADMIN_TOKEN).
 */
import type { RequestLogEntry } from '../../relay/state/types.js';
import { CAPABILITIES, type Capability, type ScenarioLayout } from '../engine/schema.js';
import type { Adapter, OpenTargetOptions, RelayStateView, RelayStatsView, ResolvedChange, Target } from '../engine/target.js';
import type { Balance, LedgerRow } from '../../relay/billing/ledger.js';
import type { LedgerView } from '../engine/billing.js';
import { AdminClient, AdminError } from './admin-client.js';

/** Everything the reference relay can do over its admin API (restart needs the process). */
export const REFERENCE_CAPABILITIES: ReadonlySet<Capability> = new Set(CAPABILITIES.filter((c) => c !== 'restart'));

/** A Target driven through the admin API; subclasses supply the clock and restart. */
export class AdminTarget implements Target {
  constructor(
    readonly adapter: string,
    public relayUrl: string,
    public admin: AdminClient,
    readonly capabilities: ReadonlySet<Capability>,
  ) {}

  async apply(layout: ScenarioLayout): Promise<void> {
    await this.admin.putConfig(layout);
  }

  async advance(ms: number): Promise<void> {
    await this.admin.advanceClock(ms);
  }

  async change(c: ResolvedChange): Promise<void> {
    switch (c.kind) {
      case 'token':
        await this.admin.patchEndpoint(c.endpoint, { token: c.value });
        return;
      case 'pause':
      case 'resume':
        await this.admin.pauseChannel(c.channel, c.kind === 'pause');
        return;
      case 'update_endpoint':
        await this.admin.patchEndpoint(c.endpoint, c.patch);
        return;
      case 'remove_endpoint':
        await this.admin.deleteEndpoint(c.endpoint);
        return;
      case 'update_channel':
        await this.admin.patchChannel(c.channel, c.patch);
        return;
      case 'layout':
        await this.apply(c.layout);
        return;
      case 'restart':
        await this.restart();
        return;
    }
  }

  protected async restart(): Promise<void> {
    throw new Error(`the ${this.adapter} adapter cannot restart the relay`);
  }

  healthCheck(): Promise<unknown> {
    return this.admin.runHealth();
  }

  requests(limit: number): Promise<RequestLogEntry[]> {
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

  async close(): Promise<void> {}
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
}

export function referenceAdapter(opts: ReferenceAdapterOptions): Adapter {
  const token = opts.adminToken ?? process.env.RELAYLAB_ADMIN_TOKEN;
  if (!token) throw new Error('the reference adapter needs the relay admin token: --admin-token <t> or RELAYLAB_ADMIN_TOKEN');
  return {
    name: 'reference',
    capabilities: REFERENCE_CAPABILITIES,
    mockPortBase: 0,
    async open(o: OpenTargetOptions): Promise<Target> {
      const admin = new AdminClient(opts.target, token);
      const caps = new Set(REFERENCE_CAPABILITIES);
      // A relay that outlives one scenario keeps its live state (cooldowns, breakers, sticky
      // bindings) under endpoint names the next scenario may reuse: clear it first. Relays
      // without POST /admin/state/reset get the old treatment: let all of it expire.
      const reset = await resetLiveState(admin);
      if (await admin.hasClock()) {
        if (!reset) await admin.advanceClock(STALE_STATE_MS);
      } else {
        caps.delete('clock');
        if (!reset) o.log('  (target cannot reset its state: cooldowns and bindings of an earlier run may remain)');
        o.log('  (target runs on real time: scenarios that advance the clock are not applicable; start it with RELAY_TEST_CLOCK=1)');
      }
      const target = new AdminTarget('reference', opts.target, admin, caps);
      await target.apply(o.layout);
      return target;
    },
  };
}
