/** Adapter registry: `--adapter <name>` picks one; no `--target` means the in-process reference relay. */
import type { Adapter } from '../engine/target.js';
import { inProcessAdapter } from './inprocess.js';
import { manualAdapter } from './manual.js';
import { referenceAdapter } from './reference.js';

export interface AdapterChoice {
  target?: string;
  adapter?: string;
  adminToken?: string;
  mockPortBase?: number;
}

export const ADAPTERS = ['reference', 'manual'] as const;

export function chooseAdapter(c: AdapterChoice): Adapter {
  if (!c.target) {
    if (c.adapter && c.adapter !== 'in-process') throw new Error(`--adapter ${c.adapter} needs --target <relay url>`);
    return inProcessAdapter();
  }
  switch (c.adapter ?? 'reference') {
    case 'reference':
      return referenceAdapter({ target: c.target, adminToken: c.adminToken });
    case 'manual':
      return manualAdapter({ target: c.target, portBase: c.mockPortBase });
    default:
      throw new Error(`unknown adapter "${c.adapter}" (known: ${ADAPTERS.join(', ')})`);
  }
}
