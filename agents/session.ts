/**
 * Runs real coding agents against `pnpm stack`, for agents/agents.test.ts. Meant to run inside a
 * loopback-only network namespace (`unshare -n`, lo up), so the stack and the agents see nothing
 * but 127.0.0.1: it starts `relay/stack.ts --json` as a child, clears the example's demo faults,
 * then for each case of the plan (JSON in argv[2]) sets the case's fault rules, runs the agent's
 * turns with the command lines the stack's banner prints (`sh -c`, verbatim), and collects what
 * the mocks journaled, the relay's request log and its ledger for the case. Prints one JSON report
 * line on stdout and exits 0; the test makes the assertions.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MockControlClient } from '../mocks/control-client.js';
import type { FaultRule } from '../mocks/config.js';
import type { JournalEntry } from '../mocks/journal.js';
import type { AgentCommands } from '../relay/stack.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface AgentCase {
  name: string;
  agent: 'claude' | 'codex';
  /** Fault rules set on mock upstreams (by name) before the first turn. */
  rules?: Record<string, FaultRule[]>;
  /** How many of the banner's turns to run (1 or 2). */
  turns: number;
}

export interface TurnResult {
  command: string;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  durationMs: number;
  stdout: string;
  stderr: string;
}

export interface StackInfo {
  relay: { url: string; keys: string[] };
  mocks: { name: string; kind: string; url: string; tokens: string[] }[];
  admin: { url: string; token: string };
  agents: AgentCommands;
}

export interface CaseResult {
  name: string;
  turns: TurnResult[];
  /** Journal entries of the case (bodies left out: Claude Code's are ~100 kB each). */
  journal: Omit<JournalEntry, 'body'>[];
  /** The relay's request log entries of the case (GET /admin/requests), oldest first. */
  requests: any[];
  /** The ledger rows of those requests (GET /admin/billing/ledger). */
  ledger: any[];
}

export interface SessionReport {
  stack: StackInfo;
  cases: CaseResult[];
}

/** Exit 0 within this, or the turn fails (the bound). */
export const TURN_TIMEOUT_MS = 60_000;

async function main(): Promise<void> {
  const plan = JSON.parse(process.argv[2] ?? '[]') as AgentCase[];
  const env = { ...process.env };
  // Inside the namespace the machine's Redis and MySQL are out of reach: the stack runs on memory.
  delete env.REDIS_URL;
  delete env.MYSQL_URL;
  const stack = spawn(join(ROOT, 'node_modules', '.bin', 'tsx'), [join(ROOT, 'relay', 'stack.ts'), '--json'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const info = await firstLine(stack.stdout!);
    const control = new MockControlClient(info.mocks[0].url);
    // The example's demo faults (every 10th Claude request overloaded, ...) would make the
    // cases depend on how many requests came before; each case sets its own.
    await control.clearRules();
    const cases: CaseResult[] = [];
    for (const c of plan) cases.push(await runCase(info, control, c, env));
    process.stdout.write(`${JSON.stringify({ stack: info, cases } satisfies SessionReport)}\n`);
  } finally {
    stack.kill('SIGTERM');
  }
}

async function runCase(info: StackInfo, control: MockControlClient, c: AgentCase, env: NodeJS.ProcessEnv): Promise<CaseResult> {
  await control.clearRules();
  for (const [upstream, rules] of Object.entries(c.rules ?? {})) await control.setRules(upstream, rules);
  const since = Date.now();
  const afterSeq = Math.max(0, ...(await control.journal()).map((e) => e.seq));
  // Each case in a directory of its own: `claude --continue` continues the cwd's last session.
  const cwd = mkdtempSync(join(tmpdir(), `agent-${c.name}-`));
  const turns: TurnResult[] = [];
  try {
    for (const command of info.agents[c.agent].slice(0, c.turns)) turns.push(await runTurn(command, cwd, env));
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
  const journal = (await control.journal({ afterSeq })).map(({ body: _body, ...rest }) => rest);
  const requests = await requestsOf(info, journal, since);
  const ledger = (await adminGet(info, '/billing/ledger?limit=1000')).rows.filter((r: { requestId: string }) => requests.some((q) => q.requestId === r.requestId));
  return { name: c.name, turns, journal, requests, ledger };
}

/** One banner line through the shell, stdin closed (Codex reads a prompt from a pipe). */
function runTurn(command: string, cwd: string, env: NodeJS.ProcessEnv): Promise<TurnResult> {
  const start = Date.now();
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, TURN_TIMEOUT_MS);
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolve({ command, exitCode, signal, timedOut, durationMs: Date.now() - start, stdout, stderr });
    });
  });
}

/**
 * The relay's log entries for the case. The relay logs a request after its state bookkeeping,
 * which may end after the client has its answer: wait (up to 5 s) until every generation request
 * the mocks saw (the relay's request id travels upstream as x-request-id) is in the log.
 */
async function requestsOf(info: StackInfo, journal: Omit<JournalEntry, 'body'>[], since: number): Promise<any[]> {
  const ids = new Set(journal.map((e) => e.headers['x-request-id']).filter((id): id is string => typeof id === 'string'));
  const deadline = Date.now() + 5000;
  for (;;) {
    const log = (await adminGet(info, `/requests?since=${since}&limit=1000`)) as { requestId: string; time: number }[];
    if ([...ids].every((id) => log.some((e) => e.requestId === id)) || Date.now() > deadline) return log.sort((a, b) => a.time - b.time);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function adminGet(info: StackInfo, path: string): Promise<any> {
  const res = await fetch(`${info.admin.url}${path}`, { headers: { authorization: `Bearer ${info.admin.token}` } });
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

function firstLine(stream: NodeJS.ReadableStream): Promise<StackInfo> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl === -1) return;
      stream.off('data', onData);
      // The relay logs (warnings) on stdout too: keep draining it, or a full pipe would stall it.
      stream.on('data', (more: Buffer) => process.stderr.write(more));
      try {
        resolve(JSON.parse(buf.slice(0, nl)) as StackInfo);
      } catch (err) {
        reject(err);
      }
    };
    stream.on('data', onData);
    stream.on('end', () => reject(new Error(`the stack exited before printing its JSON line: ${buf}`)));
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
