/**
 * What a request says about tools, per wire protocol: which tools it offers (with their JSON
 * Schemas), whether `tool_choice` forbids or forces a call, whether its last turn hands a tool
 * result back, and the text of its last user turn. The mocks decide from this whether to answer
 * with a tool call; an agent's turn ends when the answer after its tool result is plain text.
 */
import type { ProtocolId } from './types.js';

/** A tool the client offered that a model could call: its name and its input's JSON Schema. */
export interface OfferedTool {
  name: string;
  schema: Record<string, unknown>;
}

/** `tool_choice` read across protocols: none, auto (the default), any tool, or one named tool. */
export type ToolChoice = { mode: 'none' } | { mode: 'auto' } | { mode: 'required' } | { mode: 'tool'; name: string };

const ANY_OBJECT: Record<string, unknown> = Object.freeze({ type: 'object' }) as Record<string, unknown>;

/**
 * Callable tools, in the order offered. Anthropic: custom tools (`name` + `input_schema`; server
 * tools such as `web_search_20250305` are run by the API, never returned to the client as a
 * call). Chat: `type: function` tools. Responses: `type: function` tools (built-in, `custom` and
 * `namespace` tools are left out: their calls are other item types).
 */
export function offeredTools(protocol: ProtocolId, body: unknown): OfferedTool[] {
  const tools = (body as { tools?: unknown } | null)?.tools;
  if (!Array.isArray(tools)) return [];
  const out: OfferedTool[] = [];
  for (const raw of tools) {
    if (!isObject(raw)) continue;
    if (protocol === 'anthropic') {
      if (typeof raw.name !== 'string' || (raw.type !== undefined && raw.type !== 'custom')) continue;
      out.push({ name: raw.name, schema: isObject(raw.input_schema) ? raw.input_schema : ANY_OBJECT });
    } else if (protocol === 'openai-chat') {
      const fn = raw.function;
      if (raw.type !== 'function' || !isObject(fn) || typeof fn.name !== 'string') continue;
      out.push({ name: fn.name, schema: isObject(fn.parameters) ? fn.parameters : ANY_OBJECT });
    } else if (protocol === 'openai-responses') {
      if (raw.type !== 'function' || typeof raw.name !== 'string') continue;
      out.push({ name: raw.name, schema: isObject(raw.parameters) ? raw.parameters : ANY_OBJECT });
    }
  }
  return out;
}

/** Anthropic `{type: auto|any|tool|none, name}`; OpenAI `"none"|"auto"|"required"` or a named function. */
export function toolChoice(protocol: ProtocolId, body: unknown): ToolChoice {
  const choice = (body as { tool_choice?: unknown } | null)?.tool_choice;
  if (choice === undefined || choice === null) return { mode: 'auto' };
  if (protocol === 'anthropic') {
    if (!isObject(choice)) return { mode: 'auto' };
    if (choice.type === 'none') return { mode: 'none' };
    if (choice.type === 'any') return { mode: 'required' };
    if (choice.type === 'tool' && typeof choice.name === 'string') return { mode: 'tool', name: choice.name };
    return { mode: 'auto' };
  }
  if (choice === 'none') return { mode: 'none' };
  if (choice === 'required') return { mode: 'required' };
  if (isObject(choice)) {
    // Chat: {type: function, function: {name}}; Responses: {type: function, name}.
    const name = isObject(choice.function) ? choice.function.name : choice.name;
    if (choice.type === 'function' && typeof name === 'string') return { mode: 'tool', name };
  }
  return { mode: 'auto' };
}

/**
 * Whether the last turn of the conversation hands tool results back (Anthropic: a user message
 * with a `tool_result` block; Chat: a `tool` / `function` message; Responses: a `*_call_output`
 * input item). The model's next answer is where an agent's turn usually ends.
 */
export function endsWithToolResult(protocol: ProtocolId, body: unknown): boolean {
  if (!isObject(body)) return false;
  if (protocol === 'anthropic') {
    const last = lastOf(body.messages);
    return isObject(last) && last.role === 'user' && Array.isArray(last.content) && last.content.some((b) => isObject(b) && b.type === 'tool_result');
  }
  if (protocol === 'openai-chat') {
    const last = lastOf(body.messages);
    return isObject(last) && (last.role === 'tool' || last.role === 'function');
  }
  if (protocol === 'openai-responses') {
    const last = lastOf(body.input);
    return isObject(last) && typeof last.type === 'string' && last.type.endsWith('_call_output');
  }
  return false;
}

/** All text of the last user turn (string content or its text parts); '' when there is none. */
export function lastUserText(protocol: ProtocolId, body: unknown): string {
  if (!isObject(body)) return '';
  if (protocol === 'openai-responses') {
    if (typeof body.input === 'string') return body.input;
    const last = lastOf(body.input);
    return isObject(last) && last.role === 'user' ? textOf(last.content) : '';
  }
  if (protocol === 'anthropic' || protocol === 'openai-chat') {
    const last = lastOf(body.messages);
    return isObject(last) && last.role === 'user' ? textOf(last.content) : '';
  }
  return '';
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let out = '';
  for (const part of content) {
    // Anthropic {type: text}, Chat {type: text}, Responses {type: input_text}.
    if (isObject(part) && typeof part.text === 'string') out += (out ? '\n' : '') + part.text;
  }
  return out;
}

function lastOf(list: unknown): unknown {
  return Array.isArray(list) && list.length > 0 ? list[list.length - 1] : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
