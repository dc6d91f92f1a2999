/**
 * The relay's own answers, in one place: an HttpError names the status and message a stage
 * refuses with, and `send` / `sendError` write it in the client's protocol's error shape.
 * Everything the relay says itself (not an upstream's answer passed through) goes out here.
 */
import type { ServerResponse } from 'node:http';
import type { ErrorOptions, ErrorReply, Protocol } from '../../protocols/types.js';

export class HttpError extends Error {
  constructor(
    public readonly status: number,
    message: string,
    public readonly opts: ErrorOptions = {},
    /** The protocol's own answer (its validator's), sent as is. */
    public readonly reply?: ErrorReply,
  ) {
    super(message);
  }
}

/** Writes a JSON reply with the request id; a response already started or gone is left alone. */
export function send(res: ServerResponse, reply: ErrorReply, requestId: string): void {
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    ...reply.headers,
    'content-type': reply.headers['content-type'] ?? 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    'x-request-id': requestId,
  });
  res.end(body);
}

export function sendError(res: ServerResponse, protocol: Protocol, requestId: string, err: HttpError): void {
  send(res, err.reply ?? protocol.errorReply(err.status, err.message, { requestId, ...err.opts }), requestId);
}
