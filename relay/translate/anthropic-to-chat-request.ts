/**
 * An Anthropic Messages request as the Chat Completions request that means the same, for an
 * OpenAI Chat upstream: the system prompt becomes the first (system) message, content blocks
 * become Chat content parts, tool_use blocks an assistant's tool_calls, tool_result blocks `tool`
 * messages, tools functions, tool_choice its Chat form, stop_sequences `stop`. A stream asks for
 * the usage chunk (`stream_options.include_usage`): it is what the relay bills and what the
 * client's message_delta reports. What Chat has no word for (top_k, thinking, cache_control,
 * server tools) is left out.
 */
import { isObject, str, type Json } from '../../protocols/util.js';

export function anthropicToChatRequest(body: unknown, model: string | undefined): Json {
  const b: Json = isObject(body) ? body : {};
  const out: Json = { model: model ?? b.model };
  const messages: Json[] = [];
  const system = systemText(b.system);
  if (system !== undefined) messages.push({ role: 'system', content: system });
  if (Array.isArray(b.messages)) for (const m of b.messages) if (isObject(m)) messages.push(...chatMessages(m));
  out.messages = messages;
  if (typeof b.max_tokens === 'number') out.max_tokens = b.max_tokens;
  if (Array.isArray(b.stop_sequences) && b.stop_sequences.length > 0) out.stop = b.stop_sequences;
  if (typeof b.temperature === 'number') out.temperature = b.temperature;
  if (typeof b.top_p === 'number') out.top_p = b.top_p;
  const tools = Array.isArray(b.tools) ? b.tools.flatMap(chatTool) : [];
  if (tools.length > 0) {
    out.tools = tools;
    const choice = chatToolChoice(b.tool_choice);
    if (choice !== undefined) out.tool_choice = choice;
    if (isObject(b.tool_choice) && b.tool_choice.disable_parallel_tool_use === true) out.parallel_tool_calls = false;
  }
  if (isObject(b.metadata) && typeof b.metadata.user_id === 'string') out.user = b.metadata.user_id;
  if (b.stream === true) {
    out.stream = true;
    out.stream_options = { include_usage: true };
  }
  return out;
}

/** `system` as a string or a list of text blocks. */
function systemText(system: unknown): string | undefined {
  if (typeof system === 'string') return system === '' ? undefined : system;
  if (!Array.isArray(system)) return undefined;
  const parts = system.filter(isObject).map((p) => str(p.text) ?? '').filter((t) => t !== '');
  return parts.length > 0 ? parts.join('\n\n') : undefined;
}

/**
 * One Anthropic message as Chat messages: a user turn's tool results come first as `tool`
 * messages (Chat wants them right after the assistant's tool_calls), then what else it says.
 */
function chatMessages(m: Json): Json[] {
  const role = m.role === 'assistant' ? 'assistant' : 'user';
  if (typeof m.content === 'string') return [{ role, content: m.content }];
  if (!Array.isArray(m.content)) return [{ role, content: '' }];
  const blocks = m.content.filter(isObject);
  if (role === 'assistant') return [assistantMessage(blocks)];
  const out: Json[] = [];
  const parts: Json[] = [];
  for (const block of blocks) {
    if (block.type === 'tool_result') out.push({ role: 'tool', tool_call_id: str(block.tool_use_id) ?? '', content: toolResultText(block) });
    else {
      const part = userPart(block);
      if (part) parts.push(part);
    }
  }
  if (parts.length > 0) out.push({ role: 'user', content: parts.every((p) => p.type === 'text') ? parts.map((p) => p.text).join('') : parts });
  return out;
}

function assistantMessage(blocks: Json[]): Json {
  let text = '';
  const calls: Json[] = [];
  for (const block of blocks) {
    if (block.type === 'text' && typeof block.text === 'string') text += block.text;
    else if (block.type === 'tool_use') {
      calls.push({ id: str(block.id) ?? '', type: 'function', function: { name: str(block.name) ?? '', arguments: JSON.stringify(block.input ?? {}) } });
    }
    // thinking / redacted_thinking: Chat has no place for them in a request.
  }
  const message: Json = { role: 'assistant', content: calls.length > 0 && text === '' ? null : text };
  if (calls.length > 0) message.tool_calls = calls;
  return message;
}

/** A user block as a Chat content part: text, or an image (base64 as a data URL, or its URL). */
function userPart(block: Json): Json | undefined {
  if (block.type === 'text') return { type: 'text', text: str(block.text) ?? '' };
  if (block.type === 'image' && isObject(block.source)) {
    const s = block.source;
    if (s.type === 'base64') return { type: 'image_url', image_url: { url: `data:${str(s.media_type) ?? 'image/png'};base64,${str(s.data) ?? ''}` } };
    if (s.type === 'url') return { type: 'image_url', image_url: { url: str(s.url) ?? '' } };
  }
  return undefined;
}

/** A tool result's content: a string, or text blocks joined (images in a result are left out). */
function toolResultText(block: Json): string {
  const c = block.content;
  if (typeof c === 'string') return c;
  if (!Array.isArray(c)) return '';
  return c
    .filter(isObject)
    .map((p) => (p.type === 'text' ? (str(p.text) ?? '') : ''))
    .join('');
}

/** A client tool (name + input_schema) as a function; server tools (web_search ...) have no Chat form. */
function chatTool(tool: unknown): Json[] {
  if (!isObject(tool) || typeof tool.name !== 'string' || !isObject(tool.input_schema)) return [];
  const fn: Json = { name: tool.name, parameters: tool.input_schema };
  if (typeof tool.description === 'string') fn.description = tool.description;
  return [{ type: 'function', function: fn }];
}

/** auto / any / tool / none -> auto / required / a named function / none. */
function chatToolChoice(choice: unknown): unknown {
  if (!isObject(choice)) return undefined;
  switch (choice.type) {
    case 'auto':
      return 'auto';
    case 'any':
      return 'required';
    case 'none':
      return 'none';
    case 'tool':
      return { type: 'function', function: { name: str(choice.name) ?? '' } };
    default:
      return undefined;
  }
}
