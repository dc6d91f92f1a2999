/**
 * Credentials on the wire. Upstream: how each endpoint kind presents its token. Client side: the
 * one credential a caller presented, whichever SDK style it used.
 */
import type { UpstreamKind } from './types.js';
import { header, type Headers } from './util.js';

/**
 * Claude Code's OAuth access tokens go as Bearer, never as x-api-key. (The `anthropic-beta:
 * oauth-...` flag the real API also wants is the client's own header; the relay passes it on.)
 */
export function isAnthropicOAuthToken(token: string): boolean {
  return token.startsWith('sk-ant-oat');
}

export function upstreamAuthHeaders(
  kind: UpstreamKind,
  token: string,
  opts: { accountId?: string; oauth?: boolean } = {},
): Record<string, string> {
  switch (kind) {
    case 'claude':
      return opts.oauth || isAnthropicOAuthToken(token)
        ? { authorization: `Bearer ${token}` }
        : { 'x-api-key': token };
    case 'chatgpt-oauth': {
      const h: Record<string, string> = { authorization: `Bearer ${token}` };
      if (opts.accountId) h['chatgpt-account-id'] = opts.accountId;
      return h;
    }
    case 'openai':
    case 'openai-responses':
    case 'custom-pass':
      return { authorization: `Bearer ${token}` };
  }
}

/** The client's credential: `Authorization: Bearer <t>` (scheme case-insensitive), else x-api-key. */
export function readClientCredential(headers: Headers): string | undefined {
  const auth = header(headers, 'authorization');
  if (auth !== undefined) {
    const sp = auth.indexOf(' ');
    if (sp !== -1 && auth.slice(0, sp).toLowerCase() === 'bearer') {
      const t = auth.slice(sp + 1).trim();
      if (t.length > 0) return t;
    }
  }
  const key = header(headers, 'x-api-key');
  return key?.trim() || undefined;
}
