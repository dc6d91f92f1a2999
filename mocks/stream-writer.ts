/**
 * Writes a protocol's labeled event sequence as SSE, on schedule, with the stream faults applied
 * at event granularity. Pacing follows an absolute schedule (no drift, no busy loop) on the
 * process's shared Pacer; events due at the same moment go out in one write; a full socket buffer
 * pauses the stream until 'drain'.
 *
 * Schedule: events before the first content event go out with the headers; the first content
 * event after `ttft`; each further content event `chunkDelay` later (or tokens / tokensPerSecond);
 * events after the content follow the last content event immediately.
 */
import type { LabeledEvent, Usage } from '../protocols/types.js';
import { encodeSse } from '../protocols/sse.js';
import { tokensForChars } from '../protocols/tokens.js';
import type { FaultAction, StreamPoint } from './config.js';
import type { Exchange } from './exchange.js';
import type { Pacer } from './pacer.js';
import type { ScheduleStats } from './stats.js';

export interface Pacing {
  ttft: number;
  chunkDelay: number;
  tokensPerSecond?: number;
}

export interface StreamPlan {
  events: LabeledEvent[];
  pacing: Pacing;
  action: FaultAction | undefined;
  /** Usage of the complete stream (what message_delta / usage chunk / completed report). */
  fullUsage: Usage;
  /** Builds the protocol's in-stream error event(s) for the usage emitted so far. */
  buildError: (kind: 'overloaded' | 'failed' | 'incomplete', usageSoFar: Usage) => LabeledEvent[];
  /** The process's shared timer for paced events. */
  pacer: Pacer;
  stats?: ScheduleStats;
}

/** Number of events sent before a fault at `point` strikes. */
export function resolvePoint(point: number | StreamPoint, events: readonly LabeledEvent[]): number {
  if (typeof point === 'number') return Math.min(point, events.length);
  const content: number[] = [];
  const reasoning: number[] = [];
  let usageAt = -1;
  let terminalAt = events.length;
  events.forEach((e, i) => {
    if (e.reasoning) reasoning.push(i);
    if (e.phase === 'content') content.push(i);
    else if (e.phase === 'usage' && usageAt === -1) usageAt = i;
    else if (e.phase === 'terminal' && terminalAt === events.length) terminalAt = i;
  });
  const beforeContent = content.length > 0 ? content[0] : Math.min(usageAt === -1 ? terminalAt : usageAt, terminalAt);
  switch (point) {
    case 'start':
      return beforeContent;
    case 'first_content':
      return content.length > 0 ? content[0] + 1 : beforeContent;
    case 'mid_content':
      return content.length > 0 ? content[Math.ceil(content.length / 2) - 1] + 1 : beforeContent;
    case 'last_content':
      return content.length > 0 ? content[content.length - 1] + 1 : beforeContent;
    case 'usage':
      // After the usage event; for protocols whose terminal carries usage, just before the terminal.
      return usageAt >= 0 ? usageAt + 1 : terminalAt;
    case 'mid_reasoning': {
      // Inside the thinking block / reasoning item: after half its content events, or right after
      // it opened when it has none (reasoning not shown); without reasoning, like `start`.
      const inner = reasoning.filter((i) => events[i].phase === 'content');
      if (inner.length > 0) return inner[Math.ceil(inner.length / 2) - 1] + 1;
      return reasoning.length > 0 ? reasoning[0] + 1 : beforeContent;
    }
  }
}

/** Offsets (ms after headers) at which each event is due. */
export function schedule(events: readonly LabeledEvent[], pacing: Pacing): Float64Array {
  const out = new Float64Array(events.length);
  let t = 0;
  let seenContent = false;
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (e.phase === 'content') {
      if (!seenContent) t += pacing.ttft;
      // A content event is one generated token: tokens_per_second paces the events.
      else t += pacing.tokensPerSecond ? 1000 / pacing.tokensPerSecond : pacing.chunkDelay;
      seenContent = true;
    }
    out[i] = t;
  }
  return out;
}

/** The full usage with the output tokens actually sent; how many of those were reasoning is not told apart. */
function addOutput(base: Usage, output: number): Usage {
  const { reasoningTokens: _split, ...rest } = base;
  return { ...rest, outputTokens: output };
}

/**
 * A stream's events encoded once: one buffer, where each event starts in it, and the tokens
 * delivered before each event. A paced write is then a slice of the buffer, and a live stream
 * holds a handful of objects instead of two per event: with 2,000 streams open, the event objects
 * kept for seconds made every young collection copy and promote a few hundred thousand of them.
 */
export interface EncodedStream {
  bytes: Buffer;
  /** starts[i] = byte offset of event i; starts[n] = bytes.length. */
  starts: Uint32Array;
  /** tokensBefore[i] = output tokens delivered by the content events before event i: tokensForChars of their characters (a cut stream's bill). */
  tokensBefore: Uint32Array;
  /** contentBefore[i] = content events of the answer (not its reasoning) before event i (the journal's text sent: one generated token each). */
  contentBefore: Uint32Array;
}

export function encodeStream(events: readonly LabeledEvent[]): EncodedStream {
  const n = events.length;
  const starts = new Uint32Array(n + 1);
  const tokensBefore = new Uint32Array(n + 1);
  const contentBefore = new Uint32Array(n + 1);
  let content = 0;
  let text = '';
  let offset = 0;
  let chars = 0;
  for (let i = 0; i < n; i++) {
    const e = events[i];
    const piece = encodeSse(e);
    starts[i] = offset;
    tokensBefore[i] = tokensForChars(chars);
    contentBefore[i] = content;
    offset += Buffer.byteLength(piece);
    if (e.phase === 'content') {
      chars += e.chars ?? 0;
      // The reasoning's events come before the answer's and carry none of its text.
      if (!e.reasoning) content++;
    }
    text += piece;
  }
  starts[n] = offset;
  tokensBefore[n] = tokensForChars(chars);
  contentBefore[n] = content;
  return { bytes: Buffer.from(text), starts, tokensBefore, contentBefore };
}

/** Where each fault of the action strikes (events sent before it), -1 for none. */
function faultPositions(action: FaultAction | undefined, events: readonly LabeledEvent[]) {
  // One fault position at most per kind of fault; an action may combine e.g. duplicate + cut.
  const at = (p: number | StreamPoint | undefined) => (p === undefined ? -1 : resolvePoint(p, events));
  return {
    dupAt: at(action?.duplicate?.after),
    malformedAt: at(action?.malformed?.after),
    stallAt: at(action?.stall?.after),
    errorAt: at(action?.stream_error?.after),
    cutAt: at(action?.cut?.after),
  };
}

/** Writes the stream; the exchange records events, bytes, disconnect and billed usage. */
export function writeStream(ex: Exchange, plan: StreamPlan): void {
  // The closures below live as long as the stream: they must not capture `plan` (its events).
  const { action, fullUsage, buildError, stats, pacer } = plan;
  const n = plan.events.length;
  const due = schedule(plan.events, plan.pacing);
  const { bytes, starts, tokensBefore, contentBefore } = encodeStream(plan.events);
  const { dupAt, malformedAt, stallAt, errorAt, cutAt } = faultPositions(action, plan.events);
  let start = ex.clock.now();
  let i = 0;
  let dupDone = false;
  let malformedDone = false;
  let stallDone = false;

  // What is due but not written yet: events [from, i) of the buffer, after any fault bytes in `extra`.
  let from = 0;
  let extra: Buffer[] | undefined;
  /** Events [a, b) as bytes. */
  const slice = (a: number, b: number): Buffer => bytes.subarray(starts[a], starts[b]);
  const addExtra = (b: Buffer): void => {
    extra ??= [];
    if (from < i) extra.push(slice(from, i));
    extra.push(b);
    from = i;
  };
  const takePending = (): Buffer | undefined => {
    const tail = from < i ? slice(from, i) : undefined;
    from = i;
    if (!extra) return tail;
    if (tail) extra.push(tail);
    const all = Buffer.concat(extra);
    extra = undefined;
    return all;
  };
  const event = (k: number): Buffer => slice(k, k + 1);

  const billed = (): Usage => {
    if (ex.eventsSent === 0) return { inputTokens: 0, outputTokens: 0, cacheWriteTokens: 0, cacheReadTokens: 0 };
    return addOutput(fullUsage, tokensBefore[i]);
  };

  /** Ends the stream if a terminal fault sits at event i. */
  const finishHere = (): boolean => {
    if (i === errorAt && action?.stream_error) {
      const usage = addOutput(fullUsage, tokensBefore[i]);
      let text = '';
      for (const e of buildError(action.stream_error.kind, usage)) {
        text += encodeSse(e);
        ex.eventsSent++;
      }
      addExtra(Buffer.from(text));
      ex.usage = usage;
      ex.end(takePending());
      return true;
    }
    if (i === cutAt && action?.cut) {
      // Inside event i: part of it goes out (never the whole, so it is never a complete event).
      if (action.cut.within !== undefined && i < n) addExtra(bytes.subarray(starts[i], starts[i] + Math.min(action.cut.within, starts[i + 1] - starts[i] - 1)));
      const pending = takePending();
      if (pending) ex.write(pending);
      ex.usage = billed();
      ex.cut(action.cut.mode);
      return true;
    }
    return false;
  };

  let timed = false;
  if (stats) {
    stats.activeStreams++;
    stats.streamsStarted++;
    ex.onCleanup(() => stats.activeStreams--);
  }
  // What the pacer runs: a step that throws ends this response only.
  const resume = (): void => {
    if (ex.res.destroyed) return;
    try {
      step();
    } catch {
      ex.res.destroy();
    }
  };
  const step = (): void => {
    if (ex.closed) return;
    if (timed && stats && i < n) stats.record(ex.clock.now() - (start + due[i]));
    timed = false;
    while (i <= n) {
      // Faults that strike after i events (checked before sending event i).
      if (i === dupAt && !dupDone && i > 0) {
        dupDone = true;
        const again = event(i - 1);
        for (let c = 0; c < (action!.duplicate!.count ?? 1); c++) {
          addExtra(again);
          ex.eventsSent++;
        }
      }
      if (i === malformedAt && !malformedDone) {
        malformedDone = true;
        const victim = event(Math.min(i, n - 1)).toString('utf8');
        addExtra(Buffer.from(victim.slice(0, Math.max(1, Math.floor(victim.length / 2))).replace(/\n+$/, '') + '\n\n'));
        ex.eventsSent++;
      }
      if (i === stallAt && !stallDone) {
        stallDone = true;
        const pending = takePending();
        if (pending) ex.write(pending);
        const pause = action!.stall!.for;
        if (pause === undefined) return; // stays open until the client leaves
        ex.after(pause, () => {
          start += pause;
          step();
        });
        return;
      }
      if (finishHere()) return;
      if (i === n) break;
      const wait = start + due[i] - ex.clock.now();
      if (wait > 0) {
        const pending = takePending();
        if (pending && !ex.write(pending)) {
          ex.whenDrained(() => pacer.at(start + due[i], resume));
          return;
        }
        timed = true;
        pacer.at(start + due[i], resume);
        return;
      }
      ex.eventsSent++;
      i++;
      ex.contentEventsSent = contentBefore[i];
    }
    ex.usage = fullUsage;
    ex.end(takePending());
  };
  step();
}
