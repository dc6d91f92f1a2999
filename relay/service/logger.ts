/**
 * The relay's structured logger (pino, JSON lines on stderr). Secrets are masked by pino's
 * redaction wherever they appear under the usual names, so a careless `log.info({ headers })`
 * still cannot print a token.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { maskToken } from '../../lib/mask.js';

const SECRET_FIELDS = ['authorization', 'x-api-key', 'proxy-authorization', 'cookie', 'token', 'key', 'refresh_token', 'refreshToken', 'adminToken', 'access_token', 'accessToken'];

const prop = (f: string) => `["${f}"]`;
export const REDACT_PATHS = [
  ...SECRET_FIELDS.map((f) => (f.includes('-') ? prop(f) : f)),
  ...SECRET_FIELDS.map((f) => `*${prop(f)}`),
  ...SECRET_FIELDS.map((f) => `*.headers${prop(f)}`),
  ...SECRET_FIELDS.map((f) => `*.*${prop(f)}`),
];

export function createRelayLogger(opts: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: opts.level ?? 'warn',
      base: { svc: 'relay' },
      redact: { paths: REDACT_PATHS, censor: (value) => (typeof value === 'string' ? maskToken(value) : '[redacted]') },
    },
    opts.destination ?? pino.destination({ fd: 2, sync: false }),
  );
}
