/**
 * The relays a scorecard can put side by side, each started here and driven through its adapter:
 * `reference` (the reference relay in process, virtual clock), `portkey` and `ccr` (installed on
 * demand and started on 127.0.0.1, see ./README.md). stop() ends what open() started.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RelayAdapter } from '../api.js';
import { loadAdapter } from '../index.js';
import { startCcr } from './ccr/server.js';
import { startPortkey } from './portkey/server.js';

/** Loaded the way a maintainer names them (`--adapter <path>`), so the scorecard exercises the plugin loader. */
const ADAPTER_FILE = { portkey: join(import.meta.dirname, 'portkey', 'adapter.ts'), ccr: join(import.meta.dirname, 'ccr', 'adapter.ts') };

export const SCORECARD_TARGETS = ['reference', 'portkey', 'ccr'] as const;
export type ScorecardTargetName = (typeof SCORECARD_TARGETS)[number];

export interface OpenedTarget {
  name: ScorecardTargetName;
  description: string;
  url: string;
  /** How a maintainer would name the adapter on the command line. */
  adapterSpec: string;
  adapter: RelayAdapter;
  /** `--target` as the engine receives it (undefined: the adapter starts the relay). */
  target?: string;
  stop(): Promise<void>;
}

export async function openTarget(name: ScorecardTargetName, log: (line: string) => void): Promise<OpenedTarget> {
  switch (name) {
    case 'reference':
      return { name, description: 'reference relay (in process, virtual clock)', url: 'in process', adapterSpec: 'in-process', adapter: await loadAdapter({}), stop: async () => {} };
    case 'portkey': {
      const relay = await startPortkey({ log });
      const adapter = await loadAdapter({ adapter: ADAPTER_FILE.portkey, target: relay.url }).catch(async (err) => {
        await relay.stop();
        throw err;
      });
      return { name, description: '@portkey-ai/gateway 1.15.2', url: relay.url, adapterSpec: 'scenarios/adapters/peers/portkey/adapter.ts', adapter, target: relay.url, stop: () => relay.stop() };
    }
    case 'ccr': {
      // A HOME of its own per run: nothing of an earlier run's config or PID file is reused.
      const home = mkdtempSync(join(tmpdir(), 'relaylab-ccr-'));
      const relay = await startCcr({ log, home });
      const stop = async () => {
        await relay.stop();
        rmSync(home, { recursive: true, force: true });
      };
      const adapter = await loadAdapter({ adapter: ADAPTER_FILE.ccr, target: relay.url, options: { home } }).catch(async (err) => {
        await stop();
        throw err;
      });
      return { name, description: '@musistudio/claude-code-router 2.0.0', url: relay.url, adapterSpec: 'scenarios/adapters/peers/ccr/adapter.ts', adapter, target: relay.url, stop };
    }
  }
}
