/**
 * What a request asks about reasoning, per wire protocol. The mocks answer a request that asks
 * with the protocol's reasoning output, billed as output tokens as the real APIs bill it:
 *   - Anthropic `thinking: {type: enabled, budget_tokens} | {type: adaptive}` (effort from
 *     `output_config.effort`; `display: omitted` keeps the thinking text out, the signature in):
 *     a `thinking` block before the text (stream: `thinking_delta`s, then one `signature_delta`);
 *   - Responses `reasoning: {effort?, summary?}`: a `reasoning` output item before the message,
 *     its summary streamed when a summary is asked for, `encrypted_content` when `include` names
 *     `reasoning.encrypted_content`; `output_tokens_details.reasoning_tokens` in usage;
 *   - Chat `reasoning_effort`: no reasoning text (Chat Completions never returns it), only
 *     `completion_tokens_details.reasoning_tokens`.
 * An effort of `none` (Chat / Responses) or `thinking.type: disabled` asks for none.
 */
import { createHash } from 'node:crypto';
import type { ProtocolId } from './types.js';
import { isObject, str } from './util.js';

export interface ReasoningAsk {
  /** The effort asked for (`medium` when the request names none). */
  effort: string;
  /** Whether the reasoning text is sent (Anthropic thinking not omitted; a Responses summary). */
  shown: boolean;
  /** Anthropic `budget_tokens`: thinking never spends more. */
  budget?: number;
  /** Responses: `include` names `reasoning.encrypted_content`. */
  encrypted: boolean;
}

/** How many reasoning tokens an effort spends, as a multiple of the upstream's setting. */
export const EFFORT_SCALE: Readonly<Record<string, number>> = { minimal: 0.25, low: 0.5, medium: 1, high: 2, xhigh: 3, max: 3 };

export function requestedReasoning(protocol: ProtocolId, body: unknown): ReasoningAsk | undefined {
  if (!isObject(body)) return undefined;
  switch (protocol) {
    case 'anthropic': {
      const t = body.thinking;
      if (!isObject(t) || (t.type !== 'enabled' && t.type !== 'adaptive')) return undefined;
      const effort = isObject(body.output_config) ? str(body.output_config.effort) : undefined;
      const budget = typeof t.budget_tokens === 'number' ? t.budget_tokens : undefined;
      return { effort: effort ?? 'medium', shown: t.display !== 'omitted', encrypted: false, ...(budget !== undefined ? { budget } : {}) };
    }
    case 'openai-chat': {
      const effort = str(body.reasoning_effort);
      if (effort === undefined || effort === 'none') return undefined;
      return { effort, shown: false, encrypted: false };
    }
    case 'openai-responses': {
      const r = body.reasoning;
      if (!isObject(r)) return undefined;
      const effort = str(r.effort) ?? 'medium';
      if (effort === 'none') return undefined;
      const summary = str(r.summary) ?? str(r.generate_summary);
      const encrypted = Array.isArray(body.include) && body.include.includes('reasoning.encrypted_content');
      return { effort, shown: summary !== undefined && summary !== 'none', encrypted };
    }
    default:
      return undefined;
  }
}

/**
 * An opaque, deterministic blob standing for what the real APIs send back to be returned
 * verbatim: a thinking block's `signature`, a reasoning item's `encrypted_content` (whose real
 * values start `gAAAAA`, a Fernet token). Base64 of chained SHA-256 of the seed, `length` long.
 */
export function opaqueBlob(seed: string, length: number, prefix = ''): string {
  let out = prefix;
  let block = createHash('sha256').update(seed).digest();
  while (out.length < length) {
    out += block.toString('base64').replace(/=+$/, '');
    block = createHash('sha256').update(block).digest();
  }
  return out.slice(0, length);
}
