/**
 * What a mock "says": deterministic for (upstream seed, request number). Words come from a list
 * faker builds once at startup; each request then draws from a seeded generator, which costs
 * microseconds where seeding faker per request would cost a benchmark its ceiling.
 *
 * One token = one word (with its leading space), so output_tokens === tokens.length, exactly.
 * A request with tools gets one tool call (text first, then the call) and stop reason tool_use.
 */
import { faker } from '@faker-js/faker';
import type { GeneratedContent, RequestInfo } from '../protocols/types.js';
import { mixSeed, seededRandom } from './random.js';

const WORDS: readonly string[] = (() => {
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
}

export function generateContent(info: RequestInfo, body: unknown, opts: ContentOptions): GeneratedContent {
  const random = seededRandom(mixSeed(opts.seed, opts.requestNumber));
  const limit = info.maxOutputTokens !== undefined && info.maxOutputTokens >= 0 ? info.maxOutputTokens : Infinity;
  const toolName = info.hasTools ? firstToolName(body) : undefined;
  let want = opts.outputTokens;
  // A tool call spends output tokens on its arguments; keep a short lead-in text.
  if (toolName) want = Math.min(want, 3);
  const count = Math.min(want, limit);
  const tokens = new Array<string>(count);
  for (let i = 0; i < count; i++) {
    const word = WORDS[Math.floor(random() * WORDS.length)];
    tokens[i] = i === 0 ? capitalize(word) : ' ' + word;
  }
  if (count > 0 && count === want && !toolName) tokens[count - 1] += '.';
  if (toolName && count === want) {
    const input = { query: Array.from({ length: 3 }, () => WORDS[Math.floor(random() * WORDS.length)]).join(' ') };
    const json = JSON.stringify(input);
    const third = Math.ceil(json.length / 3);
    const argumentChunks = [json.slice(0, third), json.slice(third, 2 * third), json.slice(2 * third)].filter((c) => c.length > 0);
    const id = `call_${Math.floor(random() * 2 ** 48).toString(36)}`;
    return { tokens, toolCall: { id, name: toolName, input, argumentChunks }, stopReason: 'tool_use' };
  }
  return { tokens, stopReason: count < want ? 'max_tokens' : 'end_turn' };
}

/** Tool name from Anthropic (`tools[].name`), Chat (`tools[].function.name`) or Responses (`tools[].name`) bodies. */
function firstToolName(body: unknown): string | undefined {
  const tools = (body as { tools?: unknown } | null)?.tools;
  if (!Array.isArray(tools)) return undefined;
  for (const t of tools) {
    const tool = t as { name?: unknown; function?: { name?: unknown } };
    const name = typeof tool?.name === 'string' ? tool.name : typeof tool?.function?.name === 'string' ? tool.function.name : undefined;
    if (name) return name;
  }
  return undefined;
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
