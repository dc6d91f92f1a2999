/**
 * Billing's admin API, as a fastify plugin the relay core registers inside its admin-authenticated
 * scope: `app.register(billingAdminRoutes, { billing })`. Amounts in answers are micro-dollars
 * (integers) with a `$` display string beside them.
 *   GET  /admin/billing/stats[?since=ms]
 *   GET  /admin/billing/ledger[?key=&request_id=&limit=]
 *   GET  /admin/billing/balances
 *   GET  /admin/billing/pending
 *   GET  /admin/billing/prices
 *   POST /admin/billing/keys/:name/topup   { "amount": "5.00", "request_id"?: "..." }
 */
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { formatMoney, parseMoney } from './money.js';
import type { LedgerBilling } from './service.js';

export interface BillingAdminOptions {
  billing: LedgerBilling;
}

interface LedgerQs {
  key?: string;
  request_id?: string;
  limit?: string;
}

export const billingAdminRoutes: FastifyPluginAsync<BillingAdminOptions> = async (app, { billing }) => {
  app.get<{ Querystring: { since?: string } }>('/admin/billing/stats', async (req, reply) => {
    const since = req.query.since !== undefined ? Number(req.query.since) : undefined;
    if (since !== undefined && !Number.isFinite(since)) return reply.code(400).send({ error: 'since must be a time in milliseconds' });
    return billing.stats(since);
  });

  app.get<{ Querystring: LedgerQs }>('/admin/billing/ledger', async (req, reply) => {
    const limit = req.query.limit !== undefined ? Number(req.query.limit) : 1000;
    if (!Number.isSafeInteger(limit) || limit < 0) return reply.code(400).send({ error: 'limit must be a non-negative integer' });
    const rows = await billing.store.ledger({ keyName: req.query.key, requestId: req.query.request_id, limit });
    return { rows: rows.map((r) => ({ ...r, display: formatMoney(r.amount) })) };
  });

  app.get('/admin/billing/balances', async () => {
    const balances = await billing.store.balances();
    return { balances: balances.map((b) => ({ ...b, display: formatMoney(b.balance) })) };
  });

  app.get('/admin/billing/pending', async () => ({ pending: await billing.store.pending() }));

  app.get('/admin/billing/prices', async () => billing.priceTable);

  app.post<{ Params: { name: string }; Body: { amount?: unknown; request_id?: unknown } | undefined }>(
    '/admin/billing/keys/:name/topup',
    async (req, reply) => {
      const amountText = req.body?.amount;
      if (typeof amountText !== 'number' && typeof amountText !== 'string') {
        return reply.code(400).send({ error: 'body.amount is required: decimal dollars, e.g. "5.00"' });
      }
      let amount: number;
      try {
        amount = parseMoney(amountText);
      } catch (err) {
        return reply.code(400).send({ error: (err as Error).message });
      }
      if (amount <= 0) return reply.code(400).send({ error: 'amount must be positive' });
      const requestId = typeof req.body?.request_id === 'string' && req.body.request_id ? req.body.request_id : `topup:${randomUUID()}`;
      const balance = await billing.topup(req.params.name, amount, requestId);
      return { keyName: req.params.name, balance, display: formatMoney(balance), requestId };
    },
  );
};
