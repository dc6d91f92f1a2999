/**
 * The smallest useful adapter, to copy for your own relay: it rewrites the relay's whole
 * configuration for the scenario and again after every change, and declares that it has no
 * virtual clock and no request records (so the engine waits in real time and skips the checks
 * on the relay's records). It drives the reference relay here (`PUT /admin/config`); replace
 * `push` with whatever your relay reads: a config file and a reload, an admin API, a header.
 *
 *   pnpm scenario openai-forwarding --target http://127.0.0.1:8080 \
 *     --adapter ./scenarios/adapters/example-adapter.ts --admin-url http://127.0.0.1:8081 --admin-token adm-...
 */
import { request } from 'undici';
import { defineAdapter, type Layout } from './api.js';

export default defineAdapter(({ target, adminToken, adminUrl }) => {
  if (!target || !adminToken) throw new Error('example adapter: needs --target and --admin-token');
  const push = async (layout: Layout) => {
    const res = await request(new URL('/admin/config', adminUrl ?? target), {
      method: 'PUT',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(layout.reference),
    });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`PUT /admin/config: ${res.statusCode} ${text.slice(0, 300)}`);
  };
  return {
    name: 'example',
    capabilities: {
      inbound: ['anthropic', 'openai-chat', 'openai-responses'],
      keys: 'layout',
      clock: 'none',
      restart: false,
      records: false,
      features: ['admin_tokens', 'pause', 'cross_channel'],
    },
    configure: (layout) => push(layout),
    apply: (change) => push(change.layout),
  };
});
