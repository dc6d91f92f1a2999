/**
 * The access log's line for one request: the bytes pino writes for
 * `access.info({ requestId, keyName, protocol, path, model, stream, status, outcome, latencyMs,
 * ttfbMs, attempts }, 'request')` on a logger with base { svc: 'relay' } (access-line.test.ts
 * holds the two side by side), built directly. The line is written for every request; through
 * pino it was a fifth of the relay's allocations per request (its generic serializer, and
 * safe-stable-stringify for the attempts array), and the access log cost more CPU than every
 * stage of the pipeline together. Its fields are the relay's own (names, statuses, timings):
 * nothing to redact.
 */
import type { RequestLogEntry } from '../state/types.js';

/** pino's numeric level for info. */
const INFO = 30;

export function accessLine(e: RequestLogEntry, time: number): string {
  let line = `{"level":${INFO},"time":${time},"svc":"relay","requestId":${JSON.stringify(e.requestId)},"keyName":${JSON.stringify(e.keyName)},"protocol":${JSON.stringify(e.protocol)},"path":${JSON.stringify(e.path)}`;
  if (e.model !== undefined) line += `,"model":${JSON.stringify(e.model)}`;
  line += `,"stream":${e.stream},"status":${num(e.status)},"outcome":${JSON.stringify(e.outcome)},"latencyMs":${num(e.latencyMs)}`;
  if (e.ttfbMs !== undefined) line += `,"ttfbMs":${num(e.ttfbMs)}`;
  line += ',"attempts":[';
  for (let i = 0; i < e.attempts.length; i++) {
    const a = e.attempts[i];
    line += (i > 0 ? ',' : '') + JSON.stringify(`${a.endpoint}:${a.status ?? '-'}${a.errorClass ? `:${a.errorClass}` : ''}`);
  }
  return line + '],"msg":"request"}\n';
}

/** A number as JSON writes it (NaN and infinities are null). */
function num(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}
