/**
 * Measures one poll round over many pending tasks against the custom-pass mock (the issue's
 * target: 10,000 pending tasks all polled within one 15 s interval).
 *   npx tsx relay/pass/poller-scale.ts [tasks=10000] [batch=100] [concurrency=16]
 * Tasks are submitted to the mock directly (the relay's submit path is measured elsewhere), stored
 * as the relay stores them, then one round is timed; billing settles every succeeded task.
 */
import { request } from 'undici';
import { TestClock } from '../../lib/clock.js';
import { startMocks } from '../../mocks/index.js';
import { parseBillingConfig } from '../billing/config.js';
import { EmbeddedLedgerStore } from '../billing/ledger-embedded.js';
import { LedgerBilling, TASK_RESERVATION_PREFIX } from '../billing/service.js';
import { UpstreamPools } from '../proxy/pools.js';
import { parsePassConfig } from './config.js';
import { TaskPoller } from './poller.js';
import { EmbeddedPassTaskStore } from './tasks.js';

const [n = 10_000, batch = 100, concurrency = 16] = process.argv.slice(2).map(Number);
const clock = new TestClock();
const fleet = await startMocks({ upstreams: [{ name: 'p', kind: 'custom-pass', tokens: ['cp-scale'], custom_pass: { queued_for: 1, running_for: 1 } }] }, { clock });
const baseUrl = fleet.get('p').url;
const ep = { name: 'P', channel: 'c', origin: new URL(baseUrl).origin, pathPrefix: '', token: 'cp-scale' };
const pools = new UpstreamPools();
const billing = new LedgerBilling({ store: new EmbeddedLedgerStore(), settings: parseBillingConfig({ balances: { k: 1_000_000 }, prices: { m: { per_call: '0.01' } } }, {}), clock });
await billing.init();
const tasks = new EmbeddedPassTaskStore();
const settings = parsePassConfig({ poll: { batch_size: batch, concurrency } }, {});

let next = 0;
const t0 = Date.now();
await Promise.all(
  Array.from({ length: 64 }, async () => {
    while (next < n) {
      const i = next++;
      const res = await request(`${baseUrl}/m/submit`, { method: 'POST', headers: { authorization: 'Bearer cp-scale', 'content-type': 'application/json' }, body: '{"prompt":"x"}' });
      const body = (await res.body.json()) as { data: { task_id: string } };
      const id = `pt_${i}`;
      await billing.reserve({ requestId: `${TASK_RESERVATION_PREFIX}${id}`, keyName: 'k', model: 'm', amount: 10_000 });
      await tasks.put({ id, upstreamTaskId: body.data.task_id, keyName: 'k', model: 'm', endpoint: 'P', channel: 'c', status: 'queued', submittedAt: clock.now(), updatedAt: clock.now(), reservation: `${TASK_RESERVATION_PREFIX}${id}`, price: { kind: 'call', perCall: 10_000 }, billed: false });
    }
  }),
);
const submitMs = Date.now() - t0;
await clock.advance(10);
const poller = new TaskPoller({ clock, settings, tasks, billing, endpoint: () => ep, pools, maxBytes: 32 * 1024 * 1024 });
const round = await poller.pollOnce();
console.log(JSON.stringify({ tasks: n, batch, concurrency, submitMs, round, pendingAfter: (await billing.store.pending()).length }));
await pools.close();
await fleet.close();
