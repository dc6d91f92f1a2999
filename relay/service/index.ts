/**
 * Running the relay as a service: limits, structured logs with request ids, tokens sealed at
 * rest, metrics, health and readiness, admin API docs, and graceful shutdown. The relay core
 * creates one RelayService and threads its parts through start-up:
 *
 *   const service = new RelayService({ clock, logLevel, ... });
 *   records  = service.records(await openRecordStore(...))      // sealed layout, metrics feed
 *   billing  = service.billing(bundle.billing)                    // settlements shutdown waits for
 *   server   = createServer(service.serverOptions, service.listener(dispatch))
 *   await service.registerDocs(app)                               // before the admin routes
 *   service.bind({ holder, live, records, ledger })               // scrape-time and readiness sources
 *   shutdown = (ms) => service.drain({ server, pools, deadlineMs: ms }).then(close)
 */
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { Clock } from '../../lib/clock.js';
import { protocolFor } from '../../protocols/index.js';
import type { Billing } from '../billing/types.js';
import { protocolForPath } from '../http/classify.js';
import { send } from '../http/reply.js';
import type { LiveState, RecordStore, RequestLogEntry } from '../state/types.js';
import { EncryptedRecordStore } from './encrypted-records.js';
import { InFlightResponses, SettlementTracker } from './in-flight.js';
import { resolveLimits, serverOptions, type ServiceLimits } from './limits.js';
import { accessLine } from './access-line.js';
import { createRelayLoggers } from './logger.js';
import { RelayMetrics, type LedgerSource } from './metrics.js';
import { ObservedRecordStore } from './observed-records.js';
import { registerAdminDocs } from './openapi.js';
import { runReadiness, type Check } from './readiness.js';
import { requestIdFor } from './request-id.js';
import { SecretBox } from './secret-box.js';
import { drain, type DrainReport } from './shutdown.js';

export { DOCS_PATH, OPENAPI_PATH } from './openapi.js';
export { exitOnSignals, type DrainReport } from './shutdown.js';
export { requestIdFor } from './request-id.js';
export { SecretBox } from './secret-box.js';
export { resolveLimits, type ServiceLimits } from './limits.js';

export const SERVICE_PATHS = { metrics: '/metrics', healthz: '/healthz', readyz: '/readyz' } as const;

export interface RelayServiceOptions {
  clock: Clock;
  logLevel?: string;
  /** Explicit limits (tests); otherwise RELAY_MAX_BODY_BYTES, RELAY_HEADERS_TIMEOUT ... or defaults. */
  limits?: Partial<ServiceLimits>;
  /** Key sealing tokens at rest; default RELAY_SECRET_KEY. */
  secretKey?: string;
  env?: Record<string, string | undefined>;
  logger?: Logger;
}

export interface ServiceSources {
  /** The current layout's endpoints and version (ConfigHolder.current). */
  holder: { current: { version: number; endpoints: ReadonlyMap<string, { name: string; channel: string; tokenId: string }> } };
  live: LiveState;
  records: RecordStore;
  ledger?: LedgerSource & { store: { hasAccount(keyName: string): Promise<boolean> } };
}

export class RelayService {
  readonly limits: ServiceLimits;
  readonly logger: Logger;
  /** One line per client request (no redaction: its fields hold no secret); `logger` when one was given. */
  private readonly accessLog: Logger;
  /** Where the access log's lines go: its logger's destination, written to directly (access-line.ts). */
  private readonly accessOut: DestinationStream;
  readonly metrics = new RelayMetrics();
  readonly inFlight = new InFlightResponses();
  private readonly box: SecretBox | undefined;
  private readonly clock: Clock;
  private settlements: SettlementTracker | undefined;
  private recordStore: RecordStore | undefined;
  private checks: Record<string, Check> = {};
  private draining = false;

  constructor(opts: RelayServiceOptions) {
    const env = opts.env ?? process.env;
    this.clock = opts.clock;
    this.limits = resolveLimits(env, opts.limits);
    if (opts.logger) this.logger = this.accessLog = opts.logger;
    else ({ logger: this.logger, access: this.accessLog } = createRelayLoggers({ level: opts.logLevel }));
    this.accessOut = (this.accessLog as unknown as Record<symbol, DestinationStream>)[pino.symbols.streamSym];
    const key = opts.secretKey ?? env.RELAY_SECRET_KEY;
    this.box = key ? new SecretBox(key) : undefined;
  }

  get serverOptions() {
    return serverOptions(this.limits);
  }

  get encryptsAtRest(): boolean {
    return this.box !== undefined;
  }

  /** The record store as the relay should use it: layout sealed at rest, every request counted and logged. */
  records(inner: RecordStore): RecordStore {
    this.recordStore = new ObservedRecordStore(new EncryptedRecordStore(inner, this.box), (e) => this.onRequest(e));
    return this.recordStore;
  }

  /** The billing as the relay should use it: shutdown waits for the settlements it tracks. */
  billing(inner: Billing): Billing {
    this.settlements = new SettlementTracker(inner);
    return this.settlements;
  }

  /** Where scrape-time metrics and readiness read from. */
  bind(s: ServiceSources): void {
    this.metrics.bind({
      endpoints: () => [...s.holder.current.endpoints.values()],
      live: s.live,
      clock: this.clock,
      ledger: s.ledger,
      inFlight: () => ({ requests: this.inFlight.size, streams: this.inFlight.streams() }),
    });
    this.checks = {
      config: async () => {
        if (!(s.holder.current.version >= 1)) throw new Error('no configuration loaded');
      },
      live_state: () => s.live.getHealth('__readyz__'),
      records: () => s.records.queryRequestLog({ limit: 1 }),
      ...(s.ledger ? { ledger: () => s.ledger!.store.hasAccount('__readyz__') } : {}),
    };
  }

  /**
   * Wraps the client server's request listener: answers /healthz and /readyz itself; tracks
   * every other response for shutdown; refuses oversize bodies by their content-length and new
   * requests while draining, both in the protocol's error shape. /metrics is not served here: it
   * lives on the admin listener, behind a token (`metricsText`).
   */
  listener(next: RequestListener): RequestListener {
    return (req, res) => {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = q < 0 ? url : url.slice(0, q);
      if (path === SERVICE_PATHS.healthz || path === SERVICE_PATHS.readyz) {
        this.serveProbe(path, req, res).catch((err: Error) => {
          this.logger.error({ err: err.message, path }, 'service route failed');
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: err.message }));
        });
        return;
      }
      this.inFlight.track(res, path);
      if (this.draining) return this.refuse(req, res, path, 503, 'the relay is shutting down; retry on another instance', { 'retry-after': '1' });
      const length = Number(req.headers['content-length']);
      if (length > this.limits.maxBodyBytes) {
        return this.refuse(req, res, path, 413, `request body of ${length} bytes exceeds the relay's limit of ${this.limits.maxBodyBytes} bytes`);
      }
      next(req, res);
    };
  }

  /** The Prometheus exposition (scrape-time gauges refreshed first) and its content type. */
  async metricsText(): Promise<{ body: string; contentType: string }> {
    return { body: await this.metrics.text(), contentType: this.metrics.contentType };
  }

  async registerDocs(app: FastifyInstance, version?: string): Promise<void> {
    await registerAdminDocs(app, { version });
  }

  /** Stop accepting, wait for in-flight work (cut it upstream after the deadline), report. */
  async drain(p: { server: Server; cutUpstreams: () => Promise<void>; deadlineMs: number; graceMs?: number }): Promise<DrainReport> {
    this.draining = true;
    return drain(
      {
        server: p.server,
        inFlight: this.inFlight,
        settlements: this.settlements ?? new SettlementTracker({ precharge: async () => ({ ok: true }), settle: async () => undefined }),
        cutUpstreams: p.cutUpstreams,
        clock: this.clock,
        log: this.logger,
      },
      p.deadlineMs,
      p.graceMs,
    );
  }

  /** Flushes buffered log lines (the batched asynchronous destination both loggers share). */
  flushLogs(): void {
    try {
      this.logger.flush();
    } catch {
      // A closed destination has nothing left to flush.
    }
  }

  private onRequest(e: RequestLogEntry): void {
    this.metrics.observe(e);
    if (this.accessLog.isLevelEnabled('info')) this.accessOut.write(accessLine(e, Date.now()));
  }

  private refuse(req: IncomingMessage, res: ServerResponse, path: string, status: number, message: string, extra: Record<string, string> = {}): void {
    const requestId = requestIdFor(req.headers['x-request-id']);
    const protocol = protocolFor(protocolForPath(path));
    const reply = protocol.errorReply(status, message, { requestId });
    // The body is not read: the connection cannot be reused.
    send(res, { ...reply, headers: { ...reply.headers, ...extra, connection: 'close' } }, requestId);
    // Logged and counted like the relay's own rejections (this also writes the access log line).
    const now = this.clock.now();
    this.recordStore?.appendRequestLog({ requestId, time: now, keyName: '', protocol: protocol.id, path, stream: false, status, outcome: 'rejected', latencyMs: 0, attempts: [] });
  }

  private async serveProbe(path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: `${path} answers GET only` }));
      return;
    }
    let status = 200;
    let body: string;
    if (path === SERVICE_PATHS.healthz) {
      body = JSON.stringify({ status: this.draining ? 'draining' : 'ok' });
    } else {
      const r = await runReadiness(this.checks, this.clock);
      const ready = r.ready && !this.draining && Object.keys(this.checks).length > 0;
      status = ready ? 200 : 503;
      body = JSON.stringify({ status: ready ? 'ready' : this.draining ? 'draining' : 'not_ready', checks: r.checks });
    }
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'cache-control': 'no-store' });
    res.end(head ? undefined : body);
  }
}
