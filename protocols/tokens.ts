/**
 * THE token rule of relaylab. Mocks bill input with it, the relay estimates with it, scenarios
 * predict with it, so all three agree to the token.
 *
 *   countTextTokens(text)  = ceil(text.length / 4)        (UTF-16 code units; '' -> 0)
 *     the one estimate of tokens from text: tokensForChars(n) is the same rule for n characters
 *   estimateInputTokens(p, body) = max(1, ceil(C / 4)) where C is the number of characters of all
 *     text the request carries, summed per protocol:
 *       anthropic        system (string or text blocks) + every message's content (string, text
 *                        blocks, tool_use input as JSON, tool_result content) + JSON of `tools`
 *       openai-chat      every message's content (string or text parts) + tool_calls' function
 *                        arguments + JSON of `tools`
 *       openai-responses instructions + input (string, or items: content string/parts,
 *                        function_call arguments, function_call_output output) + JSON of `tools`
 *       custom-pass      JSON of the whole request body (it has no known text fields)
 *     Summing characters (not per-part ceil) keeps the rule independent of how text is chunked.
 *   Output tokens that an upstream reports are what it reports (the mocks: a generated token is
 *   one token). Only what no upstream reported is estimated, from the text that was delivered:
 *   a stream cut mid-way is billed tokensForChars(characters of the text, refusal and tool
 *   arguments its content events carried), by the mocks (LabeledEvent.chars) and by the relay
 *   (StreamObserver.contentTokens) alike.
 */
import type { GeneratedContent, ProtocolId, Usage } from './types.js';
import { contentText, isObject } from './util.js';

/** Two usages summed, field by field (an answer that two upstreams wrote, a request's upstream calls). */
export function addUsage(a: Usage, b: Usage): Usage {
  const sum: Usage = {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cacheWriteTokens: a.cacheWriteTokens + b.cacheWriteTokens,
    cacheReadTokens: a.cacheReadTokens + b.cacheReadTokens,
  };
  if (a.estimated || b.estimated) sum.estimated = true;
  return sum;
}

export function countTextTokens(text: string): number {
  return tokensForChars(text.length);
}

/** countTextTokens for a text of `chars` characters (what a stream's observer counts as it goes). */
export function tokensForChars(chars: number): number {
  return Math.ceil(chars / 4);
}

export function estimateInputTokens(protocol: ProtocolId, body: unknown): number {
  return Math.max(1, Math.ceil(requestTextLength(protocol, body) / 4));
}

/**
 * Output tokens the generated content bills: one per text token, one per tool-argument chunk and
 * one per reasoning token (reasoning is output, billed whether its text is shown or not).
 */
export function generatedOutputTokens(content: GeneratedContent): number {
  return content.tokens.length + (content.toolCall ? content.toolCall.argumentChunks.length : 0) + (content.reasoning?.tokens.length ?? 0);
}

export function requestTextLength(protocol: ProtocolId, body: unknown): number {
  if (!isObject(body)) return 0;
  switch (protocol) {
    case 'anthropic':
      return anthropicChars(body);
    case 'openai-chat':
      return chatChars(body);
    case 'openai-responses':
      return responsesChars(body);
    case 'custom-pass':
      return safeJsonLength(body);
  }
}

function safeJsonLength(v: unknown): number {
  if (v === undefined || v === null) return 0;
  try {
    return JSON.stringify(v)?.length ?? 0;
  } catch {
    return 0;
  }
}

function toolsChars(tools: unknown): number {
  return Array.isArray(tools) && tools.length > 0 ? safeJsonLength(tools) : 0;
}

function anthropicBlockChars(block: unknown): number {
  if (typeof block === 'string') return block.length;
  if (!isObject(block)) return 0;
  if (typeof block.text === 'string') return block.text.length;
  if (block.type === 'tool_use') return safeJsonLength(block.input);
  if (block.type === 'tool_result') return anthropicContentChars(block.content);
  return 0;
}

function anthropicContentChars(content: unknown): number {
  if (typeof content === 'string') return content.length;
  if (!Array.isArray(content)) return 0;
  let n = 0;
  for (const b of content) n += anthropicBlockChars(b);
  return n;
}

function anthropicChars(body: Record<string, unknown>): number {
  let n = anthropicContentChars(body.system);
  if (Array.isArray(body.messages)) {
    for (const m of body.messages) if (isObject(m)) n += anthropicContentChars(m.content);
  }
  return n + toolsChars(body.tools);
}

function chatChars(body: Record<string, unknown>): number {
  let n = 0;
  if (Array.isArray(body.messages)) {
    for (const m of body.messages) {
      if (!isObject(m)) continue;
      n += contentText(m.content).length;
      if (Array.isArray(m.tool_calls)) {
        for (const c of m.tool_calls) {
          if (isObject(c) && isObject(c.function) && typeof c.function.arguments === 'string') {
            n += c.function.arguments.length;
          }
        }
      }
    }
  }
  return n + toolsChars(body.tools);
}

function responsesItemChars(item: unknown): number {
  if (typeof item === 'string') return item.length;
  if (!isObject(item)) return 0;
  if (item.type === 'function_call') return typeof item.arguments === 'string' ? item.arguments.length : 0;
  if (item.type === 'function_call_output') {
    return typeof item.output === 'string' ? item.output.length : contentText(item.output).length;
  }
  return contentText(item.content).length;
}

function responsesChars(body: Record<string, unknown>): number {
  let n = typeof body.instructions === 'string' ? body.instructions.length : 0;
  const input = body.input;
  if (typeof input === 'string') n += input.length;
  else if (Array.isArray(input)) for (const item of input) n += responsesItemChars(item);
  return n + toolsChars(body.tools);
}
