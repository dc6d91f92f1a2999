/**
 * What a mock "says": deterministic for (upstream seed, request number). Words come from a list
 * faker builds once at startup; each request then draws from a seeded generator, which costs
 * microseconds where seeding faker per request would cost a benchmark its ceiling.
 *
 * One token = one word (with its leading space), so output_tokens === tokens.length, exactly.
 * After an assistant prefill the answer continues it mid-sentence.
 * The answer is text that ends the turn; a tool call (a short lead-in text, then the call, stop
 * reason tool_use) only when `tool-calls.ts` decides one was asked for. A request that asks for
 * reasoning (protocols/reasoning.ts) gets reasoning tokens first, words of the same list, as many
 * as the upstream's `reasoning_tokens` scaled by the effort, capped by a thinking budget; they
 * count against max_tokens like the answer's.
 */
import { faker } from '@faker-js/faker';
import { EFFORT_SCALE, requestedReasoning } from '../protocols/reasoning.js';
import type { GeneratedContent, ProtocolId, RequestInfo } from '../protocols/types.js';
import { mixSeed, seededRandom } from './random.js';
import { planToolCall, type ToolCallAsk, type ToolCallPolicy } from './tool-calls.js';

/** Every word a mock answer is made of (tests recognise the mock's text by it). */
export const MOCK_WORDS: readonly string[] = (() => {
  faker.seed(20_260_101);
  const words = new Set<string>();
  while (words.size < 1500) words.add(faker.word.sample());
  return [...words];
})();

export interface ContentOptions {
  seed: number;
  requestNumber: number;
  /** Tokens to emit before max_tokens applies. */
  outputTokens: number;
  /** The request's protocol (where its tools, tool_choice and last turn are). */
  protocol: ProtocolId;
  /** Reasoning tokens at medium effort, for a request that asks for reasoning (config `output.reasoning_tokens`). */
  reasoningTokens?: number;
  /** The upstream's standing tool-call policy (config `tool_calls`). */
  toolCalls?: ToolCallPolicy;
  /** A rule's `respond.tool_call`. */
  ask?: ToolCallAsk;
  /**
   * The request ends with an assistant prefill: the answer goes on from it mid-sentence (its first
   * word lower-case, after a space), so prefill + answer read as one text.
   */
  continues?: boolean;
}

export function generateContent(info: RequestInfo, body: unknown, opts: ContentOptions): GeneratedContent {
  const random = seededRandom(mixSeed(opts.seed, opts.requestNumber));
  const limit = info.maxOutputTokens !== undefined && info.maxOutputTokens >= 0 ? info.maxOutputTokens : Infinity;
  const call = info.hasTools || opts.ask ? planToolCall(opts.protocol, body, random, opts.toolCalls, opts.ask) : undefined;
  const reasoning = reasoningOf(opts, body, limit, random);
  const room = limit - (reasoning?.tokens.length ?? 0);
  let want = opts.outputTokens;
  // A tool call spends output tokens on its arguments; keep a short lead-in text.
  if (call) want = Math.min(want, 3);
  const count = Math.min(want, room);
  const tokens = words(count, random, !opts.continues);
  if (count > 0 && count === want && !call) tokens[count - 1] += '.';
  const withReasoning = (c: GeneratedContent): GeneratedContent => (reasoning ? { ...c, reasoning } : c);
  if (call && count === want) {
    const json = JSON.stringify(call.input);
    const third = Math.ceil(json.length / 3);
    const argumentChunks = [json.slice(0, third), json.slice(third, 2 * third), json.slice(2 * third)].filter((c) => c.length > 0);
    const id = `call_${Math.floor(random() * 2 ** 48).toString(36)}`;
    return withReasoning({ tokens, toolCall: { id, name: call.name, input: call.input, argumentChunks }, stopReason: 'tool_use' });
  }
  return withReasoning({ tokens, stopReason: count < want ? 'max_tokens' : 'end_turn' });
}

/** `count` words of the mock's list, each after a space but the first, capitalised when `opens` the text. */
function words(count: number, random: () => number, opens = true): string[] {
  const tokens = new Array<string>(count);
  for (let i = 0; i < count; i++) {
    const word = MOCK_WORDS[Math.floor(random() * MOCK_WORDS.length)];
    tokens[i] = i === 0 && opens ? capitalize(word) : ' ' + word;
  }
  return tokens;
}

/** The reasoning the request asked for: the upstream's count scaled by the effort, within the budget and max_tokens. */
function reasoningOf(opts: ContentOptions, body: unknown, limit: number, random: () => number): GeneratedContent['reasoning'] {
  const ask = requestedReasoning(opts.protocol, body);
  if (!ask || !opts.reasoningTokens) return undefined;
  const scaled = Math.max(1, Math.ceil(opts.reasoningTokens * (EFFORT_SCALE[ask.effort] ?? 1)));
  const count = Math.min(scaled, ask.budget ?? Infinity, limit);
  return { tokens: words(count, random), shown: ask.shown, encrypted: ask.encrypted };
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
