/**
 * Chat streams are billed from the upstream's own usage: OpenAI sends a stream's usage only in
 * an extra last chunk (`choices: []`, `usage: {...}`) when the request asks with
 * `stream_options.include_usage`. The relay asks for it when the client did not, and keeps that
 * chunk from the client, which did not ask for it. (Every other chunk then carries
 * `"usage": null`, as it would for a client that asked; the SDKs read both the same way.)
 */
import { withStreamUsage } from '../../protocols/openai-chat.js';
import type { Exchange } from './exchange.js';

/** The relay added include_usage to this request: the usage chunk is the relay's, not the client's. */
export function relayAsksStreamUsage(ex: Pick<Exchange, 'protocol' | 'info'>): boolean {
  return ex.protocol.id === 'openai-chat' && ex.info.stream && !ex.info.includeUsage;
}

/** The body to send upstream with the usage chunk asked for (when the relay asks for it). */
export function askStreamUsage(ex: Pick<Exchange, 'protocol' | 'info'>, body: unknown): unknown {
  return relayAsksStreamUsage(ex) ? withStreamUsage(body) : body;
}
