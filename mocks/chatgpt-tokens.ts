/**
 * The ChatGPT OAuth side of the Codex backend: HS256 access tokens shaped like the real ones
 * (exp, iat, and an `https://api.openai.com/auth` claim with chatgpt_account_id), refresh tokens
 * traded for new access tokens, and verification against the mock's clock so a TestClock can
 * expire them.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import type { Clock } from '../lib/clock.js';

export const AUTH_CLAIM = 'https://api.openai.com/auth';

export interface IssuedTokens {
  accessToken: string;
  refreshToken: string;
  idToken: string;
  expiresIn: number;
}

export type TokenCheck =
  | { ok: true; accountId: string; exp: number }
  | { ok: false; reason: 'expired' | 'invalid' | 'account_mismatch'; message: string };

export class ChatgptTokens {
  private readonly key: Uint8Array;
  /** refresh token -> account id */
  private readonly refresh = new Map<string, string>();

  constructor(
    secret: string,
    private readonly clock: Clock,
    private readonly accessTtlMs: number,
    refreshTokens: Record<string, string> = {},
  ) {
    this.key = new TextEncoder().encode(secret);
    for (const [token, account] of Object.entries(refreshTokens)) this.refresh.set(token, account);
  }

  /** Mints an access token (and a refresh token for the account unless one is given). */
  async issue(accountId: string, expiresInSec = this.accessTtlMs / 1000, refreshToken?: string): Promise<IssuedTokens> {
    const now = Math.floor(this.clock.now() / 1000);
    const exp = now + Math.floor(expiresInSec);
    const claims = { [AUTH_CLAIM]: { chatgpt_account_id: accountId, chatgpt_plan_type: 'pro', user_id: `user-${accountId}` } };
    const accessToken = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer('https://auth.openai.com')
      .setAudience(['https://api.openai.com/v1'])
      .setSubject(`auth0|${accountId}`)
      .setJti(randomBytes(8).toString('hex'))
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .sign(this.key);
    const idToken = await new SignJWT({ ...claims, email: `${accountId}@example.test` })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .sign(this.key);
    const rt = refreshToken ?? `rt_${randomBytes(16).toString('hex')}`;
    this.refresh.set(rt, accountId);
    return { accessToken, refreshToken: rt, idToken, expiresIn: exp - now };
  }

  /** Trades a refresh token for new tokens; undefined when the refresh token is unknown. */
  async refreshWith(refreshToken: string): Promise<IssuedTokens | undefined> {
    const account = this.refresh.get(refreshToken);
    if (account === undefined) return undefined;
    return this.issue(account, this.accessTtlMs / 1000, refreshToken);
  }

  async verify(token: string, accountHeader: string | undefined): Promise<TokenCheck> {
    try {
      const { payload } = await jwtVerify(token, this.key, { currentDate: new Date(this.clock.now()), algorithms: ['HS256'] });
      const auth = payload[AUTH_CLAIM] as { chatgpt_account_id?: unknown } | undefined;
      const accountId = typeof auth?.chatgpt_account_id === 'string' ? auth.chatgpt_account_id : undefined;
      if (!accountId) return { ok: false, reason: 'invalid', message: 'Access token has no ChatGPT account.' };
      if (accountHeader !== undefined && accountHeader !== accountId) {
        return { ok: false, reason: 'account_mismatch', message: 'chatgpt-account-id does not match the access token.' };
      }
      return { ok: true, accountId, exp: payload.exp ?? 0 };
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) {
        return { ok: false, reason: 'expired', message: 'Provided authentication token is expired. Please try signing in again.' };
      }
      return { ok: false, reason: 'invalid', message: 'Could not parse your authentication token. Please try signing in again.' };
    }
  }
}

/** Looks like a JWT (three base64url parts). */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}
