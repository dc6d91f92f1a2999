/** The protocols, by wire id and by endpoint kind. */
import { anthropic } from './anthropic.js';
import { customPass } from './custom-pass.js';
import { openaiChat } from './openai-chat.js';
import { openaiResponses } from './openai-responses.js';
import type { Protocol, ProtocolId, UpstreamKind } from './types.js';

export { anthropic, customPass, openaiChat, openaiResponses };
export * from './types.js';
export { encodeSse, encodeSseAll, SseDecoder, isDone, DONE_DATA } from './sse.js';
export { countTextTokens, estimateInputTokens, generatedOutputTokens } from './tokens.js';
export { upstreamAuthHeaders, readClientCredential, isAnthropicOAuthToken } from './auth.js';

const BY_ID: Record<ProtocolId, Protocol> = {
  anthropic,
  'openai-chat': openaiChat,
  'openai-responses': openaiResponses,
  'custom-pass': customPass,
};

const BY_KIND: Record<UpstreamKind, ProtocolId> = {
  claude: 'anthropic',
  openai: 'openai-chat',
  'openai-responses': 'openai-responses',
  'chatgpt-oauth': 'openai-responses',
  'custom-pass': 'custom-pass',
};

export function protocolFor(id: ProtocolId): Protocol {
  const p = BY_ID[id];
  if (!p) throw new Error(`unknown protocol: ${String(id)}`);
  return p;
}

export function protocolIdForKind(kind: UpstreamKind): ProtocolId {
  const id = BY_KIND[kind];
  if (!id) throw new Error(`unknown upstream kind: ${String(kind)}`);
  return id;
}

export function protocolForKind(kind: UpstreamKind): Protocol {
  return protocolFor(protocolIdForKind(kind));
}

export const PROTOCOL_IDS: readonly ProtocolId[] = ['anthropic', 'openai-chat', 'openai-responses', 'custom-pass'];
export const UPSTREAM_KINDS: readonly UpstreamKind[] = ['claude', 'openai', 'openai-responses', 'chatgpt-oauth', 'custom-pass'];
