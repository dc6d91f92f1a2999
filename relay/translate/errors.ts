/**
 * Errors across a translation: an upstream's error answer becomes the client protocol's error
 * body with the same status (a 429 stays a 429, a 400 a 400) and the upstream's message; an
 * in-stream error event becomes the client protocol's error event. The relay classifies the
 * upstream's error in the upstream's own terms (relay/routing/error-classes.ts) before this.
 */
import { anthropic } from '../../protocols/anthropic.js';
import { openAiErrorObject } from '../../protocols/openai-shared.js';
import type { Protocol, SseEvent } from '../../protocols/types.js';
import { isObject, str, tryParse, type Json } from '../../protocols/util.js';

/**
 * The client's error body for an upstream's error answer. `contextLength`: the upstream said
 * the prompt is too long (a Chat client reads that from `code: context_length_exceeded`).
 */
export function translatedErrorBody(upstream: Protocol, client: Protocol, status: number, body: Buffer, contextLength = false): unknown {
  const parsed = tryParse(body.toString('utf8'));
  const error = parsed === undefined ? undefined : upstream.errorFromBody(parsed);
  const message = error?.message || `upstream answered ${status}`;
  return client.errorReply(status, message, contextLength && client.id === 'openai-chat' ? { code: 'context_length_exceeded' } : {}).body;
}

/** A Chat stream's `{error}` chunk as Anthropic's `event: error` (an overload keeps its type). */
export function anthropicErrorEvent(error: Json): SseEvent {
  const type = str(error.type) ?? '';
  const code = str(error.code) ?? '';
  const overloaded = /overload/i.test(type) || /overload/i.test(code);
  return anthropic.streamErrorEvents(str(error.message) ?? '', overloaded ? 'overloaded_error' : 'api_error')[0];
}

/**
 * Anthropic's `event: error` as a Chat error chunk. The Anthropic type stays as the error's type
 * (overloaded_error, api_error): Chat clients read the message, and the relay tells an overload
 * from other stream errors by it.
 */
export function chatErrorChunk(data: unknown): SseEvent {
  const e = isObject(data) && isObject(data.error) ? data.error : {};
  return { data: JSON.stringify({ error: openAiErrorObject(str(e.message) ?? '', str(e.type) ?? 'api_error') }) };
}
