import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { SystemClock } from '../../lib/clock.js';
import { RelayService } from './index.js';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  server?.close();
  server = undefined;
});

/** A server whose handler answers /quick at once and hangs forever on /v1/messages (headers and one event sent). */
async function hangingServer(service: RelayService): Promise<string> {
  server = createServer(
    service.serverOptions,
    service.listener((req, res) => {
      if (req.url === '/quick') {
        res.end('ok');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: message_start\ndata: {"type":"message_start"}\n\n');
    }),
  );
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('drain', () => {
  it("cuts upstream at the deadline, then ends what still hangs with the protocol's error event", async () => {
    const service = new RelayService({ clock: new SystemClock(), env: {} });
    const url = await hangingServer(service);
    expect((await (await request(`${url}/quick`)).body.text())).toBe('ok');

    const res = await request(`${url}/v1/messages`, { method: 'POST', body: '{}' });
    expect(res.statusCode).toBe(200);
    const text = res.body.text();
    let cut = 0;
    const report = await service.drain({ server: server!, cutUpstreams: async () => void cut++, deadlineMs: 100, graceMs: 100 });
    expect(report).toMatchObject({ inFlightAtStart: 1, cut: true, leftOpen: 0, unsettled: 0 });
    expect(cut).toBe(1);
    const body = await text;
    expect(body).toContain('event: message_start');
    expect(body.trimEnd().split('\n\n').at(-1)).toMatch(/^event: error\ndata: .*shut down/);
  });

  it('returns at once with nothing in flight', async () => {
    const service = new RelayService({ clock: new SystemClock(), env: {} });
    await hangingServer(service);
    const report = await service.drain({ server: server!, cutUpstreams: async () => undefined, deadlineMs: 10_000 });
    expect(report).toMatchObject({ inFlightAtStart: 0, cut: false });
    expect(report.ms).toBeLessThan(1000);
  });
});
