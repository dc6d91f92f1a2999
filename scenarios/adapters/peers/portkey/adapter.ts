/**
 * relaylab adapter for the Portkey OSS gateway, a model for relays configured per request.
 *
 *   pnpm peer portkey --port 8787 &
 *   pnpm conformance --target http://127.0.0.1:8787 --adapter ./scenarios/adapters/peers/portkey/adapter.ts
 *
 * Portkey routes each request by its `x-portkey-config` header (./config.ts builds it from the
 * layout), so configure and apply only recompute the headers, and every change takes effect with
 * the next request. What Portkey does not have is declared, and the engine skips what depends on
 * it: no client keys (it checks none), no virtual clock (waits are real), no restart, no request
 * records or endpoint state, no sticky sessions, health probes, billing, custom-pass or ChatGPT
 * OAuth.
 */
import { defineAdapter, type ClientProtocol, type Layout } from '../../api.js';
import { INBOUND, portkeyConfig, TRANSLATES } from './config.js';

export default defineAdapter(({ target }) => {
  if (!target) throw new Error('portkey adapter: needs --target <gateway url> (pnpm peer portkey starts one)');
  let layout: Layout | undefined;
  return {
    name: 'portkey',
    capabilities: {
      inbound: INBOUND,
      translates: TRANSLATES,
      keys: 'none',
      clock: 'none',
      restart: false,
      records: false,
      features: ['admin_tokens', 'pause', 'cross_channel'],
    },
    async configure(l) {
      layout = l;
    },
    async apply(change) {
      layout = change.layout;
    },
    requestHeaders(protocol: ClientProtocol): Record<string, string> {
      const config = layout && portkeyConfig(layout, protocol);
      return config ? { 'x-portkey-config': JSON.stringify(config) } : {};
    },
  };
});
