/**
 * The one reader of client request bodies, with the relay's one body limit
 * (`ServiceLimits.maxBodyBytes`).
 */
import type { IncomingMessage } from 'node:http';
import { HttpError } from './reply.js';

/** Past the limit the rest of an upload is read and dropped (so the 413 reaches the client), up to this much. */
const DISCARD_MAX = 16 * 1024 * 1024;

/**
 * Reads the body up to `limit` bytes. A body announced by content-length is refused before this
 * (relay/service); a chunked one is only known to be too big while it arrives: it is answered
 * 413 at once and the rest is read and dropped, because closing a socket with unread data resets
 * it and the client would see a reset instead of the 413.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (over) {
        if (size > limit + DISCARD_MAX) req.destroy();
        return;
      }
      if (size > limit) {
        over = true;
        chunks.length = 0;
        reject(new HttpError(413, `request body exceeds the relay's limit of ${limit} bytes`));
        return;
      }
      chunks.push(c);
    });
    let ended = false;
    req.on('end', () => {
      ended = true;
      resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    });
    req.on('error', reject);
    // A client that leaves mid-upload must not leave this request waiting forever.
    req.on('close', () => {
      if (!ended) reject(new HttpError(400, 'client closed the connection before the body was complete'));
    });
  });
}
