/**
 * The ceiling for a relay: the least a proxy on undici can do per request, written with node
 * built-ins and undici only (nothing from mocks/, relay/, protocols/ or lib/). It reads the
 * client's JSON body, parses it, swaps the client's credential for the upstream's, forwards it on
 * a keep-alive undici `Pool` and pipes the answer back as it arrives, so an SSE stream passes
 * through event by event. No routing, retries, logs, records or metrics: every relay figure is
 * read as a ratio to this one, measured in the same run against the same upstream.
 *
 *   tsx bench/bare-proxy.ts --port n --openai <origin> --openai-token t [--claude <origin> --claude-token t]
 *   prints "bare proxy listening http://127.0.0.1:<port>"
 * `/v1/messages` goes to the claude origin (x-api-key), everything else to the openai origin (Bearer).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import { pipeline } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

export interface ProxyUpstream {
  origin: string;
  token: string;
}

export interface BareProxyOptions {
  openai: ProxyUpstream;
  /** Defaults to the openai upstream (a bare server answers both paths). */
  claude?: ProxyUpstream;
}

/** Response headers that describe the upstream connection, not the answer. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length']);

export function startBareProxy(opts: BareProxyOptions, port = 0, host = '127.0.0.1'): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const pool = (u: ProxyUpstream) => new Pool(u.origin, { connections: null, pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 0, bodyTimeout: 0 });
  const openai = { ...opts.openai, pool: pool(opts.openai) };
  const claude = opts.claude ? { ...opts.claude, pool: pool(opts.claude) } : openai;

  const forward = (req: IncomingMessage, res: ServerResponse, raw: Buffer): void => {
    const isMessages = req.url!.startsWith('/v1/messages');
    const up = isMessages ? claude : openai;
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid JSON"}');
      return;
    }
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (isMessages) {
      headers['x-api-key'] = up.token;
      headers['anthropic-version'] = String(req.headers['anthropic-version'] ?? '2023-06-01');
    } else headers.authorization = `Bearer ${up.token}`;
    up.pool.request({ method: 'POST', path: req.url!, headers, body: JSON.stringify(body) }, (err, data) => {
      if (err) {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: err.message }));
        return;
      }
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(data.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
      res.writeHead(data.statusCode, out);
      pipeline(data.body, res, () => undefined);
    });
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => forward(req, res, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
  });
  server.keepAliveTimeout = 65_000;
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      const addr = server.address();
      const actual = typeof addr === 'object' && addr ? addr.port : port;
      ok({
        server,
        url: `http://${host}:${actual}`,
        close: async () => {
          server.closeAllConnections();
          await new Promise<void>((done) => server.close(() => done()));
          await Promise.all([openai.pool.destroy(), claude.pool.destroy()]);
        },
      });
    });
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const { values } = parseArgs({
    options: { port: { type: 'string' }, openai: { type: 'string' }, 'openai-token': { type: 'string' }, claude: { type: 'string' }, 'claude-token': { type: 'string' } },
  });
  if (!values.openai) {
    process.stderr.write('usage: bare-proxy --port n --openai <origin> --openai-token t [--claude <origin> --claude-token t]\n');
    process.exit(2);
  }
  const proxy = await startBareProxy(
    {
      openai: { origin: values.openai, token: values['openai-token'] ?? '' },
      claude: values.claude ? { origin: values.claude, token: values['claude-token'] ?? '' } : undefined,
    },
    Number(values.port ?? 0),
  );
  process.stdout.write(`bare proxy listening ${proxy.url}\n`);
  const stop = () => void proxy.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
