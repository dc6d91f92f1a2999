import { describe, expect, it } from 'vitest';
import { openaiResponses, sequenceOf } from './openai-responses.js';
import { IDS, TEXT, TOOL, TOOLS_RESPONSES, USAGE } from './test-fixtures.js';

const BODY = { model: 'gpt-5', stream: true, instructions: 'You are Codex', input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'fix it' }] }] };

describe('openai-responses stream shape', () => {
  it('emits the full typed sequence with a sequence_number on each event', () => {
    const events = openaiResponses.buildStream(openaiResponses.requestInfo({ ...BODY, tools: TOOLS_RESPONSES }), BODY, TOOL, USAGE, IDS);
    expect(events.map((e) => e.event)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const data = events.map((e) => JSON.parse(e.data));
    data.forEach((d, i) => {
      expect(d.type).toBe(events[i].event);
      expect(d.sequence_number).toBe(i);
      expect(sequenceOf(events[i].data)).toBe(i);
    });
    expect(data[0].response).toMatchObject({ id: 'resp_abc123', object: 'response', status: 'in_progress', output: [], usage: null, instructions: 'You are Codex' });
    expect(data[4]).toMatchObject({ item_id: 'msg_abc123', output_index: 0, content_index: 0, delta: 'Let' });
    expect(data[11]).toMatchObject({ item_id: 'fc_abc123', output_index: 1, delta: '{"city":' });
    const done = data.at(-1).response;
    expect(done.status).toBe('completed');
    expect(done.usage).toEqual({ input_tokens: 47, input_tokens_details: { cached_tokens: 5 }, output_tokens: 7, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 54 });
    expect(done.output[0]).toEqual({ id: 'msg_abc123', type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', annotations: [], logprobs: [], text: 'Let me check' }] });
    expect(done.output[1]).toMatchObject({ type: 'function_call', call_id: 'call_tc1', name: 'get_weather', arguments: '{"city": "Paris", "unit": "c"}' });
  });

  it('response.failed, response.incomplete and error are errors; incomplete carries usage and ends the stream', () => {
    const so = { ...USAGE, outputTokens: 2 };
    const [failed] = openaiResponses.buildStreamError('failed', so, IDS, { sequenceNumber: 9, model: 'gpt-5' });
    expect(failed.event).toBe('response.failed');
    const f = JSON.parse(failed.data);
    expect(f).toMatchObject({ type: 'response.failed', sequence_number: 9, response: { status: 'failed', error: { code: 'server_error' }, model: 'gpt-5' } });

    const [inc] = openaiResponses.buildStreamError('incomplete', so, IDS, { sequenceNumber: 4 });
    const obs = openaiResponses.createObserver();
    expect(obs.push(inc)).toBe('error');
    expect(obs.error).toEqual({ type: 'incomplete', message: 'max_output_tokens', incomplete: true });
    expect(obs.usage).toEqual(so);
    expect(obs.complete).toBe(true);

    const [err] = openaiResponses.buildStreamError('overloaded', so, IDS);
    expect(err.event).toBe('error');
    const o2 = openaiResponses.createObserver();
    expect(o2.push(err)).toBe('error');
    expect(o2.error?.type).toBe('server_is_overloaded');
    const o3 = openaiResponses.createObserver();
    o3.push({ event: 'error', data: '{"type":"error","error":{"type":"invalid_request_error","code":"context_length_exceeded","message":"m"}}' });
    expect(o3.error).toEqual({ type: 'context_length_exceeded', message: 'm' });
  });

  it('relay stream end is response.failed numbered after the last event seen', () => {
    const obs = openaiResponses.createObserver() as any;
    const events = openaiResponses.buildStream(openaiResponses.requestInfo(BODY), BODY, TEXT, USAGE, IDS).slice(0, 5);
    for (const e of events) obs.push(e);
    expect(obs.lastSequence).toBe(4);
    expect(obs.splice).toEqual({ sequenceNumber: 5, responseId: 'resp_abc123', model: 'gpt-5' });
    const [end] = openaiResponses.streamErrorEvents('upstream cut', 'server_error', obs.splice);
    expect(JSON.parse(end.data)).toMatchObject({
      type: 'response.failed',
      sequence_number: 5,
      response: { id: 'resp_abc123', model: 'gpt-5', status: 'failed', error: { code: 'server_error', message: 'upstream cut' } },
    });
    expect(openaiResponses.createObserver().splice).toEqual({ sequenceNumber: 0 });
  });

  it('usage in Responses form round-trips (non-cached input = input - cached)', () => {
    const res = openaiResponses.buildResponse(openaiResponses.requestInfo(BODY), BODY, TEXT, USAGE, IDS);
    expect(openaiResponses.usageFromBody(res)).toEqual(USAGE);
    expect(openaiResponses.textFromBody(res)).toBe(TEXT.tokens.join(''));
  });
});

describe('openai-responses validation and errors', () => {
  it('400 for missing model / non-object body / bad input', () => {
    expect((openaiResponses.validate({ input: 'x' })?.body as any).error).toMatchObject({ param: 'model', code: 'missing_required_parameter', type: 'invalid_request_error' });
    expect(openaiResponses.validate(null)?.status).toBe(400);
    expect(openaiResponses.validate({ model: 'gpt-5', input: 5 })?.status).toBe(400);
    expect(openaiResponses.validate(BODY)).toBeUndefined();
    expect(openaiResponses.errorReply(500, 'boom').body).toEqual({ error: { message: 'boom', type: 'server_error', param: null, code: null } });
  });
});

describe('openai-responses request info and session key', () => {
  it('reads max_output_tokens and estimates from instructions + input', () => {
    const info = openaiResponses.requestInfo({ ...BODY, max_output_tokens: 300 });
    expect(info).toMatchObject({ model: 'gpt-5', stream: true, maxOutputTokens: 300, hasTools: false });
    expect(info.estimatedInputTokens).toBe(Math.ceil('You are Codexfix it'.length / 4));
  });

  it('follows session-id > session_id > prompt_cache_key > instructions > first input', () => {
    const body = { ...BODY, prompt_cache_key: 'pck' };
    expect(openaiResponses.sessionKey({ 'session-id': 'new', session_id: 'old' }, body)).toEqual({ source: 'header:session-id', value: 'new' });
    expect(openaiResponses.sessionKey({ session_id: 'old' }, body)).toEqual({ source: 'header:session_id', value: 'old' });
    expect(openaiResponses.sessionKey({}, body)).toEqual({ source: 'prompt_cache_key', value: 'pck' });
    const byInstr = openaiResponses.sessionKey({}, BODY)!;
    expect(byInstr.source).toBe('instructions');
    expect(byInstr.derived).toBe(true);
    expect(byInstr.value).toMatch(/^[0-9a-f]{32}$/);
    const noInstr = { ...BODY, instructions: undefined };
    const byInput = openaiResponses.sessionKey({}, noInstr)!;
    expect(byInput.source).toBe('first-input');
    expect(openaiResponses.sessionKey({}, { model: 'm', input: 'fix it' })).toEqual(byInput);
    expect(openaiResponses.sessionKey({}, { model: 'm' })).toBeUndefined();
  });

  it('withModel leaves other fields alone', () => {
    expect(openaiResponses.withModel(BODY, 'gpt-5-codex')).toEqual({ ...BODY, model: 'gpt-5-codex' });
  });
});
