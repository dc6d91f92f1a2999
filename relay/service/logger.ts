/**
 * The relay's structured logs (pino, JSON lines on stderr), in two loggers sharing one buffered
 * destination:
 * - the operational logger: secrets are masked by pino's redaction wherever they appear under the
 *   usual names, so a careless `log.info({ headers })` still cannot print a token;
 * - the access log: one line per client request, built by the relay from fields that hold no
 *   secret (key and endpoint names, statuses, timings), so it skips redaction, which cost as much
 *   as the rest of the line at full load.
 * Lines are buffered and written asynchronously in batches (at least LOG_BATCH_BYTES, or every
 * LOG_FLUSH_MS, and on exit), never one write per request; the buffer is bounded
 * (LOG_MAX_BUFFER_BYTES): if the destination stalls longer than that, lines are dropped and
 * counted rather than holding the relay's memory.
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

export const LOG_BATCH_BYTES = 8192;
export const LOG_FLUSH_MS = 200;
export const LOG_MAX_BUFFER_BYTES = 16 * 1024 * 1024;

export interface RelayLoggers {
  logger: Logger;
  /** One line per client request; its fields never hold a secret. */
  access: Logger;
  /** Lines dropped because the destination could not keep up (bounded buffer). */
  dropped(): number;
}

/**
 * A file descriptor (stderr by default) or path, written asynchronously in batches, flushed on a
 * timer and on exit.
 *
 * sonic-boom in buffer mode, fed strings: in its text mode it adds each line to a pending string
 * and measures that whole string again (Buffer.byteLength flattens it) at every line, so each
 * access-log line cost a copy of the batch so far (~4 kB at full load, a tenth of all the relay
 * allocated per request). In buffer mode lines are kept as they come and joined once per write;
 * the strings the loggers hand over are encoded as they arrive (sonic-boom picks its write
 * function per mode the same way, as an instance property).
 */
export function bufferedDestination(dest: number | string = 2): { destination: ReturnType<typeof pino.destination>; dropped(): number } {
  let dropped = 0;
  const destination = pino.destination({ dest, sync: false, minLength: LOG_BATCH_BYTES, periodicFlush: LOG_FLUSH_MS, maxLength: LOG_MAX_BUFFER_BYTES, contentMode: 'buffer' });
  const writeBuffer = destination.write.bind(destination) as unknown as (data: Buffer) => boolean;
  (destination as { write: (data: string | Buffer) => boolean }).write = (data) => writeBuffer(typeof data === 'string' ? Buffer.from(data) : data);
  destination.on('drop', () => dropped++);
  return { destination, dropped: () => dropped };
}

export function createRelayLogger(opts: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: opts.level ?? 'warn',
      base: { svc: 'relay' },
      redact: { paths: REDACT_PATHS, censor: (value) => (typeof value === 'string' ? maskToken(value) : '[redacted]') },
    },
    opts.destination ?? bufferedDestination().destination,
  );
}

/** The access logger: the same level, base and destination as the operational one, no redaction. */
export function createAccessLogger(opts: { level?: string; destination: DestinationStream }): Logger {
  return pino({ level: opts.level ?? 'warn', base: { svc: 'relay' } }, opts.destination);
}

export function createRelayLoggers(opts: { level?: string; destination?: DestinationStream } = {}): RelayLoggers {
  const buffered = opts.destination ? { destination: opts.destination, dropped: () => 0 } : bufferedDestination();
  return {
    logger: createRelayLogger({ level: opts.level, destination: buffered.destination }),
    access: createAccessLogger({ level: opts.level, destination: buffered.destination }),
    dropped: buffered.dropped,
  };
}
