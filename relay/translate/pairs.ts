/**
 * Which client protocols an endpoint type can serve by translation (an endpoint opts in with
 * `translate_from`): Anthropic Messages clients on OpenAI Chat endpoints, Chat clients on claude
 * endpoints. Kept apart from the translators so the config schema can name the pairs without
 * loading them.
 */
import type { ProtocolId } from '../../protocols/types.js';

export type TranslatableType = 'claude' | 'openai';

export const TRANSLATES_FROM: Readonly<Record<TranslatableType, readonly ProtocolId[]>> = {
  openai: ['anthropic'],
  claude: ['openai-chat'],
};

/** The client protocols an endpoint of `type` may serve by translation (none for the other types). */
export function translatableFrom(type: string): readonly ProtocolId[] {
  return type === 'openai' || type === 'claude' ? TRANSLATES_FROM[type] : [];
}
