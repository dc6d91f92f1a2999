/**
 * Protocol translation: a client of one protocol served by an upstream of another, opt-in per
 * endpoint (`translate_from`). A `Translation` is everything an upstream attempt needs to speak
 * the upstream's protocol and answer in the client's: the upstream path, the request, the
 * non-stream answer, a stream translator (whole events in, whole events out) and the error body.
 * Pure functions and one stateful stream transformer per direction; the relay's one seam is
 * relay/proxy/upstream-attempt.ts (see README.md here).
 */
import { anthropic } from '../../protocols/anthropic.js';
import { openaiChat } from '../../protocols/openai-chat.js';
import type { Protocol, ProtocolId } from '../../protocols/types.js';
import { anthropicAnswerToChat } from './anthropic-answer-to-chat.js';
import { AnthropicToChatStream } from './anthropic-stream-to-chat.js';
import { anthropicToChatRequest } from './anthropic-to-chat-request.js';
import { chatAnswerToAnthropic } from './chat-answer-to-anthropic.js';
import { ChatToAnthropicStream } from './chat-stream-to-anthropic.js';
import { chatToAnthropicRequest } from './chat-to-anthropic-request.js';
import { translatedErrorBody } from './errors.js';
import type { EventTranslator, StreamContext } from './event-translator.js';
import type { TranslatableType } from './pairs.js';

export type { EventTranslator, StreamContext } from './event-translator.js';
export { TranslatedEventStream } from './event-stream.js';
export { translatableFrom, TRANSLATES_FROM } from './pairs.js';

export interface Translation {
  /** `anthropic>openai-chat`: the client's protocol, then the upstream's (the attempt trail shows it). */
  readonly label: string;
  readonly client: Protocol;
  readonly upstream: Protocol;
  /** The upstream API's path below the endpoint's base URL. */
  readonly path: string;
  /** The upstream's request for the client's body; `model`: the name the upstream is asked for (model_map applied). */
  request(body: unknown, model: string | undefined): unknown;
  /** The client's answer for the upstream's non-stream answer; `created`: seconds since the epoch. */
  answer(body: unknown, created: number): unknown;
  stream(ctx: StreamContext): EventTranslator;
  /** The client's error body for the upstream's error answer (the status stays). */
  error(status: number, body: Buffer, contextLength: boolean): unknown;
}

const ANTHROPIC_TO_CHAT: Translation = {
  label: 'anthropic>openai-chat',
  client: anthropic,
  upstream: openaiChat,
  path: '/v1/chat/completions',
  request: anthropicToChatRequest,
  answer: (body) => chatAnswerToAnthropic(body),
  stream: (ctx) => new ChatToAnthropicStream(ctx),
  error: (status, body, contextLength) => translatedErrorBody(openaiChat, anthropic, status, body, contextLength),
};

const CHAT_TO_ANTHROPIC: Translation = {
  label: 'openai-chat>anthropic',
  client: openaiChat,
  upstream: anthropic,
  path: '/v1/messages',
  request: chatToAnthropicRequest,
  answer: anthropicAnswerToChat,
  stream: (ctx) => new AnthropicToChatStream(ctx),
  error: (status, body, contextLength) => translatedErrorBody(anthropic, openaiChat, status, body, contextLength),
};

const BY_TYPE: Readonly<Record<TranslatableType, Partial<Record<ProtocolId, Translation>>>> = {
  openai: { anthropic: ANTHROPIC_TO_CHAT },
  claude: { 'openai-chat': CHAT_TO_ANTHROPIC },
};

/** The translation that serves `from` clients on an endpoint of `type`, when there is one. */
export function translationFor(from: ProtocolId, type: string): Translation | undefined {
  return type === 'openai' || type === 'claude' ? BY_TYPE[type][from] : undefined;
}
