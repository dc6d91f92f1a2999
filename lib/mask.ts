/**
 * Secrets are shown as a recognisable prefix and the last 4 characters: `sk-ant-…a1B2`.
 * Used by every log line, report and API answer that shows a token.
 */
export function maskToken(token: string | undefined | null): string {
  if (!token) return '';
  const bearer = /^Bearer\s+/i.exec(token);
  if (bearer) return `Bearer ${maskToken(token.slice(bearer[0].length))}`;
  if (token.length <= 8) return `…${token.slice(-2)}`;
  const prefixMatch = /^[A-Za-z]+[-_](?:[A-Za-z]+[-_])?/.exec(token);
  const prefix = prefixMatch && prefixMatch[0].length <= 10 ? prefixMatch[0] : token.slice(0, 3);
  return `${prefix}…${token.slice(-4)}`;
}

const SECRET_HEADERS = new Set(['authorization', 'x-api-key', 'proxy-authorization', 'cookie', 'x-user-token']);

/** A copy of headers with secret values masked, for printing. */
export function maskHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    const value = Array.isArray(v) ? v.join(', ') : v;
    out[k] = SECRET_HEADERS.has(k.toLowerCase()) ? maskToken(value) : value;
  }
  return out;
}
