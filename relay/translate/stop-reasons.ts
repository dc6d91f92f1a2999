/**
 * Why the model stopped, in each protocol's words. Anthropic says which kind of stop it was
 * (`end_turn`, `stop_sequence`); Chat only says `stop` for both, so a Chat `stop` reads as
 * `end_turn` (a client that sent stop sequences sees them cut the text either way).
 */

/** Chat finish_reason -> Anthropic stop_reason. */
export function anthropicStopReason(finish: string | null | undefined): string {
  switch (finish) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
    case 'function_call':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    default:
      return 'end_turn';
  }
}

/** Anthropic stop_reason -> Chat finish_reason: the protocol's own mapping, which the mocks use too. */
export { finishReason as chatFinishReason } from '../../protocols/openai-chat.js';
