/**
 * The answer of a generation route: deterministic content, honest usage, then the protocol's
 * JSON body or its labeled event stream, written with the rule's faults and pacing.
 */
import { encodeSse } from '../protocols/sse.js';
import { generatedOutputTokens } from '../protocols/tokens.js';
import type { GeneratedContent, Usage } from '../protocols/types.js';
import { writeBody } from './body-writer.js';
import type { FaultAction } from './config.js';
import { generateContent } from './content.js';
import { KINDS } from './kinds.js';
import { reply, responseId, sendJson, type Ctx } from './context.js';
import { writeStream } from './stream-writer.js';
import { mixSeed } from './random.js';
import { billUsage } from './usage.js';

export function generate(ctx: Ctx, action: FaultAction | undefined): void {
  const { up, protocol } = ctx;
  const info = ctx.info!;
  if (info.model !== undefined && up.config.models.length > 0 && !up.models.includes(info.model)) {
    reply(ctx, protocol.errorReply(404, `model: ${info.model} does not exist or you do not have access to it`, { requestId: ctx.requestId, code: 'model_not_found' }));
    return;
  }
  const prefill = protocol.continuation?.prefillOf(ctx.body);
  if (prefill !== undefined) {
    ctx.ex.prefill = prefill;
    if (!up.config.prefill) {
      // What models without prefill answer (Anthropic's words; OpenAI-compatible fronts of such models pass them on).
      reply(ctx, protocol.errorReply(400, PREFILL_REFUSED, { requestId: ctx.requestId, type: 'invalid_request_error' }));
      return;
    }
  }
  const n = ++up.requestCount;
  const variant = contentVariant(up.seed, n);
  const outputTokens = action?.output_tokens ?? up.settings.outputTokens;
  const created = Math.floor(ctx.deps.clock.now() / 1000);
  if (!info.stream && !action && ctx.rawText !== undefined && prefill === undefined) {
    sendTemplated(ctx, variant, outputTokens, responseId(up.seed, n), created);
    return;
  }
  const content = generateContent(info, ctx.body, {
    seed: up.seed,
    requestNumber: variant,
    outputTokens,
    reasoningTokens: up.settings.reasoningTokens,
    protocol: protocol.id,
    toolCalls: up.settings.toolCalls,
    ask: action?.respond?.tool_call,
    continues: prefill !== undefined,
  });
  ctx.ex.textTokens = content.tokens;
  const usage = withReasoning(billUsage(protocol.id, ctx.body, info, generatedOutputTokens(content), ctx.credential, up.cache), content);
  const ids = { id: responseId(up.seed, n), created };
  if (!info.stream) {
    const body = protocol.buildResponse(info, ctx.body, content, usage, ids);
    if (!action?.empty && !action?.hang) {
      ctx.ex.usage = usage;
      ctx.ex.contentEventsSent = content.tokens.length;
    }
    sendJson(ctx, 200, body, action);
    return;
  }
  const events = protocol.buildStream(info, ctx.body, content, usage, ids);
  const headers = streamHeaders(ctx);
  if (action?.hang === 'body' || action?.empty || action?.drip) {
    let text = '';
    if (action.drip) {
      for (const e of events) text += encodeSse(e);
      ctx.ex.eventsSent = events.length;
      ctx.ex.contentEventsSent = content.tokens.length;
      ctx.ex.usage = usage;
    }
    writeBody(ctx.ex, 200, headers, text, action);
    return;
  }
  ctx.ex.writeHead(200, headers);
  const pacing = up.settings.pacing;
  writeStream(ctx.ex, {
    events,
    pacing: {
      ttft: action?.ttft ?? pacing.ttft,
      chunkDelay: action?.chunk_delay ?? pacing.chunkDelay,
      tokensPerSecond: action?.tokens_per_second ?? (action?.chunk_delay !== undefined ? undefined : pacing.tokensPerSecond),
    },
    action: action?.truncate && !action.cut ? { ...action, cut: { after: 'mid_content', mode: action.truncate.mode } } : action,
    fullUsage: usage,
    pacer: ctx.deps.pacer,
    stats: ctx.deps.stats,
    buildError: (kind, usageSoFar: Usage) =>
      protocol.buildStreamError(kind, usageSoFar, ids, { sequenceNumber: ctx.ex.eventsSent, model: info.model }),
  });
}

/** The 400 of a model that does not take an assistant prefill (api.anthropic.com's words). */
export const PREFILL_REFUSED = 'This model does not support assistant message prefill. The conversation must end with a user message.';

function streamHeaders(ctx: Ctx): Record<string, string> {
  return {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    [KINDS[ctx.up.kind].requestIdHeader]: ctx.requestId,
  };
}

/** Content repeats over this many variants per upstream seed, so rendered answers can be reused. */
export const CONTENT_VARIANTS = 64;

/** Which of the upstream's content variants request n gets (deterministic for seed and n). */
export function contentVariant(seed: number, n: number): number {
  return mixSeed(seed, n) % CONTENT_VARIANTS;
}

const ID_MARK = 'zqIDMARKzq';
const CREATED_MARK = 3_999_999_999;
const CREATED_TEXT = String(CREATED_MARK);
const MARK_IDS = { id: ID_MARK, created: CREATED_MARK };

/**
 * The hot path of a plain non-stream answer: the protocol renders a body once per (request body,
 * content variant, usage) with marker id and timestamp, and each request only swaps those in.
 * Same bytes as rendering afresh, a fraction of the cost (no content generation, no stringify).
 */
function sendTemplated(ctx: Ctx, variant: number, outputTokens: number, id: string, created: number): void {
  const { up, protocol } = ctx;
  const info = ctx.info!;
  const input = billUsage(protocol.id, ctx.body, info, 0, ctx.credential, up.cache);
  const calls = up.settings.toolCalls;
  const key = `${protocol.id}\u0001${variant}\u0001${outputTokens},${up.settings.reasoningTokens}\u0001${calls.probability},${calls.name ?? ''}\u0001${input.inputTokens},${input.cacheWriteTokens},${input.cacheReadTokens}\u0001${ctx.rawText}`;
  let t = up.templates.get(key);
  if (!t) {
    const content = generateContent(info, ctx.body, { seed: up.seed, requestNumber: variant, outputTokens, reasoningTokens: up.settings.reasoningTokens, protocol: protocol.id, toolCalls: up.settings.toolCalls });
    const usage = withReasoning({ ...input, outputTokens: generatedOutputTokens(content) }, content);
    t = { text: JSON.stringify(protocol.buildResponse(info, ctx.body, content, usage, MARK_IDS)), usage, textTokens: content.tokens };
    up.remember(key, t);
  }
  ctx.ex.usage = { ...t.usage };
  // The journal's text: a whole body carries every token, as the generated path says.
  ctx.ex.textTokens = t.textTokens;
  ctx.ex.contentEventsSent = t.textTokens.length;
  const text = t.text.replaceAll(ID_MARK, id).replaceAll(CREATED_TEXT, String(created));
  writeBody(ctx.ex, 200, { 'content-type': 'application/json', [KINDS[up.kind].requestIdHeader]: ctx.requestId }, text, undefined);
}

/** The usage of an answer with reasoning says how many of its output tokens were reasoning. */
function withReasoning(usage: Usage, content: GeneratedContent): Usage {
  return content.reasoning ? { ...usage, reasoningTokens: content.reasoning.tokens.length } : usage;
}
