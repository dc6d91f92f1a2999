/**
 * The chatgpt-oauth routes around the Codex backend: JWT + chatgpt-account-id checks, the token
 * refresh endpoint, and the account check used by health probes.
 */
import type { FaultAction } from './config.js';
import { header, reply, sendJson, type Ctx } from './context.js';
import { accountCheckBody } from './kinds.js';

/** true when the request may go on; otherwise the 401/403 is already answered. */
export async function checkJwt(ctx: Ctx): Promise<boolean> {
  const token = ctx.credential;
  const account = header(ctx.headers, 'chatgpt-account-id');
  // Literal tokens from the config are accepted as opaque access tokens (with an account header).
  if (token !== undefined && ctx.up.tokens.has(token) && account !== undefined) return true;
  if (token === undefined) {
    reply(ctx, ctx.protocol.errorReply(401, 'Missing bearer or basic authentication in header', { requestId: ctx.requestId }));
    return false;
  }
  const check = await ctx.up.chatgpt.verify(token, account);
  if (check.ok && account !== undefined) return true;
  if (check.ok) {
    reply(ctx, ctx.protocol.errorReply(401, 'Missing chatgpt-account-id header', { requestId: ctx.requestId }));
    return false;
  }
  const status = check.reason === 'account_mismatch' ? 403 : 401;
  reply(ctx, ctx.protocol.errorReply(status, check.message, { requestId: ctx.requestId, code: check.reason === 'expired' ? 'token_expired' : undefined }));
  return false;
}

export async function oauthToken(ctx: Ctx, action: FaultAction | undefined): Promise<void> {
  const form = (ctx.body ?? {}) as Record<string, unknown>;
  const grant = form.grant_type;
  const refresh = typeof form.refresh_token === 'string' ? form.refresh_token : undefined;
  if (grant !== 'refresh_token' || refresh === undefined) {
    sendJson(ctx, 400, { error: 'invalid_request', error_description: 'grant_type must be refresh_token and refresh_token is required' }, action);
    return;
  }
  ctx.credential = refresh;
  const issued = await ctx.up.chatgpt.refreshWith(refresh);
  if (!issued) {
    sendJson(ctx, 401, { error: { message: 'Your refresh token is invalid. Please sign in again.', type: 'invalid_request_error', code: 'refresh_token_invalidated' } }, action);
    return;
  }
  sendJson(
    ctx,
    200,
    { access_token: issued.accessToken, refresh_token: issued.refreshToken, id_token: issued.idToken, expires_in: issued.expiresIn, token_type: 'Bearer', scope: 'openid profile email offline_access' },
    action,
  );
}

export async function accountCheck(ctx: Ctx, action: FaultAction | undefined): Promise<void> {
  const check = await ctx.up.chatgpt.verify(ctx.credential ?? '', undefined);
  const account = check.ok ? check.accountId : (header(ctx.headers, 'chatgpt-account-id') ?? 'unknown');
  sendJson(ctx, 200, accountCheckBody(account), action);
}

/** /oauth/token takes JSON or a form body. */
export function parseFormOrJson(raw: Buffer, type: string | undefined): unknown {
  const text = raw.toString('utf8');
  if (type?.includes('json')) {
    try {
      return JSON.parse(text);
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(text));
}
