/**
 * The usage a mock bills for a request. Input follows protocols/tokens.ts; output is the number
 * of tokens generated. Prompt caching follows one documented rule, so tests see non-zero cache
 * fields on demand:
 *
 *   The cacheable prefix of a request is everything but its last message / input item
 *   (system, instructions and tools included); its size is ceil(prefix characters / 4).
 *   - Anthropic: a request with `cache_control` on any system block, tool or message block.
 *     The first time a (credential, model, prefix) is seen the prefix is a cache WRITE
 *     (cache_creation_input_tokens), every later time a cache READ (cache_read_input_tokens).
 *   - OpenAI Chat / Responses (and the Codex backend): a request with `prompt_cache_key`. The first
 *     time nothing is cached; later the prefix is READ (prompt_tokens_details.cached_tokens).
 *   - custom-pass: no caching.
 *   input_tokens (non-cached) = max(0, estimated input - cached prefix).
 */
import { createHash } from 'node:crypto';
import { requestTextLength } from '../protocols/tokens.js';
import type { ProtocolId, RequestInfo, Usage } from '../protocols/types.js';

const MAX_KEYS = 50_000;

export class CacheMemory {
  private keys = new Set<string>();

  /** true if the key was seen before; remembers it either way. */
  seen(key: string): boolean {
    if (this.keys.has(key)) return true;
    if (this.keys.size >= MAX_KEYS) this.keys.clear();
    this.keys.add(key);
    return false;
  }

  clear(): void {
    this.keys.clear();
  }
}

export function billUsage(
  protocol: ProtocolId,
  body: unknown,
  info: RequestInfo,
  outputTokens: number,
  credential: string | undefined,
  memory: CacheMemory,
): Usage {
  const usage: Usage = { inputTokens: info.estimatedInputTokens, outputTokens, cacheWriteTokens: 0, cacheReadTokens: 0 };
  const prefix = cacheablePrefix(protocol, body);
  if (prefix === undefined) return usage;
  const tokens = Math.ceil(requestTextLength(protocol, prefix) / 4);
  if (tokens === 0) return usage;
  const key = `${credential ?? ''}\0${info.model ?? ''}\0${createHash('sha1').update(JSON.stringify(prefix)).digest('base64')}`;
  const hit = memory.seen(key);
  if (protocol === 'anthropic') {
    if (hit) usage.cacheReadTokens = tokens;
    else usage.cacheWriteTokens = tokens;
  } else if (hit) {
    usage.cacheReadTokens = tokens;
  } else {
    return usage;
  }
  usage.inputTokens = Math.max(0, usage.inputTokens - tokens);
  return usage;
}

type Body = Record<string, unknown>;

/** The request without its last message / input item, when caching is asked for; else undefined. */
function cacheablePrefix(protocol: ProtocolId, body: unknown): Body | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as Body;
  switch (protocol) {
    case 'anthropic':
      if (!hasCacheControl(b)) return undefined;
      return { system: b.system, tools: b.tools, messages: Array.isArray(b.messages) ? b.messages.slice(0, -1) : [] };
    case 'openai-chat':
      if (typeof b.prompt_cache_key !== 'string') return undefined;
      return { tools: b.tools, messages: Array.isArray(b.messages) ? b.messages.slice(0, -1) : [] };
    case 'openai-responses':
      if (typeof b.prompt_cache_key !== 'string') return undefined;
      return { instructions: b.instructions, tools: b.tools, input: Array.isArray(b.input) ? b.input.slice(0, -1) : [] };
    default:
      return undefined;
  }
}

function marked(block: unknown): boolean {
  return typeof block === 'object' && block !== null && 'cache_control' in block;
}

function hasCacheControl(b: Body): boolean {
  if (Array.isArray(b.system) && b.system.some(marked)) return true;
  if (Array.isArray(b.tools) && b.tools.some(marked)) return true;
  if (Array.isArray(b.messages)) {
    for (const m of b.messages) {
      const content = (m as { content?: unknown } | null)?.content;
      if (Array.isArray(content) && content.some(marked)) return true;
    }
  }
  return false;
}
