/**
 * A strict reading of a stream's bytes, event by event, for the `well_formed` check. An SSE
 * parser is lenient by design: an error event written after half an event merges with it, and a
 * browser or SDK reads the result as one odd event (or, when the cut fell after an `event:` line,
 * as a valid error event under a duplicated field). This check fails such streams: every event
 * must be whole (ended by a blank line), use known fields, name its `event` and `id` once, carry
 * data that is JSON (or `[DONE]`), and, when named, be named after its data's `type` (Anthropic
 * and Responses name every event after it).
 */

const KNOWN_FIELDS = new Set(['event', 'data', 'id', 'retry']);

export class StrictSseCheck {
  /** Events that broke a rule, and what the first few were. */
  illFormed = 0;
  readonly problems: string[] = [];
  private readonly utf8 = new TextDecoder('utf-8');
  private line = '';
  /** The previous chunk ended with \r: a \n that starts the next one belongs to it. */
  private afterCr = false;
  private names = 0;
  private ids = 0;
  private name: string | undefined;
  private data: string[] = [];
  private lines: string[] = [];

  feed(chunk: Uint8Array | string): void {
    let text = typeof chunk === 'string' ? chunk : this.utf8.decode(chunk, { stream: true });
    if (this.afterCr && text.startsWith('\n')) text = text.slice(1);
    this.afterCr = false;
    let from = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (c !== '\n' && c !== '\r') continue;
      this.onLine(this.line + text.slice(from, i));
      this.line = '';
      if (c === '\r') {
        if (i + 1 === text.length) this.afterCr = true;
        else if (text[i + 1] === '\n') i++;
      }
      from = i + 1;
    }
    this.line += text.slice(from);
  }

  /** The stream is over: an event without its blank line is a partial event. */
  end(): void {
    this.line += this.utf8.decode();
    if (this.line.length > 0) this.lines.push(this.line);
    if (this.lines.length > 0) this.problem(`stream ended inside an event: ${JSON.stringify(this.lines.join('\n').slice(0, 120))}`);
    this.reset();
  }

  private onLine(line: string): void {
    if (line.length === 0) return this.dispatch();
    if (line.startsWith(':')) return; // a comment (keep-alive)
    this.lines.push(line);
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (!KNOWN_FIELDS.has(field)) {
      this.names = Infinity; // marks the event broken; reported at its end
      return;
    }
    if (field === 'event') {
      this.names++;
      this.name = value;
    } else if (field === 'id') this.ids++;
    else if (field === 'data') this.data.push(value);
  }

  private dispatch(): void {
    if (this.lines.length === 0) return;
    const shown = JSON.stringify(this.lines.join('\n').slice(0, 120));
    if (this.names === Infinity) this.problem(`unknown field in ${shown}`);
    else if (this.names > 1 || this.ids > 1) this.problem(`a field given twice in ${shown}`);
    else if (this.data.length === 0) this.problem(`no data in ${shown}`);
    else {
      const data = this.data.join('\n');
      if (data !== '[DONE]') {
        let parsed: unknown;
        try {
          parsed = JSON.parse(data);
        } catch {
          parsed = undefined;
        }
        if (parsed === null || typeof parsed !== 'object') this.problem(`data is not JSON in ${shown}`);
        else {
          const type = (parsed as { type?: unknown }).type;
          if (this.name !== undefined && typeof type === 'string' && type !== this.name) this.problem(`event ${this.name} carries a ${type} in ${shown}`);
        }
      }
    }
    this.reset();
  }

  private problem(text: string): void {
    this.illFormed++;
    if (this.problems.length < 3) this.problems.push(text);
  }

  private reset(): void {
    this.names = 0;
    this.ids = 0;
    this.name = undefined;
    this.data = [];
    this.lines = [];
  }
}
