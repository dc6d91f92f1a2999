/**
 * The manual adapter, for any relay relaylab cannot configure: it runs the mocks on fixed ports,
 * prints the layout the user must set up on their relay (mock URLs, endpoint tokens, client
 * keys), and waits for Enter (or SIGUSR2) before playing the scenario. Mid-scenario relay changes
 * are printed the same way. Nothing of the relay's inside can be read, so scenarios that need
 * virtual time or the relay's records are not applicable.
 */
import { createInterface } from 'node:readline';
import { stringify } from 'yaml';
import type { Capability, ScenarioLayout } from '../engine/schema.js';
import type { Adapter, OpenTargetOptions, ResolvedChange, Target } from '../engine/target.js';

export const MANUAL_CAPABILITIES: ReadonlySet<Capability> = new Set<Capability>([
  'admin_tokens',
  'pause',
  'sticky',
  'cross_channel',
  'fastest',
  'oauth_refresh',
  'custom_pass',
]);

/** Resolves on Enter on stdin or on SIGUSR2 (for scripts, or when stdin is not a terminal). */
export function waitForGo(prompt: string, log: (s: string) => void): Promise<void> {
  log(prompt);
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin });
    const done = () => {
      rl.close();
      process.off('SIGUSR2', done);
      resolve();
    };
    rl.once('line', done);
    // A closed stdin (a script, /dev/null) is not a "go": keep waiting for the signal.
    rl.once('close', () => log(`(stdin closed: waiting for SIGUSR2 to pid ${process.pid})`));
    process.once('SIGUSR2', done);
  });
}

export function describeChange(c: ResolvedChange): string {
  switch (c.kind) {
    case 'token':
      return `set the token of endpoint ${c.endpoint} to: ${c.value}`;
    case 'pause':
    case 'resume':
      return `${c.kind} channel ${c.channel}`;
    case 'update_endpoint':
      return `change endpoint ${c.endpoint}: ${JSON.stringify(c.patch)}`;
    case 'remove_endpoint':
      return `remove endpoint ${c.endpoint}`;
    case 'update_channel':
      return `change channel ${c.channel}: ${JSON.stringify(c.patch)}`;
    case 'layout':
      return `replace the layout with:\n${stringify(c.layout)}`;
    case 'restart':
      return 'restart the relay';
  }
}

export interface ManualAdapterOptions {
  target: string;
  /** First mock port; upstreams get consecutive ports. */
  portBase?: number;
  wait?: (prompt: string, log: (s: string) => void) => Promise<void>;
}

export function manualAdapter(opts: ManualAdapterOptions): Adapter {
  const wait = opts.wait ?? waitForGo;
  return {
    name: 'manual',
    capabilities: MANUAL_CAPABILITIES,
    mockPortBase: opts.portBase ?? 18_600,
    async open(o: OpenTargetOptions): Promise<Target> {
      o.log('');
      o.log(`Scenario ${o.scenario}: configure your relay at ${opts.target} like this.`);
      o.log('Mock upstreams (running now):');
      for (const m of o.mocks) o.log(`  ${m.name.padEnd(12)} ${m.kind.padEnd(16)} ${m.url}   accepts: ${m.tokens.join(', ')}`);
      o.log('Relay layout (endpoint base URLs are the mocks above):');
      o.log(stringify(o.layout as ScenarioLayout).replace(/^/gm, '  '));
      await wait('Press Enter (or send SIGUSR2 to this process) when the relay is configured.', o.log);
      const target: Target = {
        adapter: 'manual',
        relayUrl: opts.target,
        capabilities: MANUAL_CAPABILITIES,
        async apply(layout) {
          o.log(stringify(layout));
          await wait('Apply this layout, then press Enter.', o.log);
        },
        async advance() {
          throw new Error('the manual adapter has no virtual clock');
        },
        async change(c) {
          await wait(`Relay change: ${describeChange(c)}\nPress Enter when done.`, o.log);
        },
        async healthCheck() {
          throw new Error('the manual adapter cannot run health checks');
        },
        async requests() {
          return [];
        },
        async state() {
          return undefined;
        },
        async close() {},
      };
      return target;
    },
  };
}
