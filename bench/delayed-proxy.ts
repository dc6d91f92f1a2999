/**
 * A pass-through HTTP proxy that waits `--delay` ms before forwarding each request. Put in front
 * of a relay it makes "a release with an artificial 2 ms delay", which `bench:compare` must flag;
 * with --delay 0 it is the control (same extra hop, no injected delay).
 *
 *   tsx bench/delayed-proxy.ts --port n --target http://127.0.0.1:relayPort [--delay 2]
 * The delay may also come from BENCH_INJECT_DELAY_MS.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { Pool } from 'undici';
import { isMain } from '../lib/main.js';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer', 'host']);

export function forwardHeaders(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_BY_HOP.has(k.toLowerCase())) out[k] = v;
  return out;
}

export function startDelayedProxy(opts: { port: number; target: string; delayMs: number; host?: string }) {
  const pool = new Pool(opts.target, { connections: 512, pipelining: 1, bodyTimeout: 0 });
  const server = createServer((req, res) => {
    // The body is read whole before the delay: a paused request stream handed to undici later
    // is not reliable, and the bodies here are small JSON.
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const forward = async () => {
        try {
          const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
          const up = await pool.request({
            method: req.method as 'POST',
            path: req.url ?? '/',
            headers: forwardHeaders(req.headers),
            body: hasBody ? Buffer.concat(chunks) : undefined,
          });
          res.writeHead(up.statusCode, forwardHeaders(up.headers));
          for await (const chunk of up.body) res.write(chunk);
          res.end();
        } catch (err) {
          if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { message: `delayed-proxy: ${(err as Error).message}` } }));
        }
      };
      if (opts.delayMs > 0) setTimeout(forward, opts.delayMs);
      else void forward();
    });
  });
  return new Promise<{ close: () => Promise<void> }>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () =>
      resolve({
        close: async () => {
          await new Promise<void>((r) => server.close(() => r()));
          await pool.close();
        },
      }),
    );
  });
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (isMain(import.meta.url)) {
  const target = arg('--target');
  if (!target) {
    process.stderr.write('usage: delayed-proxy --port n --target url [--delay ms]\n');
    process.exit(2);
  }
  const delayMs = Number(arg('--delay') ?? process.env.BENCH_INJECT_DELAY_MS ?? 2);
  const proxy = await startDelayedProxy({ port: Number(arg('--port') ?? 0), target, delayMs });
  process.stdout.write(`delayed-proxy listening on ${arg('--port')} -> ${target} (+${delayMs} ms)\n`);
  const stop = () => void proxy.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
