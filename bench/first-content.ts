/**
 * Finds a stream's first CONTENT event: the first event that carries part of the answer, as
 * opposed to the start events and pings that open it (message_start, content_block_start, ping,
 * a role-only chat chunk, response.created / in_progress). A relay may hold those start events
 * until the answer begins (so it can still fail over invisibly), and a pass-through proxy
 * forwards them at once; time to the first event would then compare a relay that holds with a
 * proxy that does not. Time to the first content is what a user waits for, whatever a relay does
 * with the events before it, so the benchmark times every target by it.
 *
 * Which events are content, per protocol:
 * - Anthropic Messages: `content_block_delta` (text, or a tool call's JSON).
 * - Chat Completions: a chunk whose `choices[].delta` has non-empty `content` or `tool_calls`
 *   (the role chunk carries `content: ""`, which is no content).
 * - Responses: `response.output_text.delta` or `response.function_call_arguments.delta`.
 *
 * Events are decoded only until the first content event (a handful per stream), then the
 * detector does nothing: the load client must cost far less than what it measures.
 */
import { StringDecoder } from 'node:string_decoder';
import type { ProtocolId } from '../protocols/types.js';

/** The protocols whose streams have content events (a custom pass-through's are opaque). */
export type ContentProtocol = Exclude<ProtocolId, 'custom-pass'>;

/** Whether one whole SSE event (its `event:` name, if any, and its joined `data:`) carries content. */
export type ContentTest = (event: string | undefined, data: string) => boolean;

const ANTHROPIC_CONTENT = new Set(['content_block_delta']);
const RESPONSES_CONTENT = new Set(['response.output_text.delta', 'response.function_call_arguments.delta']);

/** The event's type: its `event:` name, else the `type` field of its JSON data. */
function typeOf(event: string | undefined, data: string): string | undefined {
  if (event) return event;
  const parsed = parseJson(data) as { type?: unknown } | undefined;
  return typeof parsed?.type === 'string' ? parsed.type : undefined;
}

function parseJson(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}

function chatChunkHasContent(data: string): boolean {
  const chunk = parseJson(data) as { choices?: Array<{ delta?: { content?: unknown; tool_calls?: unknown } }> } | undefined;
  if (!Array.isArray(chunk?.choices)) return false;
  return chunk.choices.some((c) => {
    const d = c?.delta;
    return (typeof d?.content === 'string' && d.content.length > 0) || (Array.isArray(d?.tool_calls) && d.tool_calls.length > 0);
  });
}

export const CONTENT_TESTS: Record<ContentProtocol, ContentTest> = {
  anthropic: (event, data) => ANTHROPIC_CONTENT.has(typeOf(event, data) ?? ''),
  'openai-responses': (event, data) => RESPONSES_CONTENT.has(typeOf(event, data) ?? ''),
  'openai-chat': (_event, data) => chatChunkHasContent(data),
};

/**
 * Fed a stream's bytes chunk by chunk; `push` returns true for the chunk that completed the first
 * content event, false before and after it.
 */
export class FirstContentDetector {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  /** The first content event has been seen. */
  found = false;

  constructor(private readonly isContent: ContentTest) {}

  push(chunk: Buffer): boolean {
    if (this.found) return false;
    this.pending += this.decoder.write(chunk);
    // Lines end with LF, CRLF or CR (SSE); one normalisation keeps the event split simple. A CR
    // at the very end may be the first half of a CRLF: it waits for the next chunk.
    let text = this.pending.replace(/\r\n?/g, (m, at: number) => (m === '\r' && at === this.pending.length - 1 ? m : '\n'));
    for (let end = text.indexOf('\n\n'); end !== -1; end = text.indexOf('\n\n')) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      if (this.isContentBlock(block)) {
        this.found = true;
        this.pending = '';
        return true;
      }
    }
    this.pending = text;
    return false;
  }

  private isContentBlock(block: string): boolean {
    let event: string | undefined;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    // A block of comments only, or with no data, dispatches no event.
    if (data.length === 0) return false;
    return this.isContent(event, data.join('\n'));
  }
}
