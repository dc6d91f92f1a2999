/**
 * The custom-pass upstream: a sync call answering the envelope, an async task API, and the
 * `precharge=true` flag answering the estimate only. Routes and envelopes are protocols/custom-pass.
 *
 * Billing ground truth (journal usage): a sync call bills its usage; a precharge bills nothing;
 * a submitted task bills its final usage on the submit entry when it will succeed (failed tasks
 * are refunded), so summing the journal never counts a task twice however often it is polled.
 */
import { buildPrecharge, buildTaskQuery, buildTaskSubmitted, customPassRoute, envelope, isPrecharge, taskJson } from '../protocols/custom-pass.js';
import { generatedOutputTokens } from '../protocols/tokens.js';
import type { Usage } from '../protocols/types.js';
import type { FaultAction } from './config.js';
import { generateContent } from './content.js';
import { reply, responseId, sendJson, type Ctx } from './context.js';
import { billUsage } from './usage.js';

export function handlePass(ctx: Ctx, action: FaultAction | undefined): void {
  const route = customPassRoute(ctx.path);
  const { up, protocol } = ctx;
  const notFound = () => reply(ctx, protocol.errorReply(404, `no such custom-pass route: ${ctx.method} ${ctx.path}`, { requestId: ctx.requestId }));
  if (!route) return notFound();
  if (ctx.method === 'GET') {
    if (route.action !== 'fetch' || route.taskId === undefined) return notFound();
    const view = up.tasks.view(route.taskId);
    if (!view) return reply(ctx, protocol.errorReply(404, `task ${route.taskId} not found`, { requestId: ctx.requestId }));
    return sendJson(ctx, 200, envelope(taskJson(view)), action);
  }
  if (route.action === 'fetch') return notFound();
  if (route.action === 'query') {
    const ids = (ctx.body as { task_ids?: unknown } | null)?.task_ids;
    if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) {
      return reply(ctx, protocol.errorReply(400, 'task_ids: expected an array of task id strings', { requestId: ctx.requestId }));
    }
    const views = ids.map((id) => up.tasks.view(id)).filter((v) => v !== undefined);
    return sendJson(ctx, 200, buildTaskQuery(views), action);
  }
  const info = ctx.info!;
  const estimate: Usage = { inputTokens: info.estimatedInputTokens, outputTokens: up.settings.outputTokens, cacheWriteTokens: 0, cacheReadTokens: 0 };
  if (isPrecharge(ctx.rawQuery)) return sendJson(ctx, 200, buildPrecharge(estimate), action);

  const n = ++up.requestCount;
  const content = generateContent(info, ctx.body, { seed: up.seed, requestNumber: n, outputTokens: action?.output_tokens ?? up.settings.outputTokens, protocol: protocol.id });
  const usage = billUsage(protocol.id, ctx.body, info, generatedOutputTokens(content), ctx.credential, up.cache);
  if (route.action === 'submit') {
    const task = up.tasks.submit(route.model, usage);
    if (!task.willFail && !action?.empty && !action?.hang) ctx.ex.usage = usage;
    return sendJson(ctx, 200, buildTaskSubmitted(task.id, estimate), action);
  }
  const ids = { id: responseId(up.seed, n), created: Math.floor(ctx.deps.clock.now() / 1000) };
  if (!action?.empty && !action?.hang) ctx.ex.usage = usage;
  sendJson(ctx, 200, protocol.buildResponse(info, ctx.body, content, usage, ids), action);
}
