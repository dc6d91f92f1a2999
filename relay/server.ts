/**
 * Starts a relay: state stores, configuration holder, billing, health checker, and two HTTP
 * servers. The client listener runs the raw node:http handler (the hot path has no framework
 * hooks) plus /healthz and /readyz; the admin listener (fastify, loopback by default) serves the
 * admin API and /metrics, both behind a token, so neither is reachable where clients are.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { SystemClock, TestClock, type Clock } from '../lib/clock.js';
import { presentsSecret } from './admin/auth.js';
import { adminRoutes } from './admin/routes.js';
import { billingAdminRoutes, claimSharedLedger, FreeBilling, ledgerIdentity, openBilling, requestLogLookup } from './billing/index.js';
import { parseBillingConfig } from './billing/config.js';
import type { Billing } from './billing/types.js';
import { ConfigHolder } from './config/holder.js';
import { loadRelayConfig, parseRelayConfig } from './config/load.js';
import type { RelayConfig } from './config/schema.js';
import { createHealthChecker } from './health/index.js';
import { openPass } from './pass/index.js';
import { createClientHandler, type RelayRuntime } from './pipeline/handler.js';
import { createTokenRefresher } from './proxy/oauth-refresh.js';
import { UpstreamPools } from './proxy/pools.js';
import { StatsCollector } from './proxy/stats.js';
import { RelayService, SERVICE_PATHS, type ServiceLimits } from './service/index.js';
import { plainSecretsWarning } from './service/encrypted-records.js';
import { openLiveState, openRecordStore } from './state/index.js';

/** How often a relay on shared MySQL looks for admin edits made through another relay. */
const CONFIG_SYNC_MS = 2_000;

export interface StartRelayOptions {
  /** A config object (as the YAML would be written) or a YAML file path. */
  config: RelayConfig | string;
  clock?: Clock;
  host?: string;
  /** 0 (default) = a free port. */
  port?: number;
  redisUrl?: string;
  mysqlUrl?: string;
  dataDir?: string;
  adminToken?: string;
  /** The admin listener (admin API, /metrics); default: the config's `admin.host` / `admin.port`, else 127.0.0.1 and a free port. */
  adminHost?: string;
  adminPort?: number;
  /** A second token /metrics accepts besides the admin token (default: RELAY_METRICS_TOKEN), so a scraper need not hold the admin token. */
  metricsToken?: string;
  logLevel?: string;
  /** Key / table prefix in Redis and MySQL; relays sharing state must use the same one. */
  statePrefix?: string;
  /** Billing recovery on MySQL (default: the config's `billing.recovery`, its environment overrides, 10 s / 10 min). */
  billingRecovery?: { instanceLeaseMs?: number; graceMs?: number };
  /** Replaces the billing built from the config's `billing:` section. */
  billing?: Billing;
  /** Start the periodic health checker (default: the config's health.enabled). */
  healthChecks?: boolean;
  /** Body size and slow-client limits (default: RELAY_MAX_BODY_BYTES ... or relay/service defaults). */
  limits?: Partial<ServiceLimits>;
  /** Seals tokens in the saved layout at rest (default: RELAY_SECRET_KEY). */
  secretKey?: string;
  /** Offered as POST /admin/restart: stop and start this relay on the same records (the caller owns the process). */
  restart?: () => void;
}

export interface RunningRelay {
  url: string;
  /** The admin listener's base URL: `${adminUrl}/admin/...`, `${adminUrl}/metrics`. */
  adminUrl: string;
  adminToken: string;
  clock: Clock;
  port: number;
  close(): Promise<void>;
  /** Graceful: stop accepting, let requests and streams finish (cut after deadlineMs), settle, then close. */
  shutdown(deadlineMs?: number): Promise<void>;
}

export async function startRelay(opts: StartRelayOptions): Promise<RunningRelay> {
  const clock = opts.clock ?? (process.env.RELAY_TEST_CLOCK === '1' ? new TestClock() : new SystemClock());
  const parsed = typeof opts.config === 'string' ? loadRelayConfig(opts.config) : parseRelayConfig(opts.config, 'relay config');
  const service = new RelayService({ clock, logLevel: opts.logLevel, limits: opts.limits, secretKey: opts.secretKey });
  const logger = service.logger;
  const prefix = opts.statePrefix ?? 'relaylab';
  const adminToken = opts.adminToken ?? `adm-${randomBytes(18).toString('base64url')}`;

  const live = await openLiveState({ redisUrl: opts.redisUrl, prefix });
  const records = service.records(await openRecordStore({
    mysqlUrl: opts.mysqlUrl,
    dataDir: opts.dataDir,
    prefix: prefix.replace(/[^A-Za-z0-9_]/g, '_'),
    onError: (err) => logger.warn({ err: err.message }, 'record store write failed'),
  }));
  const billingTablePrefix = `${prefix.replace(/[^A-Za-z0-9_]/g, '_')}_`;
  // Replicas sharing Redis must share one ledger, or each would spend a key's balance once.
  const ledgerClaim =
    opts.redisUrl && !opts.billing && parsed.billing
      ? await claimSharedLedger(live, ledgerIdentity({ mysqlUrl: opts.mysqlUrl, tablePrefix: billingTablePrefix, dataDir: opts.dataDir }), (err) =>
          logger.error({ err: err.message }, 'billing ledger lease'),
        ).catch(async (err: Error) => {
          await Promise.all([records.close(), live.close()]).catch(() => undefined);
          throw err;
        })
      : undefined;
  const holder = await ConfigHolder.open(parsed, records, clock, logger.child({ part: 'config' }));
  const plain = plainSecretsWarning({
    persistsTo: opts.mysqlUrl ? 'MySQL' : opts.dataDir,
    encrypted: service.encryptsAtRest,
    oauthEndpoints: [...holder.current.endpoints.values()].filter((e) => e.refreshToken).length,
  });
  if (plain) logger.warn({ secretKey: 'missing' }, plain);
  // Billing and custom-pass start from the layout in force (the file, or the last admin PUT, which
  // a restart keeps), and follow every later PUT.
  const effective = holder.current.source;
  // Relays sharing MySQL see each other's admin edits (token changes, pause/resume): requests
  // look for them at most every CONFIG_SYNC_MS, in the background.
  if (opts.mysqlUrl) holder.syncEvery(CONFIG_SYNC_MS, (err) => logger.warn({ err: err.message }, 'config refresh failed'));
  const billingBundle = opts.billing
    ? { billing: opts.billing, ledger: undefined, close: async () => undefined }
    : await openBilling({
        // The ledger opens when either the file or the layout in force has a billing section, so a
        // restart after a PUT that turned billing off can still turn it on again.
        config: effective.billing ?? parsed.billing,
        clock,
        dataDir: opts.dataDir,
        mysqlUrl: opts.mysqlUrl,
        tablePrefix: billingTablePrefix,
        instanceLeaseMs: opts.billingRecovery?.instanceLeaseMs,
        recoveryGraceMs: opts.billingRecovery?.graceMs,
        // Recovery settles a reservation a dead process left pending from how the request log says it ended.
        lookupRequest: requestLogLookup(records),
        onError: (err, context) => logger.warn({ err: err.message, context }, 'billing error'),
      });
  // The layout in force decides whether requests are metered: a PUT without a billing section makes
  // them free (the ledger stays open for its records); settling always reaches the ledger, which
  // ignores requests it never reserved, so a switch mid-request loses no reservation.
  const hasSection = (b: unknown) => b !== undefined && b !== null;
  // A Billing handed in by the caller (tests, embedders) is always on.
  let billingOn = !!opts.billing || hasSection(effective.billing);
  const free = new FreeBilling();
  const layoutBilling: Billing = {
    precharge: (i) => (billingOn ? billingBundle.billing : free).precharge(i),
    settle: (i) => billingBundle.billing.settle(i),
    ...(billingBundle.billing.chargeComplete ? { chargeComplete: (i) => billingBundle.billing.chargeComplete!(i) } : {}),
  };
  const pools = new UpstreamPools();
  const pass = await openPass({
    config: effective.pass,
    clock,
    relay: () => holder.current,
    billing: billingBundle.ledger,
    dataDir: opts.dataDir,
    mysqlUrl: opts.mysqlUrl,
    tablePrefix: `${prefix.replace(/[^A-Za-z0-9_]/g, '_')}_`,
    pools,
    maxBodyBytes: service.limits.maxBodyBytes,
    onError: (err, context) => logger.warn({ err: err.message, context }, 'custom-pass error'),
  });
  const rt: RelayRuntime = {
    holder,
    live,
    records,
    billing: service.billing(layoutBilling),
    clock,
    pools,
    stats: new StatsCollector(),
    logger,
    refreshToken: createTokenRefresher(holder, pools, logger),
    pass,
    maxBodyBytes: service.limits.maxBodyBytes,
  };
  const health = createHealthChecker({ clock, liveState: live, getLayout: () => holder.current, log: logger.child({ part: 'health' }) });

  const clientHandler = createClientHandler(rt);
  // No total request limit: a healthy non-stream call may legitimately take many minutes.
  const server = createServer(service.serverOptions, service.listener(clientHandler));
  const app = Fastify({
    logger: false,
    bodyLimit: service.limits.maxBodyBytes,
    serverFactory: (handler) => createServer(service.serverOptions, handler),
  });
  const metricsToken = opts.metricsToken ?? (process.env.RELAY_METRICS_TOKEN || undefined);
  const plugins: Array<(scope: FastifyInstance) => Promise<void>> = [];
  const ledger = billingBundle.ledger;
  service.bind({ holder, live, records, ledger });
  await service.registerDocs(app);
  app.get(SERVICE_PATHS.metrics, async (req, reply) => {
    if (!presentsSecret(req.headers, [adminToken, metricsToken])) {
      return reply.code(401).send({ error: 'metrics token required: Authorization: Bearer <admin or metrics token>' });
    }
    const { body, contentType } = await service.metricsText();
    return reply.header('content-type', contentType).header('cache-control', 'no-store').send(body);
  });
  if (ledger) plugins.push(async (scope) => scope.register(billingAdminRoutes, { billing: ledger }));
  await app.register(adminRoutes, {
    rt,
    adminToken,
    runHealth: async () => (await health.runOnce()).results,
    plugins,
    restart: opts.restart,
    // The ledger's store is opened at start: a relay started without billing cannot switch it on.
    refuseLayout: (layout) =>
      !ledger && layout.billing !== undefined && layout.billing !== null ? 'this relay was started without a billing section; start it with one to change billing through the admin API' : undefined,
  });
  let applied = { billing: JSON.stringify(effective.billing), pass: JSON.stringify(effective.pass) };
  holder.onChange((model) => {
    const next = { billing: JSON.stringify(model.source.billing), pass: JSON.stringify(model.source.pass) };
    billingOn = !!opts.billing || (!!ledger && hasSection(model.source.billing));
    if (ledger && next.billing !== applied.billing && billingOn) {
      ledger.update(parseBillingConfig(model.source.billing)).catch((err: Error) => logger.warn({ err: err.message }, 'billing update failed'));
    }
    if (next.pass !== applied.pass) pass.update(model.source.pass);
    applied = next;
  });
  await app.ready();
  const adminHost = opts.adminHost ?? parsed.admin.host;
  await app.listen({ host: adminHost, port: opts.adminPort ?? parsed.admin.port ?? 0 });
  try {
    await listen(server, opts.port ?? 0, opts.host ?? '127.0.0.1');
  } catch (err) {
    await app.close();
    throw err;
  }
  if (opts.healthChecks === true) health.start();
  else if (opts.healthChecks === undefined) {
    // The config decides, at boot (saved admin edits included) and after every change.
    health.follow();
    holder.onChange(() => health.follow());
  }

  const url = baseUrl(server.address() as AddressInfo);
  const adminUrl = baseUrl(app.server.address() as AddressInfo);
  logger.info({ url, adminUrl }, 'relay listening');

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await health.stop().catch(() => undefined);
      server.closeAllConnections();
      app.server.closeAllConnections();
      await app.close().catch(() => undefined);
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
      await pools.close();
      await pass.close().catch(() => undefined);
      await records.flush().catch(() => undefined);
      await billingBundle.close().catch(() => undefined);
      ledgerClaim?.release();
      await records.close().catch(() => undefined);
      await live.close().catch(() => undefined);
      service.flushLogs();
    })());
  return {
    url,
    adminUrl,
    adminToken,
    clock,
    port: (server.address() as AddressInfo).port,
    close,
    shutdown: async (deadlineMs = 30_000) => {
      if (!closing) await service.drain({ server, cutUpstreams: () => pools.close(), deadlineMs });
      await close();
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function baseUrl(address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}
