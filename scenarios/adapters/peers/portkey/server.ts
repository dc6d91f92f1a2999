/**
 * Starts the Portkey OSS gateway (installed on demand, see ../install.ts) on 127.0.0.1.
 *
 * The gateway listens on all interfaces and checks no client key, so it is started with
 * ../loopback.mjs preloaded, which moves its listener to 127.0.0.1. It keeps no routing state:
 * every request carries its routing in an `x-portkey-config` header (./adapter.ts writes it).
 * `--headless` leaves out the web console.
 */
import { join } from 'node:path';
import { freePort, startService } from '../../../../bench/processes.js';
import { ensureInstalled } from '../install.js';
import { LOOPBACK_SHIM, type RunningPeer, type StartPeerOptions } from '../peer.js';

export async function startPortkey(opts: StartPeerOptions = {}): Promise<RunningPeer> {
  const dir = await ensureInstalled('portkey', opts.log);
  const port = opts.port ?? (await freePort());
  const entry = join(dir, 'node_modules', '@portkey-ai', 'gateway', 'build', 'start-server.js');
  const service = await startService({
    name: 'portkey',
    command: [process.execPath, '--import', LOOPBACK_SHIM, entry, `--port=${port}`, '--headless'],
    cwd: dir,
    ports: [port],
    startTimeoutMs: 30_000,
  });
  return { name: 'portkey', url: `http://127.0.0.1:${port}`, output: service.output, stop: () => service.stop() };
}
