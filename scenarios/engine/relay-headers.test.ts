/** Headers a relay wants on each request (RelayAdapter.requestHeaders) are asked per request, and a step's own headers win. */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { sendAll } from './clients.js';
import { requestSchema } from './schema.js';

let close: (() => void) | undefined;
afterEach(() => close?.());

describe('relay headers', () => {
  it('asks for them on every request, so a change during a load reaches the requests after it', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers);
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    close = () => server.close();
    let config = 'first';
    const spec = requestSchema.parse({ protocol: 'openai-chat', count: 3, headers: { 'x-step': 'mine', 'X-Route': 'step-wins' } });
    await sendAll({
      baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      spec,
      key: 'rk-client',
      relayHeaders: () => {
        const h = { 'x-portkey-config': config, 'x-route': 'relay' };
        config = 'second';
        return h;
      },
    });
    expect(seen.map((h) => h['x-portkey-config'])).toEqual(['first', 'second', 'second']);
    expect(seen.every((h) => h['x-route'] === 'step-wins' && h['x-step'] === 'mine')).toBe(true);
  });
});
