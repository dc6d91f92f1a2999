/**
 * The admin API as OpenAPI 3 (@fastify/swagger), with Swagger UI at /admin/docs and the document
 * at /admin/openapi.json.
 *
 * Decision: the two documentation routes are public. They describe routes, never values: no
 * token, key, endpoint URL or configuration appears in them, and every route they describe still
 * demands the admin token (declared as the `adminToken` bearer scheme, which Swagger UI's
 * "Authorize" button fills in). Keeping them public lets an operator open the docs in a browser,
 * which cannot attach a bearer header to a page load.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, RouteOptions } from 'fastify';

export const DOCS_PATH = '/admin/docs';
export const OPENAPI_PATH = '/admin/openapi.json';

/** Summaries for the admin routes; a route not listed here is still documented, by path. */
const SUMMARIES: Record<string, [tag: string, summary: string]> = {
  'GET /admin/config': ['config', 'The current layout, tokens masked'],
  'PUT /admin/config': ['config', 'Replace the layout (channels, keys, strategy ...); masked tokens keep their stored values'],
  'POST /admin/channels': ['channels', 'Add a channel'],
  'PATCH /admin/channels/:name': ['channels', 'Change a channel (priority, cross_channel ...)'],
  'DELETE /admin/channels/:name': ['channels', 'Remove a channel'],
  'POST /admin/channels/:name/pause': ['channels', 'Pause a channel (no new requests go to it)'],
  'POST /admin/channels/:name/resume': ['channels', 'Resume a paused channel'],
  'POST /admin/channels/:name/endpoints': ['endpoints', 'Add an endpoint to a channel'],
  'PATCH /admin/endpoints/:name': ['endpoints', 'Change an endpoint (e.g. { "token": "..." })'],
  'DELETE /admin/endpoints/:name': ['endpoints', 'Remove an endpoint'],
  'POST /admin/keys': ['keys', 'Add a client key'],
  'DELETE /admin/keys/:name': ['keys', 'Remove a client key'],
  'GET /admin/state': ['state', 'Live state per endpoint: health, cooldowns, breaker, latency; the active channel'],
  'GET /admin/requests': ['state', 'The request log, newest last, with attempt trails (?limit, since, key, endpoint)'],
  'GET /admin/stats': ['state', 'Per-endpoint counts, errors and latency'],
  'POST /admin/health/run': ['state', 'Run one health-probe round now'],
  'POST /admin/clock/advance': ['testing', 'Move the virtual clock (only on a relay started with a test clock; else 404)'],
  'GET /admin/billing/stats': ['billing', 'Usage and cost by key, model, day, endpoint and route'],
  'GET /admin/billing/ledger': ['billing', 'Ledger rows'],
  'GET /admin/billing/balances': ['billing', 'Balance per key'],
  'GET /admin/billing/pending': ['billing', 'Reservations not yet settled'],
  'GET /admin/billing/prices': ['billing', 'The price table in force'],
  'POST /admin/billing/keys/:name/topup': ['billing', 'Credit a key ({ "amount": "5.00", "request_id"?: idempotency id })'],
};

function isDocsRoute(url: string): boolean {
  return url === OPENAPI_PATH || url === DOCS_PATH || url.startsWith(`${DOCS_PATH}/`);
}

/**
 * Registers the OpenAPI generator and the docs routes. Call it before the admin routes are
 * registered: routes added earlier are not seen by the generator.
 */
export async function registerAdminDocs(app: FastifyInstance, opts: { version?: string } = {}): Promise<void> {
  // Runs for every route added from now on, in any scope: tag, summary and the security
  // requirement for admin routes; the docs themselves and non-admin routes stay out of the spec.
  app.addHook('onRoute', (route: RouteOptions) => {
    if (isDocsRoute(route.url) || !route.url.startsWith('/admin/')) {
      route.schema = { ...route.schema, hide: true };
      return;
    }
    const method = Array.isArray(route.method) ? route.method[0] : route.method;
    const known = SUMMARIES[`${method} ${route.url}`];
    const tag = known?.[0] ?? route.url.split('/')[2] ?? 'admin';
    route.schema = { tags: [tag], ...(known ? { summary: known[1] } : {}), security: [{ adminToken: [] }], ...route.schema };
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'relaylab reference relay: admin API',
        version: opts.version ?? '0.1.0',
        description:
          'Every route needs `Authorization: Bearer <RELAY_ADMIN_TOKEN>`; client keys are refused (401). Tokens in answers are masked (prefix…last4).',
      },
      components: { securitySchemes: { adminToken: { type: 'http', scheme: 'bearer', description: 'RELAY_ADMIN_TOKEN' } } },
      security: [{ adminToken: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: DOCS_PATH, uiConfig: { persistAuthorization: false } });
  app.get(OPENAPI_PATH, async () => app.swagger());
}
