/**
 * Real coding agents through `pnpm stack`, fully offline: Claude Code (`claude -p`, then
 * `--continue`) and Codex CLI (`codex exec`, then `resume --last`), pinned in package.json, run
 * with the command lines the stack's banner prints, against the relay and the mocks, inside a
 * loopback-only network namespace (agents/session.ts runs there: stack, agents and all). Then the
 * same two clients with a stream cut mid-answer on their first endpoint.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maskToken } from '../lib/mask.js';
import type { FaultRule } from '../mocks/config.js';
import { MOCK_WORDS } from '../mocks/content.js';
import type { Usage } from '../protocols/types.js';
import { agentCommands, codexConfig } from '../relay/stack.js';
import type { AgentCase, CaseResult, SessionReport, TurnResult } from './session.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The bound for the whole suite. */
const SUITE_BUDGET_MS = 120_000;

const cutOnce = (path: string): FaultRule[] => [{ name: 'cut-mid-answer', match: { path, stream: true }, times: 1, action: { cut: { after: 'mid_content', mode: 'rst' } } }];

const PLAN: AgentCase[] = [
  { name: 'claude', agent: 'claude', turns: 2 },
  { name: 'codex', agent: 'codex', turns: 2 },
  { name: 'claude-cut', agent: 'claude', turns: 2, rules: { 'claude-a': cutOnce('/v1/messages') } },
  { name: 'codex-cut', agent: 'codex', turns: 2, rules: { 'openai-a': cutOnce('/v1/responses') } },
];

let report: SessionReport;
let elapsedMs: number;
let home: string;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'agents-home-'));
  const started = Date.now();
  report = await runInNamespace(PLAN, home);
  elapsedMs = Date.now() - started;
}, SUITE_BUDGET_MS + 30_000);
afterAll(() => rmSync(home, { recursive: true, force: true }));

/**
 * agents/session.ts in a new network namespace with only loopback up: nothing the stack or the
 * agents might try can leave the machine. Root (CI) gets a plain `unshare -n`; anyone else a user
 * namespace mapped to root (`-r`) so that `ip link set lo up` is allowed.
 */
function runInNamespace(plan: AgentCase[], home: string): Promise<SessionReport> {
  const unshare = process.getuid?.() === 0 ? ['-n'] : ['-r', '-n'];
  const script = `ip link set lo up && exec "${join(ROOT, 'node_modules', '.bin', 'tsx')}" "${join(ROOT, 'agents', 'session.ts')}" "$0"`;
  const env = {
    ...process.env,
    PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`,
    HOME: home,
    DISABLE_AUTOUPDATER: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
  };
  return new Promise((resolve, reject) => {
    const child = spawn('unshare', [...unshare, 'sh', '-c', script, JSON.stringify(plan)], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`agents/session.ts in a network namespace exited ${code}:\n${err.slice(-4000)}`));
      try {
        resolve(JSON.parse(out) as SessionReport);
      } catch {
        reject(new Error(`no report from agents/session.ts:\n${out.slice(-2000)}\n${err.slice(-4000)}`));
      }
    });
  });
}

const byName = (name: string): CaseResult => report.cases.find((c) => c.name === name)!;
const mockTokens = (name: string) => report.stack.mocks.find((m) => m.name === name)!.tokens;
/** Requests that generated (not health probes, not model lists). */
const generations = (c: CaseResult, path: string) => c.journal.filter((e) => e.method === 'POST' && e.path === path);

/**
 * Exactly the mock's words, as many as the upstream billed for the answer's text (its output
 * tokens less those it spent reasoning: both agents ask for reasoning, which they do not print).
 */
function expectMockText(stdout: string, usage: Usage): void {
  const text = stdout.trim();
  expect(text.endsWith('.'), text).toBe(true);
  const words = text.slice(0, -1).split(' ');
  expect(usage.reasoningTokens, 'the agent asked for reasoning and got it').toBeGreaterThan(0);
  expect(words).toHaveLength(usage.outputTokens - usage.reasoningTokens!);
  words[0] = words[0].charAt(0).toLowerCase() + words[0].slice(1);
  for (const w of words) expect(MOCK_WORDS, `"${w}" in ${text}`).toContain(w);
}

function expectFinished(turn: TurnResult): void {
  expect(turn.timedOut, `${turn.command}\n${turn.stderr.slice(-2000)}`).toBe(false);
  expect(turn.exitCode, `${turn.command}\n${turn.stderr.slice(-2000)}`).toBe(0);
  expect(turn.durationMs).toBeLessThan(60_000);
}

/**
 * Every request the upstream billed is in the relay's ledger with that usage, once, on the
 * request the relay sent it for; relay requests that reached no upstream cost nothing.
 */
function expectLedgerMatchesUpstream(c: CaseResult, path: string): void {
  const billed = generations(c, path).filter((e) => e.usage);
  expect(billed.length).toBeGreaterThan(0);
  const closing = c.ledger.filter((r) => r.kind === 'settle' || r.kind === 'refund' || r.kind === 'charge');
  for (const e of billed) {
    const rows = closing.filter((r) => r.requestId === e.headers['x-request-id']);
    expect(rows, `ledger rows of ${String(e.headers['x-request-id'])}`).toHaveLength(1);
    // Reasoning tokens are output tokens: charged in outputTokens (the mock's split is its own).
    const pick = ({ inputTokens, outputTokens, cacheWriteTokens, cacheReadTokens }: Usage) => ({ inputTokens, outputTokens, cacheWriteTokens, cacheReadTokens });
    expect(pick(rows[0].usage)).toEqual(pick(e.usage!));
    expect(rows[0].cost).toBeGreaterThan(0);
  }
  const reached = new Set(billed.map((e) => e.headers['x-request-id']));
  for (const r of closing.filter((row) => !reached.has(row.requestId))) expect(r.cost, `request ${r.requestId} reached no upstream`).toBe(0);
}

/**
 * Both turns reached the mock with the token of the endpoint the relay names, with one session
 * key; the relay logged both, the second served by the first one's endpoint as a sticky hit.
 */
function expectTwoTurnSession(c: CaseResult, path: string, upstream: string, sessionHeader: string): void {
  const sent = generations(c, path);
  expect(sent).toHaveLength(2);
  const tokens = mockTokens(upstream);
  for (const e of sent) {
    expect(e.upstream).toBe(upstream);
    expect(e.status).toBe(200);
    expect(tokens).toContain(e.credential);
  }
  expect(new Set(sent.map((e) => e.headers[sessionHeader])).size).toBe(1);
  expect(sent[0].sessionKeys).toHaveLength(1);
  expect(sent[1].sessionKeys).toEqual(sent[0].sessionKeys);
  const logged = sent.map((e) => c.requests.find((r) => r.requestId === e.headers['x-request-id']));
  expect(logged.every((r) => r?.status === 200 && r.outcome === 'ok')).toBe(true);
  logged.forEach((r, i) => expect(r.attempts.at(-1).token).toBe(maskToken(sent[i].credential)));
  expect(logged[1].attempts).toHaveLength(1);
  expect(logged[1].attempts[0]).toMatchObject({ endpoint: logged[0].attempts.at(-1).endpoint, sticky: 'hit' });
  expect(logged[1].session).toMatchObject({ hit: true, hash: logged[0].session.hash });
  expectLedgerMatchesUpstream(c, path);
}

describe('real coding agents through pnpm stack (loopback-only network namespace)', () => {
  it(`all four sessions take under ${SUITE_BUDGET_MS / 1000} s, stack start included`, () => {
    expect(elapsedMs).toBeLessThan(SUITE_BUDGET_MS);
  });

  it('runs the command lines the stack prints, which the README shows', () => {
    const { relay, agents } = report.stack;
    expect(agents).toEqual(agentCommands(relay.url, relay.keys[0], agents.codexHome));
    for (const c of report.cases) expect(c.turns.map((t) => t.command)).toEqual(agents[c.name.startsWith('claude') ? 'claude' : 'codex']);
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    // The README writes placeholders where the banner has values (a real directory is one shell word).
    const shown = agentCommands('<relay>', '<key>', 'CODEX_DIR');
    for (const line of [...shown.claude, ...shown.codex]) expect(readme).toContain(line.replace('CODEX_DIR', '<codex home>'));
    expect(readme).toContain(codexConfig('<relay>'));
  });

  it('Claude Code: two turns of one session, each printing the mock answer', () => {
    const c = byName('claude');
    c.turns.forEach(expectFinished);
    const sent = generations(c, '/v1/messages');
    // Claude Code's own request shape: ?beta=true, its session header, tools offered.
    for (const e of sent) {
      expect(e.query).toEqual({ beta: 'true' });
      expect(e.headers['x-claude-code-session-id']).toBeTruthy();
      expect(e.headers['anthropic-version']).toBe('2023-06-01');
      expect(e.stream).toBe(true);
    }
    c.turns.forEach((t, i) => expectMockText(t.stdout, sent[i].usage!));
    expectTwoTurnSession(c, '/v1/messages', 'claude-a', 'x-claude-code-session-id');
  });

  it('Codex CLI: two turns of one session, each printing the mock answer', () => {
    const c = byName('codex');
    c.turns.forEach(expectFinished);
    const sent = generations(c, '/v1/responses');
    for (const e of sent) {
      expect(e.headers['session-id']).toBeTruthy();
      expect(e.stream).toBe(true);
    }
    c.turns.forEach((t, i) => expectMockText(t.stdout, sent[i].usage!));
    expectTwoTurnSession(c, '/v1/responses', 'openai-a', 'session-id');
  });

  it.each([
    ['claude-cut', '/v1/messages', 'claude-a', 'x-claude-code-session-id'],
    ['codex-cut', '/v1/responses', 'openai-a', 'session-id'],
  ])('%s: a stream cut mid-answer on the first endpoint; the agent recovers, the session answers, the ledger counts every billed attempt', (name, path, upstream, sessionHeader) => {
    const c = byName(name);
    c.turns.forEach(expectFinished);
    const sent = generations(c, path);
    const [cut, ...rest] = sent;
    expect(cut.rule).toBe('cut-mid-answer');
    expect(cut.disconnect).toBe('rst');
    expect(cut.usage!.outputTokens).toBeGreaterThan(0);
    // The agent tried again (its own retry or reconnect) and both turns were answered whole.
    expect(rest.length).toBeGreaterThanOrEqual(2);
    for (const e of rest) {
      expect(e.rule).toBeNull();
      expect(e.disconnect).toBeNull();
      expect(mockTokens(upstream)).toContain(e.credential);
    }
    expect(new Set(sent.map((e) => e.headers[sessionHeader])).size).toBe(1);
    const cutLogged = c.requests.find((r) => r.requestId === cut.headers['x-request-id']);
    expect(cutLogged.outcome).toBe('stream_cut');
    expect(cutLogged.attempts[0].token).toBe(maskToken(cut.credential));
    // What each turn printed is the mock's answer to that turn's last request.
    const turnEnds = [rest.at(-2)!, rest.at(-1)!];
    c.turns.forEach((t, i) => expectMockText(t.stdout, turnEnds[i].usage!));
    expectLedgerMatchesUpstream(c, path);
  });
});
