/**
 * Fault rules end to end: counted sequences per credential, seeded probability, stream cuts at
 * every named point (billed = the token rule over the text emitted), stalls, hangs, malformed and duplicated events, body
 * faults, pacing. Raw fetch + the shared SSE decoder, so every byte on the wire is checked.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { openaiChat } from '../protocols/openai-chat.js';
import { SseDecoder } from '../protocols/sse.js';
import { countTextTokens } from '../protocols/tokens.js';
import type { SseEvent } from '../protocols/types.js';
import { FaultRules } from './faults.js';
import { faultRuleSchema, type FaultRule } from './config.js';
import { startMocks, type MockFleet } from './index.js';

let fleet: MockFleet;
const TOKENS = ['key-A-0001', 'key-B-0002', 'key-C-0003'];

beforeAll(async () => {
  fleet = await startMocks({
    upstreams: [
      { name: 'claude', kind: 'claude', tokens: TOKENS, output: { tokens: 10 } },
      { name: 'chat', kind: 'openai', tokens: TOKENS, output: { tokens: 10 } },
      { name: 'resp', kind: 'openai-responses', tokens: TOKENS, output: { tokens: 10 } },
    ],
  });
});
afterAll(() => fleet.close());
beforeEach(() => fleet.control.reset());

const BODIES = {
  claude: { path: '/v1/messages', body: (stream: boolean) => ({ model: 'claude-sonnet-4-5', max_tokens: 100, stream, messages: [{ role: 'user', content: 'hello' }] }) },
  chat: {
    path: '/v1/chat/completions',
    body: (stream: boolean) => ({ model: 'gpt-5', stream, stream_options: stream ? { include_usage: true } : undefined, messages: [{ role: 'user', content: 'hello' }] }),
  },
  resp: { path: '/v1/responses', body: (stream: boolean) => ({ model: 'gpt-5', stream, input: 'hello' }) },
} as const;
type Name = keyof typeof BODIES;

async function call(name: Name, opts: { stream?: boolean; token?: string; signal?: AbortSignal } = {}) {
  const b = BODIES[name];
  return fetch(`${fleet.get(name).url}${b.path}`, {
    method: 'POST',
    // Every Anthropic request carries its API version (the real API refuses one without).
    headers: { authorization: `Bearer ${opts.token ?? TOKENS[0]}`, 'content-type': 'application/json', ...(name === 'claude' ? { 'anthropic-version': '2023-06-01' } : {}) },
    body: JSON.stringify(b.body(opts.stream ?? false)),
    signal: opts.signal,
  });
}

/** Reads a stream to its end or its error; returns the events and whether the read failed. */
/** The output text the content events carried (text and tool-argument deltas), read as a client would. */
function deliveredText(events: SseEvent[]): string {
  let text = '';
  for (const e of events) {
    let data: { delta?: unknown; choices?: Array<{ delta?: { content?: unknown; tool_calls?: Array<{ function?: { arguments?: unknown } }> } }> };
    try {
      data = JSON.parse(e.data);
    } catch {
      continue;
    }
    const d = data.delta;
    if (typeof d === 'string') text += d; // Responses *.delta
    else if (d && typeof d === 'object') {
      const block = d as { text?: unknown; partial_json?: unknown };
      if (typeof block.text === 'string') text += block.text;
      if (typeof block.partial_json === 'string') text += block.partial_json;
    }
    const delta = data.choices?.[0]?.delta;
    if (typeof delta?.content === 'string') text += delta.content;
    for (const c of delta?.tool_calls ?? []) if (typeof c.function?.arguments === 'string') text += c.function.arguments;
  }
  return text;
}

async function readEvents(res: Response): Promise<{ events: SseEvent[]; failed: boolean; raw: string }> {
  const decoder = new SseDecoder();
  const events: SseEvent[] = [];
  let raw = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      raw += Buffer.from(chunk).toString('utf8');
      events.push(...decoder.push(chunk));
    }
    events.push(...decoder.flush());
    return { events, failed: false, raw };
  } catch {
    return { events, failed: true, raw };
  }
}

const lastEntry = async (upstream: string) => (await fleet.control.journal({ upstream })).at(-1)!;

describe('rule sequences and counting', () => {
  it('scripts an incident per credential: A 429 twice then OK, B 529 always, C 401 until its token changes', async () => {
    await fleet.control.setRules('chat', [
      { match: { token: TOKENS[0] }, per_credential: true, times: 2, action: { status: 429, retry_after: 1 } },
      { match: { token: TOKENS[1] }, action: { status: 529 } },
      { match: { token: TOKENS[2] }, action: { status: 401 } },
    ]);
    const statuses = async (token: string, n: number) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push((await call('chat', { token })).status);
      return out;
    };
    expect(await statuses(TOKENS[0], 4)).toEqual([429, 429, 200, 200]);
    expect(await statuses(TOKENS[1], 3)).toEqual([529, 529, 529]);
    expect(await statuses(TOKENS[2], 2)).toEqual([401, 401]);
    await fleet.control.setTokens('chat', [...TOKENS, 'key-C-refreshed']);
    expect(await statuses('key-C-refreshed', 1)).toEqual([200]);
    const a429 = (await fleet.control.journal({ upstream: 'chat', token: TOKENS[0], status: 429 })).length;
    expect(a429).toBe(2);
    const entry = (await fleet.control.journal({ upstream: 'chat', token: TOKENS[0] }))[0];
    expect(entry.rule).toBe('#0');
  });

  it('composes nth / first / every selectors into a sequence', () => {
    const rules = new FaultRules(1, [
      faultRuleSchema.parse({ name: 'first2', match: { first: 2 }, action: { status: 429 } }),
      faultRuleSchema.parse({ name: 'third', match: { nth: 3 }, action: { status: 500 } }),
      faultRuleSchema.parse({ name: 'every5', match: { every: 5 }, action: { status: 503 } }),
    ]);
    const facts = { method: 'POST', path: '/v1/messages', model: 'm', credential: 'k', session: undefined, stream: false, headers: {} };
    const fired = Array.from({ length: 10 }, () => rules.decide(facts)?.name ?? 'ok');
    expect(fired).toEqual(['first2', 'first2', 'third', 'ok', 'every5', 'ok', 'ok', 'ok', 'ok', 'every5']);
  });

  it('matches on request headers: a value, or * for any value, names case-insensitive', () => {
    const rules = new FaultRules(1, [
      faultRuleSchema.parse({ name: 'org', match: { headers: { 'OpenAI-Organization': '*' } }, action: { status: 401, code: 'mismatched_organization' } }),
      faultRuleSchema.parse({ name: 'beta', match: { headers: { 'openai-beta': 'assistants=v2' } }, action: { status: 400 } }),
    ]);
    const facts = (headers: Record<string, string>) => ({ method: 'POST', path: '/v1/chat/completions', model: 'm', credential: 'k', session: undefined, stream: false, headers });
    expect(rules.decide(facts({}))).toBeUndefined();
    expect(rules.decide(facts({ 'openai-organization': 'org-x' }))?.name).toBe('org');
    expect(rules.decide(facts({ 'openai-beta': 'assistants=v1' }))).toBeUndefined();
    expect(rules.decide(facts({ 'openai-beta': 'assistants=v2' }))?.name).toBe('beta');
  });

  it('draws probability from a seeded generator: the same seed gives the same pattern', () => {
    const pattern = (seed: number) => {
      const rules = new FaultRules(9, [faultRuleSchema.parse({ match: { probability: 0.3, seed }, action: { status: 500 } })]);
      const facts = { method: 'POST', path: '/x', model: undefined, credential: 'k', session: undefined, stream: false, headers: {} };
      return Array.from({ length: 200 }, () => (rules.decide(facts) ? 1 : 0)).join('');
    };
    expect(pattern(42)).toBe(pattern(42));
    expect(pattern(42)).not.toBe(pattern(43));
    const hits = [...pattern(42)].filter((c) => c === '1').length;
    expect(hits).toBeGreaterThan(35);
    expect(hits).toBeLessThan(85);
  });

  it('matches by path, model, session and stream flag', async () => {
    await fleet.control.setRules('claude', [{ match: { path: '/v1/*', model: 'claude-other', stream: true }, action: { status: 503 } }]);
    expect((await call('claude', { stream: true })).status).toBe(200);
    const res = await fetch(`${fleet.get('claude').url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': TOKENS[0], 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-other', max_tokens: 5, stream: true, messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(res.status).toBe(503);
    await fleet.control.setRules('claude', [{ match: { session: 'sess-1' }, action: { status: 500 } }]);
    const withSession = await fetch(`${fleet.get('claude').url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': TOKENS[0], 'anthropic-version': '2023-06-01', 'content-type': 'application/json', 'x-claude-code-session-id': 'sess-1' },
      body: JSON.stringify(BODIES.claude.body(false)),
    });
    expect(withSession.status).toBe(500);
    expect((await call('claude')).status).toBe(200);
  });
});

describe.each(['claude', 'chat', 'resp'] as const)('stream faults on %s', (name) => {
  it.each(['start', 'first_content', 'mid_content', 'last_content', 'usage'] as const)('cut after %s: billed usage = the token rule over the text emitted', async (point) => {
    await fleet.control.setRules(name, [{ action: { cut: { after: point, mode: 'fin' } } }]);
    const { events, failed } = await readEvents(await call(name, { stream: true }));
    expect(failed).toBe(true);
    const entry = await lastEntry(name);
    expect(entry.disconnect).toBe('fin');
    expect(entry.eventsSent).toBe(events.length);
    const contentEvents = { start: 0, first_content: 1, mid_content: 5, last_content: 10, usage: 10 }[point];
    const text = deliveredText(events);
    expect(text.split(' ').filter(Boolean)).toHaveLength(contentEvents);
    // Nobody reports a cut stream's output: it is billed by the one estimate, from the text sent.
    expect(entry.usage?.outputTokens).toBe(countTextTokens(text));
    // The terminal event never went out.
    const terminal = { claude: 'message_stop', chat: '[DONE]', resp: 'response.completed' }[name];
    expect(events.some((e) => e.event === terminal || e.data === terminal)).toBe(false);
  });

  it('cuts inside an event: the first bytes of event N go out, then the connection ends', async () => {
    await fleet.control.setRules(name, [{ action: { cut: { after: 'first_content', mode: 'end', within: 12 } } }]);
    const { events, raw } = await readEvents(await call(name, { stream: true }));
    const entry = await lastEntry(name);
    // Whole events up to the cut, then 12 bytes of the next one and no blank line after them.
    expect(entry.eventsSent).toBe(events.length);
    const whole = raw.lastIndexOf('\n\n') + 2;
    expect(raw.length - whole).toBe(12);
    expect(raw.slice(whole)).not.toContain('\n\n');
    // The half event delivered nothing: billed as the whole events before it (one word).
    expect(deliveredText(events).split(' ').filter(Boolean)).toHaveLength(1);
    expect(entry.usage?.outputTokens).toBe(countTextTokens(deliveredText(events)));
    // A `within` longer than the event still leaves its last byte unsent.
    await fleet.control.setRules(name, [{ action: { cut: { after: 0, mode: 'end', within: 100_000 } } }]);
    const long = await readEvents(await call(name, { stream: true }));
    expect(long.events).toHaveLength(0);
    expect(long.raw.length).toBeGreaterThan(0);
  });

  it('cuts with RST', async () => {
    await fleet.control.setRules(name, [{ action: { cut: { after: 3, mode: 'rst' } } }]);
    const { failed } = await readEvents(await call(name, { stream: true }));
    expect(failed).toBe(true);
    expect((await lastEntry(name)).disconnect).toBe('rst');
  });

  it('duplicates an event and sends a malformed chunk, then completes', async () => {
    await fleet.control.setRules(name, [{ action: { duplicate: { after: 'first_content', count: 2 }, malformed: { after: 'mid_content' } } }]);
    const res = await call(name, { stream: true });
    const { events, failed } = await readEvents(res);
    expect(failed).toBe(false);
    const bad = events.filter((e) => e.data !== '[DONE]' && (() => { try { JSON.parse(e.data); return false; } catch { return true; } })());
    expect(bad).toHaveLength(1);
    const datas = events.map((e) => e.data);
    const firstDelta = datas.findIndex((d, i) => i > 0 && d === datas[i - 1]);
    expect(firstDelta).toBeGreaterThan(0);
    const entry = await lastEntry(name);
    expect(entry.usage?.outputTokens).toBe(10);
    expect(entry.eventsSent).toBe(events.length);
  });

  it('stalls after the first content event and stays open until the client gives up', async () => {
    await fleet.control.setRules(name, [{ action: { stall: { after: 'first_content' } } }]);
    const ac = new AbortController();
    const res = await call(name, { stream: true, signal: ac.signal });
    const reader = res.body!.getReader();
    const decoder = new SseDecoder();
    let contentSeen = false;
    while (!contentSeen) {
      const { value } = await reader.read();
      for (const e of decoder.push(value!)) if (/delta/.test(e.data)) contentSeen = true;
    }
    const next = Promise.race([reader.read().then(() => 'data'), new Promise((r) => setTimeout(() => r('silent'), 150))]);
    expect(await next).toBe('silent');
    ac.abort();
    await new Promise((r) => setTimeout(r, 30));
    const entry = await lastEntry(name);
    expect(entry.clientAborted).toBe(true);
    expect(entry.usage).toBeNull();
  });

  it('a timed stall pauses the stream, then the rest comes on the shifted schedule, complete and billed in full', async () => {
    await fleet.control.setRules(name, [{ action: { stall: { after: 'first_content', for: '150ms' }, ttft: 0, chunk_delay: 0 } }]);
    const started = Date.now();
    const res = await call(name, { stream: true });
    const { events, failed, raw } = await readEvents(res);
    expect(failed).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(145);
    const entry = await lastEntry(name);
    expect(entry.eventsSent).toBe(events.length);
    expect(entry.usage?.outputTokens).toBe(10);
    // The journal's byte count is the body the client received, byte for byte.
    expect(entry.bytesSent).toBe(Buffer.byteLength(raw));
  });

  it('paces content events by chunk_delay', async () => {
    await fleet.control.setRules(name, [{ action: { ttft: 60, chunk_delay: 15 } }]);
    const started = Date.now();
    const { events } = await readEvents(await call(name, { stream: true }));
    const took = Date.now() - started;
    expect(events.length).toBeGreaterThan(10);
    // ttft + 9 gaps = 195 ms
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(1500);
  });
});

describe('body faults', () => {
  it('hangs before headers until the client times out', async () => {
    await fleet.control.setRules('chat', [{ action: { hang: 'headers' } }]);
    const err = await call('chat', { signal: AbortSignal.timeout(200) }).catch((e: Error) => e);
    expect((err as Error).name).toBe('TimeoutError');
    await new Promise((r) => setTimeout(r, 30));
    const entry = await lastEntry('chat');
    expect(entry.status).toBeNull();
    expect(entry.clientAborted).toBe(true);
  });

  it('hangs after headers (no body)', async () => {
    await fleet.control.setRules('chat', [{ action: { hang: 'body' } }]);
    const res = await call('chat', { signal: AbortSignal.timeout(200) });
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
  });

  it('truncates a JSON body', async () => {
    await fleet.control.setRules('claude', [{ action: { truncate: { fraction: 0.5 } } }]);
    const res = await call('claude');
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(() => JSON.parse(text)).toThrow();
    expect(text.startsWith('{"id":"msg_')).toBe(true);
  });

  it('answers an empty 200', async () => {
    await fleet.control.setRules('claude', [{ action: { empty: true } }]);
    const res = await call('claude');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    expect((await lastEntry('claude')).usage).toBeNull();
  });

  it('drips a body slowly but completely', async () => {
    await fleet.control.setRules('claude', [{ action: { drip: { bytes: 200, every: 20 } } }]);
    const started = Date.now();
    const body = await (await call('claude')).json();
    expect(body.type).toBe('message');
    expect(Date.now() - started).toBeGreaterThanOrEqual(40);
  });

  it('waits `latency` before the headers', async () => {
    await fleet.control.setRules('chat', [{ action: { latency: '120ms' } }]);
    const started = Date.now();
    expect((await call('chat')).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(115);
  });
});

describe('robustness and pacing', () => {
  it('answers a throwing handler with 500 in the kind\'s shape and keeps serving', async () => {
    const spy = vi.spyOn(openaiChat, 'buildResponse').mockImplementation(() => {
      throw new Error('boom');
    });
    try {
      const res = await call('chat');
      expect(res.status).toBe(500);
      const body = (await res.json()) as { error: { type: string; message: string } };
      expect(body.error.type).toBe('server_error');
      expect(body.error.message).toMatch(/boom/);
    } finally {
      spy.mockRestore();
    }
    expect((await call('chat')).status).toBe(200);
  });

  it('paces by tokens_per_second and reports its own schedule lateness', async () => {
    await fleet.control.resetStats();
    await fleet.control.setRules('chat', [{ action: { tokens_per_second: 100 } }]);
    const started = Date.now();
    await readEvents(await call('chat', { stream: true }));
    // 10 tokens at 100/s: 9 gaps of 10 ms
    expect(Date.now() - started).toBeGreaterThanOrEqual(85);
    const stats = await fleet.control.stats();
    expect(stats.streamsStarted).toBe(1);
    // A late timer sends every event already due in one write, so on a busy machine the 10 tokens
    // leave in fewer writes: the count is bounded, not exact.
    expect(stats.pacedWrites).toBeGreaterThanOrEqual(1);
    expect(stats.pacedWrites).toBeLessThanOrEqual(10);
    expect(stats.activeStreams).toBe(0);
  });

  it('drips a whole stream in small pieces', async () => {
    await fleet.control.setRules('claude', [{ action: { drip: { bytes: 300, every: 5 } } }]);
    const { events, failed } = await readEvents(await call('claude', { stream: true }));
    expect(failed).toBe(false);
    expect(events.at(-1)?.event).toBe('message_stop');
  });
});

describe('control API validation', () => {
  it('refuses a bad rule with a 400 naming the field', async () => {
    const bad = [{ match: { nth: 0 }, action: { status: 429 } }] as unknown as FaultRule[];
    const err = await fleet.control.setRules('chat', bad).catch((e: { status: number; message: string; issues: { field: string }[] }) => e);
    expect(err).toMatchObject({ status: 400 });
    expect((err as { issues: { field: string }[] }).issues[0].field).toBe('[0].match.nth');
    const err2 = await fleet.control.addRule('chat', { action: { status: 418 } } as FaultRule).catch((e: { issues: { field: string }[] }) => e);
    expect((err2 as { issues: { field: string }[] }).issues[0].field).toBe('action.status');
    const err3 = await fleet.control.addRule('chat', { action: { cut: { after: 'middle' } } } as unknown as FaultRule).catch((e: { issues: { field: string }[] }) => e);
    expect((err3 as { issues: { field: string }[] }).issues[0].field).toBe('action.cut.after');
  });

  it('round-trips rules, filters and exports the journal, masks tokens in listings', async () => {
    await fleet.control.setRules('chat', [{ name: 'r1', match: { first: 1 }, action: { status: 500 } }]);
    const rules = await fleet.control.rules('chat');
    expect(rules).toMatchObject([{ name: 'r1', times: 'always' }]);
    await fleet.control.setRules('chat', rules);
    await call('chat');
    await call('chat', { token: TOKENS[1] });
    expect(await fleet.control.journal({ upstream: 'chat', status: 500 })).toHaveLength(1);
    expect(await fleet.control.journal({ token: TOKENS[1] })).toHaveLength(1);
    expect(await fleet.control.journal({ path: '/v1/chat/completions', limit: 1 })).toHaveLength(1);
    const exported = await fleet.control.exportJournal();
    expect(exported.entries).toHaveLength(2);
    const listing = await fleet.control.upstreams();
    expect(JSON.stringify(listing)).not.toContain(TOKENS[0]);
    await fleet.control.resetJournal();
    expect(await fleet.control.journal()).toHaveLength(0);
  });

  it('changes pacing and output at run time', async () => {
    await fleet.control.configure('chat', { output: { tokens: 3 } });
    const body = await (await call('chat')).json();
    expect(body.usage.completion_tokens).toBe(3);
  });
});
