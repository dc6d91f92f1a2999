/**
 * Agent-like requests for the memory benchmark (`resources-agents`): what Claude Code and Codex
 * CLI send, at their size. Each body carries the tools the agent really offers
 * (agents/fixtures/), a system prompt / instructions and a conversation of tool calls and tool
 * results padded to about `AGENT_BODY_BYTES`, and asks for thinking / reasoning the way the agents
 * do. Request i belongs to one of `AGENT_SESSIONS` sessions (its session header and key), ends
 * with a user turn of its own (no two bodies are the same, as in a real session whose history
 * grows), alternates Claude Code (`POST /v1/messages?beta=true`) and Codex (`POST /v1/responses`),
 * and every fifth one is not streamed (Claude Code's non-stream fallback and side requests).
 */
import { readFileSync } from 'node:fs';
import type { HttpRequestSpec } from './requests.js';

/** The size of a request body: Claude Code's requests are ~100 kB after a few turns. */
export const AGENT_BODY_BYTES = 100_000;
/** Sessions the requests rotate over (each its own session id, sticky in the relay). */
export const AGENT_SESSIONS = 64;
export const AGENT_MODELS = { claude: 'claude-sonnet-4-5', codex: 'gpt-5' } as const;

const fixture = (name: string): unknown[] => JSON.parse(readFileSync(new URL(`../agents/fixtures/${name}`, import.meta.url), 'utf8')).tools;

/** Text that reads like a file an agent read: numbered source lines, deterministic. */
function fileText(bytes: number, seed: number): string {
  const lines: string[] = [];
  let size = 0;
  for (let n = 1; size < bytes; n++) {
    const line = `${String(n).padStart(5)}\tconst value${(seed * 31 + n) % 997} = compute(${n}, "${'abcdefghij'.slice(0, 1 + (n % 10))}");`;
    lines.push(line);
    size += line.length + 1;
  }
  return lines.join('\n');
}

/** Tool call / result turns until the serialised turns reach `bytes`. */
function claudeHistory(bytes: number): unknown[] {
  const messages: unknown[] = [{ role: 'user', content: [{ type: 'text', text: 'Look at the sources and tell me what compute() does.' }] }];
  for (let turn = 0; JSON.stringify(messages).length < bytes; turn++) {
    const id = `toolu_bench${String(turn).padStart(4, '0')}`;
    messages.push({ role: 'assistant', content: [{ type: 'text', text: 'Reading the next file.' }, { type: 'tool_use', id, name: 'Read', input: { file_path: `/src/part${turn}.ts` } }] });
    messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: id, content: fileText(8_000, turn) }] });
  }
  return messages;
}

function codexHistory(bytes: number): unknown[] {
  const input: unknown[] = [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Look at the sources and tell me what compute() does.' }] }];
  for (let turn = 0; JSON.stringify(input).length < bytes; turn++) {
    const callId = `call_bench${String(turn).padStart(4, '0')}`;
    input.push({ type: 'function_call', call_id: callId, name: 'exec_command', arguments: JSON.stringify({ cmd: `cat src/part${turn}.ts` }) });
    input.push({ type: 'function_call_output', call_id: callId, output: fileText(8_000, turn) });
  }
  return input;
}

const LAST_TURN = '"__LAST_TURN__"';

/**
 * The two agents' bodies with a placeholder for the last user turn: serialised once, so a request
 * costs one string replace (at 100 kB, building each body afresh would load the load generator).
 */
function templates(): { claude: string; codex: string } {
  const claudeTools = fixture('claude-code-tools.json');
  const codexTools = fixture('codex-tools.json');
  const system = [{ type: 'text', text: 'You are a coding agent. '.repeat(200), cache_control: { type: 'ephemeral' } }];
  const claudeBase = { model: AGENT_MODELS.claude, max_tokens: 32_000, system, tools: claudeTools, metadata: { user_id: '__USER_ID__' }, thinking: { type: 'adaptive', display: 'omitted' } };
  const claudeRoom = AGENT_BODY_BYTES - JSON.stringify(claudeBase).length - 200;
  const claude = JSON.stringify({ ...claudeBase, messages: [...claudeHistory(claudeRoom), { role: 'user', content: [{ type: 'text', text: '__LAST__' }] }], stream: '__STREAM__' });
  const codexBase = { model: AGENT_MODELS.codex, instructions: 'You are a coding agent running in a terminal. '.repeat(100), tools: codexTools, tool_choice: 'auto', parallel_tool_calls: false, reasoning: { effort: 'medium', summary: 'auto' }, store: false, include: ['reasoning.encrypted_content'] };
  const codexRoom = AGENT_BODY_BYTES - JSON.stringify(codexBase).length - 200;
  const codex = JSON.stringify({ ...codexBase, input: [...codexHistory(codexRoom), { type: 'message', role: 'user', content: [{ type: 'input_text', text: '__LAST__' }] }], prompt_cache_key: '__SESSION__', stream: '__STREAM__' });
  return {
    claude: claude.replace('"__LAST__"', LAST_TURN).replace('"__STREAM__"', '__STREAM__'),
    codex: codex.replace('"__LAST__"', LAST_TURN).replace('"__STREAM__"', '__STREAM__'),
  };
}

/** A session id per session number, stable across runs (UUID-shaped, as both agents send). */
export function agentSessionId(session: number): string {
  const hex = (session + 1).toString(16).padStart(12, '0');
  return `0b5e55a0-0000-4000-8000-${hex}`;
}

/** Request i of the agent mix, for `credential` (the relay's key, or an upstream token direct). */
export function agentRequestFactory(credential: string): (i: number) => HttpRequestSpec {
  const t = templates();
  return (i): HttpRequestSpec => {
    const session = agentSessionId(i % AGENT_SESSIONS);
    const stream = i % 5 !== 4;
    const last = JSON.stringify(`Turn ${i}: now summarise what you found in one line.`);
    if (i % 2 === 0) {
      const userId = JSON.stringify(JSON.stringify({ device_id: 'bench', account_uuid: '', session_id: session }));
      return {
        method: 'POST',
        path: '/v1/messages?beta=true',
        headers: { 'content-type': 'application/json', 'x-api-key': credential, 'anthropic-version': '2023-06-01', 'x-claude-code-session-id': session },
        body: t.claude.replace(LAST_TURN, last).replace('__STREAM__', String(stream)).replace('"__USER_ID__"', userId),
      };
    }
    return {
      method: 'POST',
      path: '/v1/responses',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${credential}`, 'session-id': session },
      body: t.codex.replace(LAST_TURN, last).replace('__STREAM__', String(stream)).replace('__SESSION__', session),
    };
  };
}
