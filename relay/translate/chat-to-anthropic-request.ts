/**
 * A Chat Completions request as the Anthropic Messages request that means the same, for a claude
 * upstream: system (and developer) messages become `system`, tool_calls tool_use blocks, `tool`
 * messages tool_result blocks in a user turn (consecutive turns of one role merged, as the
 * Messages API wants them alternating), functions tools with input_schema, `stop` stop_sequences.
 * Anthropic requires max_tokens: a request without one gets DEFAULT_MAX_TOKENS. What Messages has
 * no word for (n, logprobs, response_format, presence/frequency penalties, seed) is left out;
 * temperature is capped at Anthropic's 1.
 */
import { contentText, isObject, str, tryParse, type Json } from '../../protocols/util.js';

/** max_tokens for a Chat request that set none (Chat lets the model decide; Messages requires a number). */
export const DEFAULT_MAX_TOKENS = 4096;

export function chatToAnthropicRequest(body: unknown, model: string | undefined): Json {
  const b: Json = isObject(body) ? body : {};
  const out: Json = { model: model ?? b.model };
  const system: string[] = [];
  const messages: Json[] = [];
  if (Array.isArray(b.messages)) {
    for (const m of b.messages) {
      if (!isObject(m)) continue;
      if (m.role === 'system' || m.role === 'developer') {
        const text = contentText(m.content);
        if (text !== '') system.push(text);
        continue;
      }
      const next = anthropicMessage(m);
      const last = messages[messages.length - 1];
      // Two user turns in a row (tool results, then the user's words) are one Messages turn.
      if (last && last.role === next.role) last.content = [...(last.content as Json[]), ...(next.content as Json[])];
      else messages.push(next);
    }
  }
  if (system.length > 0) out.system = system.join('\n\n');
  out.messages = messages;
  out.max_tokens = numberOf(b.max_completion_tokens) ?? numberOf(b.max_tokens) ?? DEFAULT_MAX_TOKENS;
  const stop = typeof b.stop === 'string' ? [b.stop] : Array.isArray(b.stop) ? b.stop.filter((s) => typeof s === 'string') : [];
  if (stop.length > 0) out.stop_sequences = stop;
  if (typeof b.temperature === 'number') out.temperature = Math.min(1, b.temperature);
  if (typeof b.top_p === 'number') out.top_p = b.top_p;
  const tools = Array.isArray(b.tools) ? b.tools.flatMap(anthropicTool) : [];
  if (tools.length > 0) {
    out.tools = tools;
    const choice = anthropicToolChoice(b.tool_choice, b.parallel_tool_calls === false);
    if (choice) out.tool_choice = choice;
  }
  if (typeof b.user === 'string') out.metadata = { user_id: b.user };
  if (b.stream === true) out.stream = true;
  return out;
}

function numberOf(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** One Chat message as a Messages turn whose content is a list of blocks. */
function anthropicMessage(m: Json): Json {
  if (m.role === 'tool') {
    return { role: 'user', content: [{ type: 'tool_result', tool_use_id: str(m.tool_call_id) ?? '', content: contentText(m.content) }] };
  }
  if (m.role === 'assistant') {
    const blocks: Json[] = [];
    const text = contentText(m.content);
    if (text !== '') blocks.push({ type: 'text', text });
    if (Array.isArray(m.tool_calls)) {
      for (const call of m.tool_calls) {
        if (!isObject(call) || !isObject(call.function)) continue;
        const input = tryParse(str(call.function.arguments) ?? '{}');
        blocks.push({ type: 'tool_use', id: str(call.id) ?? '', name: str(call.function.name) ?? '', input: isObject(input) ? input : {} });
      }
    }
    return { role: 'assistant', content: blocks };
  }
  return { role: 'user', content: userBlocks(m.content) };
}

/** User content: a string, or text and image_url parts (a data URL as base64, else as a URL source). */
function userBlocks(content: unknown): Json[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  if (!Array.isArray(content)) return [];
  const out: Json[] = [];
  for (const part of content) {
    if (!isObject(part)) continue;
    if (part.type === 'text') out.push({ type: 'text', text: str(part.text) ?? '' });
    else if (part.type === 'image_url') {
      const url = isObject(part.image_url) ? str(part.image_url.url) : str(part.image_url);
      if (url) out.push({ type: 'image', source: imageSource(url) });
    }
  }
  return out;
}

const DATA_URL = /^data:([^;,]+);base64,(.*)$/s;

function imageSource(url: string): Json {
  const m = DATA_URL.exec(url);
  return m ? { type: 'base64', media_type: m[1], data: m[2] } : { type: 'url', url };
}

/** A function tool as an Anthropic tool; a function without parameters takes an empty object. */
function anthropicTool(tool: unknown): Json[] {
  if (!isObject(tool) || tool.type !== 'function' || !isObject(tool.function) || typeof tool.function.name !== 'string') return [];
  const fn = tool.function;
  const out: Json = { name: fn.name, input_schema: isObject(fn.parameters) ? fn.parameters : { type: 'object', properties: {} } };
  if (typeof fn.description === 'string') out.description = fn.description;
  return [out];
}

/** auto / required / none / a named function -> auto / any / none / tool; parallel_tool_calls false disables parallel use. */
function anthropicToolChoice(choice: unknown, noParallel: boolean): Json | undefined {
  let out: Json | undefined;
  if (choice === 'auto') out = { type: 'auto' };
  else if (choice === 'required') out = { type: 'any' };
  else if (choice === 'none') out = { type: 'none' };
  else if (isObject(choice) && isObject(choice.function) && typeof choice.function.name === 'string') out = { type: 'tool', name: choice.function.name };
  if (noParallel && out?.type !== 'none') out = { ...(out ?? { type: 'auto' }), disable_parallel_tool_use: true };
  return out;
}
