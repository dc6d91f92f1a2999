import { describe, expect, it } from 'vitest';
import type { JournalEntry } from '../../mocks/journal.js';
import { attemptMatches, countMatches, evaluate, healthResults, type StepObservation } from './expect.js';
import { brokenSuccess, checkInvariants, misshapenError } from './invariants.js';
import type { ClientResult } from './clients.js';
import type { Expectation } from './schema.js';

function entry(seq: number, upstream: string, credential: string | null, status = 200, extra: Partial<JournalEntry> = {}): JournalEntry {
  return {
    seq,
    time: 0,
    upstream,
    kind: 'claude',
    method: 'POST',
    path: '/v1/messages',
    query: {},
    headers: credential ? { 'x-api-key': credential } : {},
    credential,
    body: null,
    bodyBytes: 0,
    model: null,
    stream: false,
    sessionKeys: [],
    rule: null,
    status,
    eventsSent: 0,
    bytesSent: 0,
    disconnect: null,
    clientAborted: false,
    usage: null,
    durationMs: 1,
    ...extra,
  };
}

function obs(journal: JournalEntry[]): StepObservation {
  return {
    results: [],
    journal,
    records: [],
    endpoints: new Map([
      ['A', { upstream: 'shared', tokens: new Set(['tok-A-1111']) }],
      ['B', { upstream: 'shared', tokens: new Set(['tok-B-2222']) }],
    ]),
  };
}

describe('expectations', () => {
  it('compares counts', () => {
    expect([countMatches(3, 3), countMatches('>0', 1), countMatches('>=2', 1), countMatches('<5', 4), countMatches('=2', 2)]).toEqual([true, true, false, true, true]);
  });

  it('matches attempt patterns by status, class and wildcard', () => {
    const a = { endpoint: 'A', channel: 'c', token: 't', status: 503, durationMs: 1 };
    expect(['A:503', 'A:5xx', 'A:*', '*:503'].map((p) => attemptMatches(p, a))).toEqual([true, true, true, true]);
    expect(['B:503', 'A:4xx', 'A:timeout'].map((p) => attemptMatches(p, a))).toEqual([false, false, false]);
    expect(attemptMatches('A:timeout', { ...a, status: undefined, errorClass: 'timeout' })).toBe(true);
  });

  it('counts an endpoint on a shared upstream by its own tokens, and order collapses repeats', () => {
    const checks = evaluate({ upstreams: { A: 2, B: 1, shared: 3 }, order: ['shared'], only_token: { B: 'tok-B-2222' } }, obs([entry(1, 'shared', 'tok-A-1111'), entry(2, 'shared', 'tok-A-1111'), entry(3, 'shared', 'tok-B-2222')]));
    expect(checks.map((c) => [c.name, c.pass])).toEqual([
      ['upstream A requests', true],
      ['upstream B requests', true],
      ['upstream shared requests', true],
      ['upstream B saw only tok-B-2222', true],
      ['upstream order', true],
    ]);
  });

  it('only_token fails when another credential reached the upstream, with both sides shown', () => {
    const [c] = evaluate({ only_token: { shared: 'tok-A-1111' } }, obs([entry(1, 'shared', 'tok-A-1111'), entry(2, 'shared', 'tok-B-2222')]));
    expect(c).toMatchObject({ pass: false, actual: { 'tok-A-1111': 1, 'tok-B-2222': 1 } });
  });

  it('only_token is about the credential: an upstream no request reached holds, a wrong credential fails', () => {
    const [none] = evaluate({ only_token: { other: 'tok-A-1111' } }, obs([entry(1, 'shared', 'tok-A-1111')]));
    expect(none).toMatchObject({ pass: true, actual: '(no request reached it)' });
  });

  it('a status class matches any status of that class, and nothing else', () => {
    const results = [200, 503, 529].map((status, index) => ({ index, status }) as unknown as ClientResult);
    const verdict = (status: Expectation['status']) => evaluate({ status }, { ...obs([]), results: results.slice(1) })[0].pass;
    expect([verdict('5xx'), verdict(['4xx', '5xx']), verdict(503), verdict('4xx')]).toEqual([true, true, false, false]);
    expect(evaluate({ status: '5xx' }, { ...obs([]), results })[0].pass).toBe(false);
  });

  it('skips record expectations on a target that cannot show them instead of failing', () => {
    const checks = evaluate({ attempts: ['A:200'], state: { A: { cooldown: true } } }, { ...obs([]), blind: { records: true, state: true } });
    expect(checks.every((c) => c.skipped && c.pass)).toBe(true);
    expect(checks).toHaveLength(2);
  });

  it('same_as_upstream pairs each answer with the step\u2019s upstream answer: text and input/output tokens, whatever the protocols', () => {
    const usage = { inputTokens: 19, outputTokens: 12, cacheWriteTokens: 0, cacheReadTokens: 0 };
    const upstream = entry(1, 'up', 'tok', 200, { kind: 'openai', text: 'Hello there.', usage });
    const answer = (over: Partial<ClientResult>) => ({ index: 0, protocol: 'anthropic', status: 200, text: 'Hello there.', usage, ...over }) as ClientResult;
    const run = (r: ClientResult, journal = [upstream]) => evaluate({ same_as_upstream: ['text', 'usage'] }, { ...obs(journal), results: [r] });
    expect(run(answer({})).map((c) => [c.name, c.pass])).toEqual([
      ['text as upstream', true],
      ['usage as upstream', true],
    ]);
    // A translator that streams no usage reports zeros: not what the upstream billed.
    const zero = run(answer({ usage: { ...usage, inputTokens: 0, outputTokens: 0 } }))[1];
    expect(zero).toMatchObject({ pass: false, expected: { input_tokens: 19, output_tokens: 12 }, actual: { input_tokens: 0, output_tokens: 0 } });
    expect(run(answer({ text: 'Hello' }))[0]).toMatchObject({ pass: false, expected: 'Hello there.', actual: 'Hello' });
    // An error answer of the upstream has no generated text: nothing to pair the client's 200 with.
    const [unpaired] = run(answer({}), [entry(1, 'up', 'tok', 429)]);
    expect(unpaired).toMatchObject({ name: 'same as upstream', pass: false });
  });

  it('upstream_body: exact values, `contains` in strings, arrays and objects, `a|b` for either path', () => {
    const body = { messages: [{ role: 'system', content: [{ type: 'text', text: 'You are a probe.' }] }], stop: ['ZZ'], max_completion_tokens: 7, system: 'plain' };
    const checks = evaluate(
      {
        upstream_body: {
          'messages.0.role': 'system',
          'messages.0.content': { contains: 'a probe' },
          stop: { contains: 'ZZ' },
          system: { contains: 'lai' },
          'max_tokens|max_completion_tokens': 7,
          max_tokens: 7,
          'tools.0.name': { contains: 'x' },
        },
      },
      obs([entry(1, 'up', 'tok', 200, { body })]),
    );
    expect(checks.map((c) => [c.name, c.pass])).toEqual([
      ['upstream body messages.0.role', true],
      ['upstream body messages.0.content', true],
      ['upstream body stop', true],
      ['upstream body system', true],
      ['upstream body max_tokens|max_completion_tokens', true],
      ['upstream body max_tokens', false],
      ['upstream body tools.0.name', false],
    ]);
    expect(checks.at(-1)!.actual).toBe('(missing)');
  });

  it('stop_reason, tool_calls, content_blocks and event_order read what the client read, in its own protocol', () => {
    const r = { index: 0, protocol: 'anthropic', status: 200, streamEnd: 'terminal', stopReason: 'tool_use', toolCalls: [{ name: 'get_weather', input: { city: 'x' } }], blockTypes: ['text', 'tool_use'], orderProblems: [] } as unknown as ClientResult;
    const expectation: Expectation = { stop_reason: 'tool_use', tool_calls: ['get_weather'], content_blocks: ['text', 'tool_use'], event_order: true };
    expect(evaluate(expectation, { ...obs([]), results: [r] }).every((c) => c.pass)).toBe(true);
    const bad = { ...r, stopReason: 'end_turn', toolCalls: [{ name: 'get_weather', input: undefined }], blockTypes: ['server_tool_use', 'text', 'tool_use'], orderProblems: ['event 4: message_delta while block 0 is open'] } as ClientResult;
    const checks = evaluate(expectation, { ...obs([]), results: [bad] });
    expect(checks.map((c) => [c.name, c.pass, c.actual])).toEqual([
      ['stop_reason', false, 'end_turn'],
      ['tool_calls', false, ['get_weather (input not a JSON object)']],
      ['content_blocks', false, ['server_tool_use', 'text', 'tool_use']],
      ['event_order', false, ['event 4: message_delta while block 0 is open']],
    ]);
    // A stream whose order nobody judged (no rules for its protocol) cannot pass event_order.
    const unjudged = { ...r, protocol: 'openai-responses', orderProblems: undefined } as unknown as ClientResult;
    expect(evaluate({ event_order: true }, { ...obs([]), results: [unjudged] })[0].pass).toBe(false);
  });

  it('reads health rounds in any of the answer shapes', () => {
    const round = { results: { at: 1, results: [{ endpoint: 'A', status: 'healthy', ok: true }, { endpoint: 'I', status: 'not_checked' }] } };
    expect(healthResults(round)).toEqual({ A: 'healthy', I: 'not_checked' });
    expect(healthResults([{ name: 'B', ok: false }])).toEqual({ B: 'failed' });
  });
});

describe('invariants', () => {
  const upstreamTokens = new Map([['shared', new Set(['tok-A-1111', 'tok-B-2222'])]]);
  it('flags a client key in any header and a token that belongs to no endpoint on that upstream', () => {
    const journal = [
      entry(1, 'shared', 'tok-A-1111'),
      entry(2, 'shared', 'tok-C-3333'),
      entry(3, 'shared', 'tok-B-2222', 200, { headers: { 'x-api-key': 'tok-B-2222', 'x-forwarded-key': 'rk-client-key-0001' } }),
    ];
    const [leak, token, streams] = checkInvariants({ journal, results: [], clientKeys: ['rk-client-key-0001'], upstreamTokens, mintingUpstreams: new Set() });
    expect(leak.pass).toBe(false);
    expect(String(leak.actual)).toContain('#3');
    expect(token.pass).toBe(false);
    expect(String(token.actual)).toContain('#2');
    expect(streams.pass).toBe(true);
  });

  it('an error answer must come in its own protocol\u2019s shape; a 2xx body cut short is never a success', () => {
    const r = (over: Partial<ClientResult>) => ({ index: 0, protocol: 'anthropic', method: 'POST', path: '/v1/messages', stream: false, status: 200, headers: {}, text: '', events: 0, streamEnd: 'n/a', aborted: false, durationMs: 1, malformedLines: 0, ...over }) as ClientResult;
    const anthropicError = { type: 'error', error: { type: 'overloaded_error', message: 'busy' } };
    const openaiError = { error: { message: 'busy', type: 'server_error', code: null } };
    expect(misshapenError(r({ status: 529, body: anthropicError }))).toBe(false);
    // OpenAI's shape on the Anthropic route is not Anthropic's
    expect(misshapenError(r({ status: 529, body: openaiError }))).toBe(true);
    expect(misshapenError(r({ protocol: 'openai-chat', status: 502, body: openaiError }))).toBe(false);
    expect(misshapenError(r({ protocol: 'openai-chat', status: 502, rawBody: '<html>Bad Gateway</html>' }))).toBe(true);
    expect(misshapenError(r({ status: 404, method: 'HEAD' }))).toBe(false);
    expect(brokenSuccess(r({ rawBody: '{"id":"msg_1","content":[{"ty' }))).toBe(true);
    expect(brokenSuccess(r({}))).toBe(true);
    expect(brokenSuccess(r({ body: { id: 'msg_1' } }))).toBe(false);
    expect(brokenSuccess(r({ status: 204 }))).toBe(false);
    const [, , , shape, whole] = checkInvariants({ journal: [], results: [r({ status: 500, body: openaiError }), r({ rawBody: '{' })], clientKeys: [], upstreamTokens: new Map(), mintingUpstreams: new Set() });
    expect([shape.pass, whole.pass]).toEqual([false, false]);
  });

  it('accepts JWTs minted by a chatgpt-oauth upstream and the tokenless refresh call', () => {
    const journal = [entry(1, 'codex', 'aaa.bbb.ccc'), entry(2, 'codex', null, 200, { path: '/oauth/token' })];
    const [, token] = checkInvariants({ journal, results: [], clientKeys: [], upstreamTokens: new Map(), mintingUpstreams: new Set(['codex']) });
    expect(token.pass).toBe(true);
  });

  it('catches two endpoints on one upstream swapping tokens: by the route each request came in on, or by the relay\u2019s attempt record', () => {
    const upstreamTokens = new Map([['shared', new Set(['tok-A', 'tok-B'])]]);
    const endpointTokens = new Map([
      ['A', new Set(['tok-A'])],
      ['B', new Set(['tok-B'])],
    ]);
    const base = { results: [], clientKeys: [], upstreamTokens, endpointTokens, mintingUpstreams: new Set<string>() };
    // Without routes or records, any token of the upstream passes: the weak form.
    const swapped = [entry(1, 'shared', 'tok-B', 429, { headers: { 'x-request-id': 'r1' } }), entry(2, 'shared', 'tok-A', 200, { headers: { 'x-request-id': 'r1' } })];
    expect(checkInvariants({ ...base, journal: swapped })[1].pass).toBe(true);
    // Routes name the endpoint: A's route carried B's token.
    const routed = [entry(1, 'shared', 'tok-B', 429, { route: 'A' }), entry(2, 'shared', 'tok-B', 200, { route: 'B' })];
    const [, byRoute] = checkInvariants({ ...base, journal: routed });
    expect(byRoute.pass).toBe(false);
    expect(byRoute.actual).toEqual(['#1 shared (route A) POST /v1/messages credential=…-B, expected a token of route A']);
    // Records name the endpoint: attempt 1 was A, attempt 2 was B, matched in order to the calls.
    const attempts = new Map([['r1', [{ endpoint: 'A', status: 429 }, { endpoint: 'B', status: 200 }]]]);
    const [, byRecord] = checkInvariants({ ...base, journal: swapped, attempts });
    expect(byRecord.pass).toBe(false);
    expect(byRecord.actual).toHaveLength(2);
    const straight = [entry(1, 'shared', 'tok-A', 429, { headers: { 'x-request-id': 'r1' } }), entry(2, 'shared', 'tok-B', 200, { headers: { 'x-request-id': 'r1' } })];
    const [, ok] = checkInvariants({ ...base, journal: straight, attempts });
    expect(ok).toMatchObject({ pass: true, actual: '2 requests ok (endpoint by record 2)' });
  });

  it('judges only error answers at protocol level: whether there is an error at all is the status check or the relay\u2019s policy', () => {
    const answers = (statuses: number[]) => ({ ...obs([]), results: statuses.map((status, index) => ({ index, status, error: status >= 400 ? { type: 'permission_error', message: 'no' } : undefined }) as unknown as ClientResult) });
    const served = evaluate({ error: { type: 'permission_error' } } as Expectation, answers([200]));
    expect(served).toEqual([expect.objectContaining({ name: 'error shape', level: 'protocol', skipped: true, pass: true })]);
    // the same at reference level: a refusal the relay did not make fails there
    expect(evaluate({ reference: { error: true } } as Expectation, answers([200]))).toEqual([expect.objectContaining({ name: 'error shape', level: 'reference', pass: false })]);
    expect(evaluate({ error: { type: 'permission_error' } } as Expectation, answers([403, 200]))).toEqual([expect.objectContaining({ name: 'error shape', pass: true })]);
    expect(evaluate({ error: { type: 'rate_limit_error' } } as Expectation, answers([403]))).toEqual([expect.objectContaining({ name: 'error shape', pass: false })]);
  });
});
