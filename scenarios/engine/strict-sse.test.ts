import { describe, expect, it } from 'vitest';
import { StrictSseCheck } from './strict-sse.js';

function check(wire: string, bytewise = false): StrictSseCheck {
  const c = new StrictSseCheck();
  if (bytewise) for (const b of Buffer.from(wire)) c.feed(Uint8Array.of(b));
  else c.feed(wire);
  c.end();
  return c;
}

const DELTA = 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}\n\n';
const ERROR = 'event: error\ndata: {"type":"error","error":{"type":"api_error","message":"cut"}}\n\n';

describe('StrictSseCheck', () => {
  it('accepts whole Anthropic, chat and Responses events, comments, CRLF, split anywhere', () => {
    const wire = DELTA + ': keep-alive\n\n' + ERROR + 'data: {"choices":[]}\r\n\r\ndata: [DONE]\n\nevent: response.created\ndata: {"type":"response.created"}\n\n';
    expect(check(wire).illFormed).toBe(0);
    expect(check(wire, true).illFormed).toBe(0);
  });

  it('fails an error event written after half an event, wherever the cut fell', () => {
    for (let cut = 1; cut < DELTA.length; cut++) {
      const c = check(DELTA.slice(0, cut) + ERROR);
      expect(c.illFormed, `cut at ${cut}: ${JSON.stringify(DELTA.slice(0, cut))}`).toBeGreaterThan(0);
    }
  });

  it('fails a stream that ends inside an event', () => {
    expect(check(DELTA + DELTA.slice(0, 30)).problems[0]).toMatch(/ended inside an event/);
  });
});
