/**
 * Writes a protocol's labeled event sequence as SSE, on schedule, with the stream faults applied
 * at event granularity. Pacing is one timer per stream against an absolute schedule (no drift,
 * no busy loop); events due at the same moment go out in one write; a full socket buffer pauses
 * the stream until 'drain'.
 *
 * Schedule: events before the first content event go out with the headers; the first content
 * event after `ttft`; each further content event `chunkDelay` later (or tokens / tokensPerSecond);
 * events after the content follow the last content event immediately.
 */
import type { LabeledEvent, Usage } from '../protocols/types.js';
import { encodeSse } from '../protocols/sse.js';
import type { FaultAction, StreamPoint } from './config.js';
import type { Exchange } from './exchange.js';
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
  stats?: ScheduleStats;
}

/** Number of events sent before a fault at `point` strikes. */
export function resolvePoint(point: number | StreamPoint, events: readonly LabeledEvent[]): number {
  if (typeof point === 'number') return Math.min(point, events.length);
  const content: number[] = [];
  let usageAt = -1;
  let terminalAt = events.length;
  events.forEach((e, i) => {
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
  }
}

/** Offsets (ms after headers) at which each event is due. */
export function schedule(events: readonly LabeledEvent[], pacing: Pacing): number[] {
  const out = new Array<number>(events.length);
  let t = 0;
  let seenContent = false;
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (e.phase === 'content') {
      if (!seenContent) t += pacing.ttft;
      else t += pacing.tokensPerSecond ? ((e.tokens ?? 1) * 1000) / pacing.tokensPerSecond : pacing.chunkDelay;
      seenContent = true;
    }
    out[i] = t;
  }
  return out;
}

function addOutput(base: Usage, output: number): Usage {
  return { ...base, outputTokens: output };
}

/** Writes the stream; the exchange records events, bytes, disconnect and billed usage. */
export function writeStream(ex: Exchange, plan: StreamPlan): void {
  const { events, action } = plan;
  const n = events.length;
  const due = schedule(events, plan.pacing);
  let start = ex.clock.now();
  let i = 0;
  let emittedTokens = 0;

  // One fault position at most per kind of fault; an action may combine e.g. duplicate + cut.
  const at = (p: number | StreamPoint | undefined) => (p === undefined ? -1 : resolvePoint(p, events));
  const dupAt = at(action?.duplicate?.after);
  const malformedAt = at(action?.malformed?.after);
  const stallAt = at(action?.stall?.after);
  const errorAt = at(action?.stream_error?.after);
  const cutAt = at(action?.cut?.after);
  let dupDone = false;
  let malformedDone = false;
  let stallDone = false;

  const billed = (): Usage => {
    if (ex.eventsSent === 0) return { inputTokens: 0, outputTokens: 0, cacheWriteTokens: 0, cacheReadTokens: 0 };
    return addOutput(plan.fullUsage, emittedTokens);
  };

  /** Ends the stream if a terminal fault sits at k; `pending` is what is due before it. */
  const finishAt = (k: number, pending: string): boolean => {
    if (k === errorAt && action?.stream_error) {
      const usage = addOutput(plan.fullUsage, emittedTokens);
      let chunk = pending;
      for (const e of plan.buildError(action.stream_error.kind, usage)) {
        chunk += encodeSse(e);
        ex.eventsSent++;
      }
      ex.usage = usage;
      ex.end(chunk);
      return true;
    }
    if (k === cutAt && action?.cut) {
      if (pending) ex.write(pending);
      ex.usage = billed();
      ex.cut(action.cut.mode);
      return true;
    }
    return false;
  };

  const stats = plan.stats;
  let timed = false;
  if (stats) {
    stats.activeStreams++;
    stats.streamsStarted++;
    ex.onCleanup(() => stats.activeStreams--);
  }
  const step = (): void => {
    if (ex.closed) return;
    if (timed && stats && i < n) stats.record(ex.clock.now() - (start + due[i]));
    timed = false;
    let chunk = '';
    while (i <= n) {
      // Faults that strike after i events (checked before sending event i).
      if (i === dupAt && !dupDone && i > 0) {
        dupDone = true;
        const again = encodeSse(events[i - 1]);
        for (let c = 0; c < (action!.duplicate!.count ?? 1); c++) {
          chunk += again;
          ex.eventsSent++;
        }
      }
      if (i === malformedAt && !malformedDone) {
        malformedDone = true;
        const victim = encodeSse(events[Math.min(i, n - 1)]);
        chunk += victim.slice(0, Math.max(1, Math.floor(victim.length / 2))).replace(/\n+$/, '') + '\n\n';
        ex.eventsSent++;
      }
      if (i === stallAt && !stallDone) {
        stallDone = true;
        if (chunk) ex.write(chunk);
        const pause = action!.stall!.for;
        if (pause === undefined) return; // stays open until the client leaves
        ex.after(pause, () => {
          start += pause;
          step();
        });
        return;
      }
      if (finishAt(i, chunk)) return;
      if (i === n) break;
      const wait = start + due[i] - ex.clock.now();
      if (wait > 0) {
        if (chunk && !ex.write(chunk)) {
          ex.whenDrained(() => ex.after(start + due[i] - ex.clock.now(), step));
          return;
        }
        timed = true;
        ex.after(wait, step);
        return;
      }
      const e = events[i];
      chunk += encodeSse(e);
      ex.eventsSent++;
      if (e.phase === 'content') emittedTokens += e.tokens ?? 0;
      i++;
    }
    ex.usage = plan.fullUsage;
    ex.end(chunk || undefined);
  };
  step();
}
