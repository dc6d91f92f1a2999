/**
 * A Chat completion (non-stream) as the Anthropic Message a Messages client expects: the first
 * choice's text as a text block, its tool_calls as tool_use blocks (arguments parsed back into
 * `input`), finish_reason as stop_reason, and the upstream's usage as Anthropic usage (prompt
 * tokens less cached ones as input_tokens, cached ones as cache reads, completion tokens as
 * output_tokens: protocols' `Usage` is the pivot).
 */
import { anthropicUsage } from '../../protocols/anthropic.js';
import { readChatUsage } from '../../protocols/openai-chat.js';
import { ZERO_USAGE } from '../../protocols/types.js';
import { isObject, prefixed, str, tryParse, type Json } from '../../protocols/util.js';
import { anthropicStopReason } from './stop-reasons.js';

export function chatAnswerToAnthropic(body: unknown): Json {
  const b: Json = isObject(body) ? body : {};
  const choice = Array.isArray(b.choices) && isObject(b.choices[0]) ? b.choices[0] : {};
  const message = isObject(choice.message) ? choice.message : {};
  const content: Json[] = [];
  const text = typeof message.content === 'string' ? message.content : '';
  const calls = Array.isArray(message.tool_calls) ? message.tool_calls.filter(isObject) : [];
  // A message always has a block: an empty text one when the model said nothing and called nothing.
  if (text !== '' || calls.length === 0) content.push({ type: 'text', text });
  for (const call of calls) {
    const fn = isObject(call.function) ? call.function : {};
    const input = tryParse(str(fn.arguments) ?? '{}');
    content.push({ type: 'tool_use', id: str(call.id) ?? '', name: str(fn.name) ?? '', input: isObject(input) ? input : {} });
  }
  return {
    id: anthropicMessageId(str(b.id)),
    type: 'message',
    role: 'assistant',
    model: str(b.model) ?? '',
    content,
    stop_reason: anthropicStopReason(str(choice.finish_reason)),
    stop_sequence: null,
    usage: anthropicUsage(readChatUsage(b.usage) ?? ZERO_USAGE),
  };
}

/** msg_<the completion's own id>: the same answer under the client protocol's prefix. */
export function anthropicMessageId(chatId: string | undefined): string {
  return prefixed('msg_', (chatId ?? 'translated').replace(/^chatcmpl-/, ''));
}
