/**
 * The admin API (fastify), behind its own Bearer token, separate from client keys. Every answer
 * masks tokens. Layout edits go through the ConfigHolder, so they take effect on the next
 * request and survive a restart.
 *
 * Versions: GET /admin/config answers the layout's version (body and ETag), and every edit
 * answers the version it made. An edit that names the version it was made against (`If-Match:
 * <version>`, or `version` beside `config` in PUT /admin/config) is refused with 409 and the
 * current version when the layout has moved on since, through this relay or another one sharing
 * its records. An edit without one applies to the latest layout.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TestClock } from '../../lib/clock.js';
import { parseDuration } from '../../lib/duration.js';
import { maskToken } from '../../lib/mask.js';
import { ConfigError } from '../../lib/yaml-config.js';
import { StaleEditError } from '../config/holder.js';
import type { ParsedRelayConfig } from '../config/schema.js';
import type { RelayRuntime } from '../pipeline/runtime.js';
import { orderChannels } from '../routing/planner.js';
import type { EndpointLiveState } from '../state/types.js';
import { presentsSecret } from './auth.js';
import * as edits from './config-edits.js';

export interface AdminOptions {
  rt: RelayRuntime;
  adminToken: string;
  /** Runs one health-probe round now; undefined when health checks are not available. */
  runHealth?: () => Promise<unknown>;
  /** More admin routes (billing ...), registered inside the admin-token scope. */
  plugins?: Array<(scope: FastifyInstance) => Promise<void>>;
  /** Why a new layout cannot be applied by this process (a section it cannot switch on), or undefined. */
  refuseLayout?: (layout: Record<string, unknown>) => string | undefined;
  /** Restarts the relay on the same records (set by `pnpm relay`, which owns the process). */
  restart?: () => void;
}

export async function activeChannelName(rt: RelayRuntime): Promise<string | null> {
  const config = rt.holder.current;
  const states = await readAll(rt);
  return orderChannels(config, states)[0]?.name ?? null;
}

async function readAll(rt: RelayRuntime): Promise<Map<string, EndpointLiveState>> {
  const eps = [...rt.holder.current.endpoints.values()];
  const states = await rt.live.readEndpoints(
    eps.map((e) => ({ endpoint: e.name, channel: e.channel, tokenId: e.tokenId })),
    rt.clock.now(),
  );
  return new Map(states.map((s) => [s.endpoint, s]));
}

/** The version an edit was made against: `If-Match: "7"` (or 7, W/"7"), or a body's `version`; undefined when none is given. */
function expectedVersion(value: unknown): number | undefined {
  if (value === undefined || value === null || value === '*') return undefined;
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1') : '';
  if (!/^\d+$/.test(text)) throw new edits.AdminError(400, `a layout version is a whole number, as GET /admin/config answers it (got ${JSON.stringify(value)})`);
  return Number(text);
}

export async function adminRoutes(app: FastifyInstance, opts: AdminOptions): Promise<void> {
  const { rt, adminToken } = opts;
  const holder = rt.holder;

  // An admin POST without a body (pause, health/run) is fine even when it says application/json.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, text, done) => {
    if (text === '' || text === undefined) return done(null, undefined);
    try {
      done(null, JSON.parse(text as string));
    } catch (err) {
      (err as Error & { statusCode?: number }).statusCode = 400;
      done(err as Error, undefined);
    }
  });

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    if (!presentsSecret(req.headers, [adminToken])) {
      return reply.code(401).send({ error: 'admin token required: Authorization: Bearer <admin token>' });
    }
  });

  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    if (err instanceof StaleEditError) return reply.code(409).header('etag', `"${err.current}"`).send({ error: err.message, version: err.current });
    if (err instanceof edits.AdminError) return reply.code(err.status).send({ error: err.message });
    if (err instanceof ConfigError) return reply.code(400).send({ error: err.message, issues: err.issues });
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    return reply.code(status).send({ error: err.message });
  });

  const requireChannel = (name: string): string => {
    if (!holder.current.channels.some((c) => c.name === name)) throw new edits.AdminError(404, `no channel named "${name}"`);
    return name;
  };

  const edit = async (req: FastifyRequest, fn: (draft: ParsedRelayConfig) => void, kind: 'layout' | 'pause' = 'layout') => {
    const model = await holder.update(fn, kind, expectedVersion(req.headers['if-match']));
    return { version: model.version };
  };

  // The layout as admins edit it (refreshed OAuth credentials are credential state, not part of it).
  app.get('/admin/config', async (_req, reply) => {
    reply.header('etag', `"${holder.current.version}"`);
    return { version: holder.current.version, config: edits.maskedConfig(holder.editableLayout) };
  });
  app.put('/admin/config', async (req) => {
    const body = edits.requireObject(req.body);
    // Accept both the bare layout and the { version, config } envelope GET answers with.
    const envelope = 'config' in body && typeof body.config === 'object';
    const layout = edits.requireObject(envelope ? body.config : body);
    const refused = opts.refuseLayout?.(layout);
    if (refused) throw new edits.AdminError(409, refused);
    const version = expectedVersion(req.headers['if-match']) ?? (envelope ? expectedVersion(body.version) : undefined);
    const model = await holder.replace(edits.unmaskSecrets(layout, holder.editableLayout), version);
    return { version: model.version };
  });

  app.post('/admin/channels', async (req, reply) => {
    const result = await edit(req, (d) => edits.addChannel(d, req.body));
    return reply.code(201).send(result);
  });
  app.patch<{ Params: { name: string } }>('/admin/channels/:name', async (req) => edit(req, (d) => edits.patchChannel(d, req.params.name, req.body)));
  app.delete<{ Params: { name: string } }>('/admin/channels/:name', async (req) => edit(req, (d) => edits.deleteChannel(d, req.params.name)));
  for (const action of ['pause', 'resume'] as const) {
    app.post<{ Params: { name: string } }>(`/admin/channels/:name/${action}`, async (req) => {
      const result = await edit(req, (d) => edits.setPaused(d, req.params.name, action === 'pause'), 'pause');
      const activeChannel = await activeChannelName(rt);
      return {
        ...result,
        channel: req.params.name,
        paused: action === 'pause',
        activeChannel,
        ...(activeChannel === null ? { warning: 'no active channel: every request fails until a channel is resumed' } : {}),
      };
    });
  }
  // Operators (and scenarios) cool a whole channel by hand, or lift a cooldown the relay set.
  app.post<{ Params: { name: string } }>('/admin/channels/:name/cooldown', async (req, reply) => {
    const channel = requireChannel(req.params.name);
    const body = (req.body ?? {}) as { for?: unknown; reason?: unknown };
    let ms: number;
    if (typeof body.for !== 'string' && typeof body.for !== 'number') return reply.code(400).send({ error: 'body.for is required (a duration such as "30s")' });
    try {
      ms = parseDuration(body.for as string | number);
    } catch (err) {
      return reply.code(400).send({ error: `body.for: ${(err as Error).message} (e.g. "30s")` });
    }
    const until = rt.clock.now() + ms;
    await rt.live.setCooldown('channel', channel, { until, reason: typeof body.reason === 'string' ? body.reason : 'admin' });
    return { channel, until, forMs: ms, activeChannel: await activeChannelName(rt) };
  });
  app.delete<{ Params: { name: string } }>('/admin/channels/:name/cooldown', async (req) => {
    const channel = requireChannel(req.params.name);
    await rt.live.clearCooldown('channel', channel);
    return { channel, cleared: true, activeChannel: await activeChannelName(rt) };
  });
  app.post<{ Params: { name: string } }>('/admin/channels/:name/endpoints', async (req, reply) => {
    const result = await edit(req, (d) => edits.addEndpoint(d, req.params.name, req.body));
    return reply.code(201).send(result);
  });
  app.patch<{ Params: { name: string } }>('/admin/endpoints/:name', async (req) => edit(req, (d) => edits.patchEndpoint(d, req.params.name, req.body)));
  app.delete<{ Params: { name: string } }>('/admin/endpoints/:name', async (req) => edit(req, (d) => edits.deleteEndpoint(d, req.params.name)));
  app.post('/admin/keys', async (req, reply) => {
    const result = await edit(req, (d) => edits.addKey(d, req.body));
    return reply.code(201).send(result);
  });
  app.delete<{ Params: { name: string } }>('/admin/keys/:name', async (req) => edit(req, (d) => edits.deleteKey(d, req.params.name)));

  app.get('/admin/state', async () => {
    const config = holder.current;
    const now = rt.clock.now();
    const states = await readAll(rt);
    const active = orderChannels(config, states)[0]?.name ?? null;
    const endpoints = [];
    for (const c of config.channels) {
      for (const e of c.endpoints) {
        const s = states.get(e.name);
        const cooldowns = (
          [
            ['endpoint', s?.endpointCooldown],
            ['token', s?.tokenCooldown],
            ['channel', s?.channelCooldown],
          ] as const
        )
          .filter(([, cd]) => cd && cd.until > now)
          .map(([scope, cd]) => ({ scope, until: cd!.until, remainingMs: cd!.until - now, reason: cd!.reason }));
        endpoints.push({
          name: e.name,
          channel: c.name,
          type: e.type,
          token: maskToken(e.token),
          priority: e.priority,
          failoverEnabled: e.failoverEnabled,
          paused: c.paused,
          health: s?.health.status ?? 'unknown',
          healthDetail: s?.health,
          cooldown: cooldowns[0] ?? null,
          cooldowns,
          breaker: s?.breaker.phase ?? 'closed',
          breakerDetail: s?.breaker,
          latencyMs: s?.health.latencyMs ?? null,
          authFailures: s?.authFailures ?? 0,
          disabled: s?.health.status === 'disabled' || cooldowns.some((x) => x.scope === 'token'),
        });
      }
    }
    return { version: config.version, now, strategy: config.strategy, activeChannel: active, endpoints };
  });

  // A clean slate for the next scenario or after an incident: cooldowns, breakers and credential
  // counts (and with sticky: true, bindings), for all endpoints or the listed ones. `history: true`
  // also forgets what past requests and probes left behind: per-endpoint counters (/admin/stats)
  // and health back to unknown, so a relay that outlives one scenario starts the next like new.
  app.post('/admin/state/reset', async (req, reply) => {
    const body = (req.body ?? {}) as { endpoints?: unknown; channels?: unknown; sticky?: unknown; history?: unknown };
    const names = (v: unknown, what: string): string[] | undefined => {
      if (v === undefined) return undefined;
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new edits.AdminError(400, `body.${what} must be a list of names`);
      return v as string[];
    };
    const endpoints = names(body.endpoints, 'endpoints');
    const channels = names(body.channels, 'channels');
    const config = holder.current;
    for (const e of endpoints ?? []) if (!config.endpoints.has(e)) return reply.code(404).send({ error: `no endpoint named "${e}"` });
    for (const c of channels ?? []) requireChannel(c);
    const sticky = body.sticky === true;
    if (body.history === true) {
      rt.stats.reset(endpoints);
      for (const e of endpoints ?? config.endpoints.keys()) await rt.live.setHealth(e, { status: 'unknown', consecutiveFailures: 0, lastCheckAt: 0, latencyMs: undefined });
    }
    if (endpoints === undefined && channels === undefined) await rt.live.resetState({ sticky });
    else {
      const tokens = (endpoints ?? []).map((e) => config.endpoints.get(e)!.tokenId);
      await rt.live.resetState({ endpoints: endpoints ?? [], tokens, channels: channels ?? [], sticky });
    }
    return { reset: endpoints ?? 'all', channels: channels ?? (endpoints ? [] : 'all'), sticky, history: body.history === true };
  });

  app.get<{ Querystring: { limit?: string; since?: string; key?: string; endpoint?: string } }>('/admin/requests', async (req) => {
    await rt.records.flush();
    const q = req.query;
    const num = (v: string | undefined) => (v !== undefined && Number.isFinite(Number(v)) ? Number(v) : undefined);
    return rt.records.queryRequestLog({ limit: num(q.limit), since: num(q.since), keyName: q.key, endpoint: q.endpoint });
  });

  app.get('/admin/stats', async () => rt.stats.snapshot());

  // 202 first, then the restart: the answer must leave before the server closes. `dry_run` asks
  // whether this relay can restart itself at all (only `pnpm relay`, which owns its process, can).
  app.post('/admin/restart', async (req, reply) => {
    if (!opts.restart) return reply.code(501).send({ error: 'this relay cannot restart itself (start it with pnpm relay)' });
    if ((req.body as { dry_run?: unknown } | undefined)?.dry_run === true) return { restart: 'available' };
    reply.code(202).send({ restart: 'started' });
    setImmediate(opts.restart);
    return reply;
  });

  app.post('/admin/health/run', async (_req, reply) => {
    if (!opts.runHealth) return reply.code(501).send({ error: 'health checks are not available in this relay build' });
    return { results: await opts.runHealth() };
  });

  app.post<{ Body: { ms?: unknown } | undefined }>('/admin/clock/advance', async (req, reply) => {
    if (!(rt.clock instanceof TestClock)) return reply.code(404).send({ error: 'the relay does not run on a test clock' });
    const ms = Number(req.body?.ms);
    if (!Number.isFinite(ms) || ms < 0) return reply.code(400).send({ error: 'body.ms must be a non-negative number' });
    await rt.clock.advance(ms);
    return { now: rt.clock.now() };
  });

  for (const plugin of opts.plugins ?? []) await app.register(plugin);
}
