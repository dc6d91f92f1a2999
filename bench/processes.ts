/**
 * Child processes for a benchmark: the mocks, the relay, the bare server and the delay proxy
 * each run in their own Node process on a fixed free port, so the load generator (this
 * process) never shares an event loop with what it measures.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
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
  /** TypeScript entry point, relative to `cwd` (run with node --import tsx) ... */
  script?: string;
  /** ... or any other program and its arguments (a third-party relay). */
  command?: [string, ...string[]];
  /** Where the service runs and resolves tsx from (default: this checkout). */
  cwd?: string;
  /**
   * Send the service's stdout and stderr to this file instead of a pipe this process reads: a
   * relay writing its access log at full load would otherwise cost the load generator the read.
   */
  outputFile?: string;
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

export function canConnect(port: number, host: string): Promise<boolean> {
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
  if (!spec.script === !spec.command) throw new Error(`${spec.name}: give a script or a command`);
  const cwd = spec.cwd ?? ROOT;
  const outFd = spec.outputFile ? openSync(spec.outputFile, 'a') : undefined;
  const [file, ...args] = spec.command ?? [process.execPath, ...(spec.nodeFlags ?? []), '--import', 'tsx', resolve(cwd, spec.script!), ...(spec.args ?? [])];
  const child = spawn(file, args, {
    cwd,
    env: { ...process.env, ...spec.env },
    stdio: outFd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', outFd, outFd],
  });
  if (outFd !== undefined) closeSync(outFd);
  let piped = '';
  const keep = (chunk: Buffer) => {
    piped = (piped + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const tailOf = (): string => (spec.outputFile ? fileTail(spec.outputFile, 4000) : piped);
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
    output: tailOf,
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
      if (exited !== undefined) throw new Error(`${spec.name} exited (${exited}) before listening on ${port}:\n${tailOf()}`);
      if (await canConnect(port, host)) break;
      if (Date.now() > deadline) {
        await service.stop();
        throw new Error(`${spec.name} did not listen on ${host}:${port} within ${spec.startTimeoutMs ?? 30_000} ms:\n${tailOf()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return service;
}

/** The last `bytes` of a file (a service's output), for error messages. */
export function fileTail(path: string, bytes: number): string {
  try {
    const size = statSync(path).size;
    const length = Math.min(size, bytes);
    const buf = Buffer.alloc(length);
    const fd = openSync(path, 'r');
    try {
      readSync(fd, buf, 0, length, size - length);
    } finally {
      closeSync(fd);
    }
    return buf.toString('utf8');
  } catch {
    return '';
  }
}
