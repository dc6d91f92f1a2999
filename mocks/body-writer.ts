/**
 * Writes a complete (non-stream) body, or a whole pre-rendered SSE text, with the body faults:
 * truncated JSON, a slow drip, an empty 200, a body that never comes.
 */
import type { FaultAction } from './config.js';
import type { Exchange } from './exchange.js';

export function writeBody(
  ex: Exchange,
  status: number,
  headers: Record<string, string>,
  text: string,
  action: FaultAction | undefined,
): void {
  if (!action) {
    writeWhole(ex, status, headers, text);
    return;
  }
  if (action.hang === 'body') {
    ex.writeHead(status, headers);
    ex.res.flushHeaders();
    return;
  }
  if (action.empty) {
    headers['content-length'] = '0';
    ex.writeHead(status, headers);
    ex.end();
    return;
  }
  if (action.truncate || action.cut) {
    const fraction = action.truncate?.fraction ?? 0.5;
    const mode = action.truncate?.mode ?? action.cut?.mode ?? 'end';
    // No content-length: a clean end leaves the client a syntactically broken JSON document.
    ex.writeHead(status, headers);
    ex.write(text.slice(0, Math.max(1, Math.floor(text.length * fraction))));
    ex.cut(mode);
    return;
  }
  if (action.drip) {
    const { bytes, every } = action.drip;
    const buf = Buffer.from(text);
    headers['content-length'] = String(buf.length);
    ex.writeHead(status, headers);
    let offset = 0;
    const next = (): void => {
      if (ex.closed) return;
      const piece = buf.subarray(offset, offset + bytes);
      offset += piece.length;
      ex.bytesSent += piece.length;
      if (offset >= buf.length) {
        ex.done = true;
        ex.res.end(piece);
        ex.finish();
        return;
      }
      ex.res.write(piece);
      ex.after(every, next);
    };
    next();
    return;
  }
  writeWhole(ex, status, headers, text);
}

/** The hot path: headers and a string body leave in one write (a Buffer body would cost a writev). */
function writeWhole(ex: Exchange, status: number, headers: Record<string, string>, text: string): void {
  const length = Buffer.byteLength(text);
  headers['content-length'] = String(length);
  ex.status = status;
  ex.bytesSent = length;
  ex.done = true;
  ex.res.writeHead(status, headers);
  ex.res.end(text);
  ex.finish();
}
