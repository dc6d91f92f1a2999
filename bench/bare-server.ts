/**
 * The ceiling: a bare node:http server answering every request with one fixed JSON body.
 * Benchmarks measure mocks and relays against it in the same run, on the same cores, so the
 * figures read as ratios that survive a noisy machine.
 *
 *   tsx bench/bare-server.ts [--port n]      prints "bare listening http://127.0.0.1:<port>"
 */
import { createServer, type Server } from 'node:http';
import { isMain } from '../lib/main.js';

const BODY = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-bare',
    object: 'chat.completion',
    created: 0,
    model: 'bare',
    choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the bare server.' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 8, completion_tokens: 6, total_tokens: 14 },
  }),
);

export function startBareServer(port = 0, host = '127.0.0.1'): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    // Drain the request body so keep-alive connections stay usable.
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': BODY.length });
      res.end(BODY);
    });
  });
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const addr = server.address();
      const actual = typeof addr === 'object' && addr ? addr.port : port;
      resolve({ server, url: `http://${host}:${actual}` });
    });
  });
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (isMain(import.meta.url)) {
  const port = Number(argValue('--port') ?? process.env.PORT ?? 0);
  const { url, server } = await startBareServer(port);
  process.stdout.write(`bare listening ${url}\n`);
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
