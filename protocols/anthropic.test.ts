import { describe, expect, it } from 'vitest';
import { anthropic, anthropicErrorType, sessionFromUserId } from './anthropic.js';
import { IDS, TEXT, TOOL, TOOLS_ANTHROPIC, USAGE_WITH_WRITE } from './test-fixtures.js';

const BODY = { model: 'claude-sonnet-4-6', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'Hello there' }] };

describe('anthropic errors', () => {
  it('maps status to error.type like the real API', () => {
    const table: Record<number, string> = {
      400: 'invalid_request_error',
      401: 'authentication_error',
      402: 'billing_error',
      403: 'permission_error',
      404: 'not_found_error',
      413: 'request_too_large',
      429: 'rate_limit_error',
      500: 'api_error',
      502: 'api_error',
      503: 'overloaded_error',
      504: 'timeout_error',
      529: 'overloaded_error',
      418: 'invalid_request_error',
    };
    for (const [status, type] of Object.entries(table)) expect([status, anthropicErrorType(Number(status))]).toEqual([status, type]);
  });

  it('builds the error body with request id, request-id header and retry-after', () => {
    const r = anthropic.errorReply(529, 'Overloaded', { requestId: 'req_011', retryAfterSeconds: 3 });
    expect(r.status).toBe(529);
    expect(r.body).toEqual({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' }, request_id: 'req_011' });
    expect(r.headers).toMatchObject({ 'request-id': 'req_011', 'retry-after': '3', 'content-type': 'application/json' });
    expect(anthropic.errorReply(429, 'x').headers['retry-after']).toBe('1');
    expect(anthropic.errorReply(500, 'x').headers['retry-after']).toBeUndefined();
    expect(anthropic.errorReply(400, 'x', { type: 'custom_error' }).body).toMatchObject({ error: { type: 'custom_error' } });
  });

  it('validates like the API: 400 invalid_request_error naming the field', () => {
    const msg = (b: unknown) => (anthropic.validate(b)?.body as any)?.error;
    expect(msg('nope')).toMatchObject({ type: 'invalid_request_error' });
    expect(msg([1])).toMatchObject({ type: 'invalid_request_error' });
    expect(msg({ messages: [], max_tokens: 1 }).message).toBe('model: Field required');
    expect(msg({ model: 'm', max_tokens: 1 }).message).toBe('messages: Field required');
    const one = [{ role: 'user', content: 'x' }];
    expect(msg({ model: 'm', messages: [], max_tokens: 5 }).message).toBe('messages: at least one message is required');
    expect(msg({ model: 'm', messages: one }).message).toBe('max_tokens: Field required');
    expect(msg({ model: 'm', messages: one, max_tokens: 'x' }).message).toMatch(/max_tokens/);
    expect(anthropic.validate(BODY)).toBeUndefined();
    expect(anthropic.validate({ model: 'm' })?.status).toBe(400);
  });
});

describe('anthropic stream shape', () => {
  it('emits the exact event order, ping after the first block start', () => {
    const events = anthropic.buildStream(anthropic.requestInfo({ ...BODY, tools: TOOLS_ANTHROPIC }), BODY, TOOL, USAGE_WITH_WRITE, IDS);
    expect(events.map((e) => e.event)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    for (const e of events) expect(JSON.parse(e.data).type).toBe(e.event);
    const start = JSON.parse(events[0].data).message;
    expect(start.usage).toMatchObject({ input_tokens: 42, cache_creation_input_tokens: 11, cache_read_input_tokens: 5, output_tokens: 1 });
    expect(start.id).toBe('msg_abc123');
    expect(JSON.parse(events[7].data).content_block).toEqual({ type: 'tool_use', id: 'toolu_tc1', name: 'get_weather', input: {} });
    expect(JSON.parse(events[8].data).delta).toEqual({ type: 'input_json_delta', partial_json: '{"city":' });
    expect(JSON.parse(events[12].data)).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { output_tokens: 7 },
    });
  });

  it('a text-only answer has one text block', () => {
    const events = anthropic.buildStream(anthropic.requestInfo(BODY), BODY, TEXT, USAGE_WITH_WRITE, IDS);
    expect(events.filter((e) => e.event === 'content_block_start')).toHaveLength(1);
    expect(events.filter((e) => e.phase === 'content')).toHaveLength(TEXT.tokens.length);
  });

  it('observer merges message_start usage with a cumulative message_delta usage', () => {
    const obs = anthropic.createObserver();
    obs.push({ event: 'message_start', data: JSON.stringify({ type: 'message_start', message: { usage: { input_tokens: 10, cache_creation_input_tokens: 3, cache_read_input_tokens: 2, output_tokens: 1 } } }) });
    expect(obs.usage).toEqual({ inputTokens: 10, outputTokens: 1, cacheWriteTokens: 3, cacheReadTokens: 2 });
    obs.push({ event: 'message_delta', data: JSON.stringify({ type: 'message_delta', delta: {}, usage: { output_tokens: 9 } }) });
    expect(obs.usage).toEqual({ inputTokens: 10, outputTokens: 9, cacheWriteTokens: 3, cacheReadTokens: 2 });
    obs.push({ event: 'message_delta', data: JSON.stringify({ type: 'message_delta', delta: {}, usage: { input_tokens: 12, cache_read_input_tokens: null, output_tokens: 11 } }) });
    expect(obs.usage).toEqual({ inputTokens: 12, outputTokens: 11, cacheWriteTokens: 3, cacheReadTokens: 2 });
    expect(obs.complete).toBe(false);
    expect(obs.push({ event: 'message_stop', data: '{"type":"message_stop"}' })).toBe('terminal');
    expect(obs.complete).toBe(true);
  });

  it('classifies ping without parsing and the error event with its type', () => {
    const obs = anthropic.createObserver();
    expect(obs.push({ event: 'ping', data: 'not even json' })).toBe('ping');
    expect(obs.malformed).toBe(0);
    expect(anthropic.streamErrorEvents('boom', 'overloaded_error')).toEqual([
      { event: 'error', data: '{"type":"error","error":{"type":"overloaded_error","message":"boom"}}' },
    ]);
    expect(obs.push(anthropic.streamErrorEvents('boom', 'overloaded_error')[0])).toBe('error');
    expect(obs.error).toEqual({ type: 'overloaded_error', message: 'boom' });
  });
});

describe('anthropic request info and session key', () => {
  it('reads model, stream, max_tokens, tools and estimates input', () => {
    const info = anthropic.requestInfo({ ...BODY, system: 'abcd', tools: TOOLS_ANTHROPIC });
    expect(info).toMatchObject({ model: 'claude-sonnet-4-6', stream: true, maxOutputTokens: 64, hasTools: true, includeUsage: true });
    expect(info.estimatedInputTokens).toBe(Math.ceil(('abcd' + 'Hello there' + JSON.stringify(TOOLS_ANTHROPIC)).length / 4));
    expect(anthropic.requestInfo('garbage')).toMatchObject({ model: undefined, stream: false, hasTools: false, estimatedInputTokens: 1 });
  });

  const jsonUserId = JSON.stringify({ device_id: 'dev', account_uuid: '', session_id: 'sess-json' });
  const legacyUserId = 'user_0123abcd_account__session_6f1c7f0e-1111-2222-3333-444455556666';

  it('parses both user_id forms', () => {
    expect(sessionFromUserId(jsonUserId)).toBe('sess-json');
    expect(sessionFromUserId(legacyUserId)).toBe('6f1c7f0e-1111-2222-3333-444455556666');
    expect(sessionFromUserId('user_abc_account_acc-1_session_s2')).toBe('s2');
    expect(sessionFromUserId('just-a-user')).toBeUndefined();
    expect(sessionFromUserId('{broken')).toBeUndefined();
  });

  it('follows header > metadata.user_id > first message', () => {
    const body = { ...BODY, metadata: { user_id: jsonUserId } };
    expect(anthropic.sessionKey({ 'x-claude-code-session-id': 'hdr' }, body)).toEqual({ source: 'header:x-claude-code-session-id', value: 'hdr' });
    expect(anthropic.sessionKey({ 'X-Claude-Code-Session-Id': 'hdr2' }, body)?.value).toBe('hdr2');
    expect(anthropic.sessionKey({}, body)).toEqual({ source: 'metadata.user_id', value: 'sess-json' });
    expect(anthropic.sessionKey({}, { ...BODY, metadata: { user_id: legacyUserId } })?.value).toBe('6f1c7f0e-1111-2222-3333-444455556666');
    const first = anthropic.sessionKey({}, BODY)!;
    expect(first.source).toBe('first-message');
    expect(first.derived).toBe(true);
    expect(first.value).toMatch(/^[0-9a-f]{32}$/);
    // A user_id without a session part still names who asks: explicit, not derived.
    expect(anthropic.sessionKey({}, { ...BODY, metadata: { user_id: 'just-a-user' } })).toEqual({ source: 'metadata.user_id', value: 'just-a-user' });
    // Same first message, later turns appended: same key.
    const later = { ...BODY, messages: [...BODY.messages, { role: 'assistant', content: 'x' }, { role: 'user', content: 'y' }] };
    expect(anthropic.sessionKey({}, later)).toEqual(first);
    expect(anthropic.sessionKey({}, { ...BODY, messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello there' }] }] })).toEqual(first);
    expect(anthropic.sessionKey({}, { ...BODY, messages: [{ role: 'user', content: 'other' }] })?.value).not.toBe(first.value);
    expect(anthropic.sessionKey({}, { model: 'm' })).toBeUndefined();
  });

  it('withModel replaces only the model and does not mutate the input', () => {
    const body = { ...BODY, metadata: { user_id: 'u' }, tools: TOOLS_ANTHROPIC };
    const copy = structuredClone(body);
    const out = anthropic.withModel(body, 'claude-opus-4-7') as typeof body;
    expect(out).toEqual({ ...copy, model: 'claude-opus-4-7' });
    expect(body).toEqual(copy);
    expect(anthropic.withModel('raw', 'x')).toBe('raw');
  });
});
