/**
 * The parts of an answer a client read, in its own protocol: the tool calls (Anthropic
 * `tool_use` blocks, their input streamed as input_json_delta; Chat `tool_calls`, their
 * arguments streamed in pieces by index) and, for Anthropic, the content block types in order
 * (a translator must not invent blocks its upstream never sent). A call whose input is not a
 * JSON object keeps `input` undefined, so a check can tell a call that arrived broken from one
 * that arrived whole.
 */
import type { ProtocolId, SseEvent } from '../../protocols/types.js';

export interface ReadToolCall {
  name: string;
  /** The parsed input (Anthropic `input`, Chat `function.arguments`), or undefined when it is not a JSON object. */
  input: Record<string, unknown> | undefined;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseObject(text: string): Json | undefined {
  try {
    const v = JSON.parse(text === '' ? '{}' : text) as unknown;
    return isObject(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Anthropic: the content block types of a non-stream answer body, in order. */
export function blockTypesFromBody(protocol: ProtocolId, body: unknown): string[] | undefined {
  if (protocol !== 'anthropic' || !isObject(body) || !Array.isArray(body.content)) return undefined;
  return body.content.map((b) => (isObject(b) ? String(b.type) : typeof b));
}

/** The tool calls of a non-stream answer body. */
export function toolCallsFromBody(protocol: ProtocolId, body: unknown): ReadToolCall[] {
  if (!isObject(body)) return [];
  if (protocol === 'anthropic' && Array.isArray(body.content)) {
    return body.content.filter((b): b is Json => isObject(b) && b.type === 'tool_use').map((b) => ({ name: String(b.name ?? ''), input: isObject(b.input) ? b.input : undefined }));
  }
  if (protocol === 'openai-chat' && Array.isArray(body.choices) && isObject(body.choices[0]) && isObject(body.choices[0].message)) {
    const calls = body.choices[0].message.tool_calls;
    if (!Array.isArray(calls)) return [];
    return calls.filter(isObject).map((c) => {
      const f = isObject(c.function) ? c.function : {};
      return { name: String(f.name ?? ''), input: typeof f.arguments === 'string' ? parseObject(f.arguments) : undefined };
    });
  }
  return [];
}

/** Collects the tool calls (and Anthropic block types) of a stream, event by event; read them once it is over. */
export class StreamParts {
  private readonly parts = new Map<number, { name: string; json: string }>();
  /** Anthropic: the type of each content block started, in order (undefined for other protocols). */
  readonly blockTypes: string[] | undefined;

  constructor(private readonly protocol: ProtocolId) {
    this.blockTypes = protocol === 'anthropic' ? [] : undefined;
  }

  push(event: SseEvent): void {
    let data: unknown;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    if (!isObject(data)) return;
    if (this.protocol === 'anthropic') {
      const index = typeof data.index === 'number' ? data.index : -1;
      if (data.type === 'content_block_start' && isObject(data.content_block)) this.blockTypes!.push(String(data.content_block.type));
      if (data.type === 'content_block_start' && isObject(data.content_block) && data.content_block.type === 'tool_use') {
        this.parts.set(index, { name: String(data.content_block.name ?? ''), json: '' });
      } else if (data.type === 'content_block_delta' && isObject(data.delta) && data.delta.type === 'input_json_delta') {
        const p = this.parts.get(index);
        if (p && typeof data.delta.partial_json === 'string') p.json += data.delta.partial_json;
      }
      return;
    }
    if (this.protocol === 'openai-chat' && Array.isArray(data.choices) && isObject(data.choices[0]) && isObject(data.choices[0].delta)) {
      const calls = data.choices[0].delta.tool_calls;
      if (!Array.isArray(calls)) return;
      for (const c of calls.filter(isObject)) {
        const index = typeof c.index === 'number' ? c.index : 0;
        const p = this.parts.get(index) ?? { name: '', json: '' };
        const f = isObject(c.function) ? c.function : {};
        if (typeof f.name === 'string') p.name += f.name;
        if (typeof f.arguments === 'string') p.json += f.arguments;
        this.parts.set(index, p);
      }
    }
  }

  get calls(): ReadToolCall[] {
    return [...this.parts.entries()].sort(([a], [b]) => a - b).map(([, p]) => ({ name: p.name, input: parseObject(p.json) }));
  }
}
