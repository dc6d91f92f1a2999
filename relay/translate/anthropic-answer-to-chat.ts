/**
 * An Anthropic Message (non-stream) as the Chat completion a Chat client expects: text blocks
 * joined as the message's content, tool_use blocks as tool_calls (input serialised as
 * arguments), stop_reason as finish_reason, usage as Chat usage (input, cache writes and cache
 * reads are all prompt tokens, cache reads also `cached_tokens`). Thinking blocks have no place in
 * a Chat message and are left out.
 */
import { anthropic } from '../../protocols/anthropic.js';
import { chatUsage } from '../../protocols/openai-chat.js';
import { ZERO_USAGE } from '../../protocols/types.js';
import { isObject, prefixed, str, type Json } from '../../protocols/util.js';
import { chatFinishReason } from './stop-reasons.js';

/** `created`: seconds since the epoch (the relay's clock; Messages has no timestamp). */
export function anthropicAnswerToChat(body: unknown, created: number): Json {
  const b: Json = isObject(body) ? body : {};
  let text = '';
  const calls: Json[] = [];
  for (const block of Array.isArray(b.content) ? b.content : []) {
    if (!isObject(block)) continue;
    if (block.type === 'text' && typeof block.text === 'string') text += block.text;
    else if (block.type === 'tool_use') {
      calls.push({ id: str(block.id) ?? '', type: 'function', function: { name: str(block.name) ?? '', arguments: JSON.stringify(block.input ?? {}) } });
    }
  }
  const message: Json = { role: 'assistant', content: calls.length > 0 && text === '' ? null : text, refusal: null };
  if (calls.length > 0) message.tool_calls = calls;
  return {
    id: chatCompletionId(str(b.id)),
    object: 'chat.completion',
    created,
    model: str(b.model) ?? '',
    choices: [{ index: 0, message, logprobs: null, finish_reason: chatFinishReason(str(b.stop_reason)) }],
    usage: chatUsage(anthropic.usageFromBody(b) ?? ZERO_USAGE),
  };
}

/** chatcmpl-<the message's own id>. */
export function chatCompletionId(messageId: string | undefined): string {
  return prefixed('chatcmpl-', (messageId ?? 'translated').replace(/^msg_/, ''));
}
