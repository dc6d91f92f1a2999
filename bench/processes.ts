/**
 * Child processes for a benchmark: the mocks, the relay, the bare server and the delay proxy
 * each run in their own Node process on a fixed free port, so the load generator (this
 * process) never shares an event loop with what it measures.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..');

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => ok(port));
    });
  });
}

export interface ServiceSpec {
  name: string;
  /** TypeScript entry point, relative to the repository root (run with node --import tsx). */
  script: string;
  args?: string[];
  env?: Record<string, string>;
  /** Extra node flags (e.g. --cpu-prof). */
  nodeFlags?: string[];
  /** Every port the service must accept connections on before it counts as started. */
  ports: number[];
  host?: string;
  startTimeoutMs?: number;
}

export interface RunningService {
  name: string;
  pid: number;
  child: ChildProcess;
  /** The last lines the service wrote (stdout + stderr), for error messages. */
  output(): string;
  stop(): Promise<void>;
}

function canConnect(port: number, host: string): Promise<boolean> {
  return new Promise((ok) => {
    const sock = connect({ port, host });
    sock.once('connect', () => {
      sock.destroy();
      ok(true);
    });
    sock.once('error', () => ok(false));
  });
}

export async function startService(spec: ServiceSpec): Promise<RunningService> {
  const host = spec.host ?? '127.0.0.1';
  const child = spawn(process.execPath, [...(spec.nodeFlags ?? []), '--import', 'tsx', resolve(ROOT, spec.script), ...(spec.args ?? [])], {
    cwd: ROOT,
    env: { ...process.env, ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exited: number | null | undefined;
  const exit = new Promise<void>((ok) =>
    child.once('exit', (code, signal) => {
      exited = code ?? (signal ? -1 : 0);
      ok();
    }),
  );

  const service: RunningService = {
    name: spec.name,
    pid: child.pid ?? -1,
    child,
    output: () => tail,
    async stop() {
      if (exited !== undefined) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exit;
      clearTimeout(timer);
    },
  };

  const deadline = Date.now() + (spec.startTimeoutMs ?? 30_000);
  for (const port of spec.ports) {
    for (;;) {
      if (exited !== undefined) throw new Error(`${spec.name} exited (${exited}) before listening on ${port}:\n${tail}`);
      if (await canConnect(port, host)) break;
      if (Date.now() > deadline) {
        await service.stop();
        throw new Error(`${spec.name} did not listen on ${host}:${port} within ${spec.startTimeoutMs ?? 30_000} ms:\n${tail}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return service;
}
