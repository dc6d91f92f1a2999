import { describe, expect, it } from 'vitest';
import { chunkEnvelope, openaiChat, SYSTEM_FINGERPRINT, textChoice, withStreamUsage } from './openai-chat.js';
import { openAiErrorShape } from './openai-shared.js';
import { IDS, TEXT, TOOL, TOOLS_OPENAI, USAGE, USAGE_WITH_WRITE } from './test-fixtures.js';

const BODY = { model: 'gpt-4o', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'system', content: 'Be brief' }, { role: 'user', content: 'Hi' }] };

describe('openai-chat errors', () => {
  it('maps status to type and code', () => {
    expect(openAiErrorShape(400)).toEqual({ type: 'invalid_request_error', code: null });
    expect(openAiErrorShape(400, 'context_length_exceeded')).toEqual({ type: 'invalid_request_error', code: 'context_length_exceeded' });
    expect(openAiErrorShape(401)).toEqual({ type: 'invalid_request_error', code: 'invalid_api_key' });
    expect(openAiErrorShape(404)).toEqual({ type: 'invalid_request_error', code: 'model_not_found' });
    expect(openAiErrorShape(429)).toEqual({ type: 'requests', code: 'rate_limit_exceeded' });
    expect(openAiErrorShape(429, 'insufficient_quota')).toEqual({ type: 'insufficient_quota', code: 'insufficient_quota' });
    expect(openAiErrorShape(500).type).toBe('server_error');
    expect(openAiErrorShape(503).type).toBe('server_error');
  });

  it('builds {error:{message,type,param,code}} with x-request-id and retry-after', () => {
    const r = openaiChat.errorReply(400, 'too long', { code: 'context_length_exceeded', param: 'messages', requestId: 'req_9' });
    expect(r.body).toEqual({ error: { message: 'too long', type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } });
    expect(r.headers['x-request-id']).toBe('req_9');
    expect(openaiChat.errorReply(429, 'slow', { retryAfterSeconds: 20 }).headers['retry-after']).toBe('20');
  });

  it('validates model and messages like the API', () => {
    const err = (b: unknown) => (openaiChat.validate(b)?.body as any)?.error;
    expect(openaiChat.validate(7)?.status).toBe(400);
    expect(err({ messages: [] }).message).toBe('you must provide a model parameter');
    expect(err({ model: 'gpt-4o' })).toMatchObject({ param: 'messages', code: 'missing_required_parameter' });
    expect(err({ model: 'gpt-4o', messages: [] })).toMatchObject({ param: 'messages', code: 'empty_array' });
    expect(err({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], stream_options: { include_usage: true } })).toMatchObject({ param: 'stream_options' });
    expect(openaiChat.validate(BODY)).toBeUndefined();
  });

  it('in-stream error for the relay is data: {"error":{...}}', () => {
    const [ev] = openaiChat.streamErrorEvents('upstream cut', 'server_error');
    expect(ev.event).toBeUndefined();
    expect(JSON.parse(ev.data)).toEqual({ error: { message: 'upstream cut', type: 'server_error', param: null, code: null } });
  });
});

describe('openai-chat stream shape', () => {
  it('role chunk, content, tool deltas, finish chunk, usage chunk, [DONE]', () => {
    const req = openaiChat.requestInfo({ ...BODY, tools: TOOLS_OPENAI });
    const events = openaiChat.buildStream(req, BODY, TOOL, USAGE, IDS);
    expect(events.map((e) => e.phase)).toEqual(['start', 'content', 'content', 'content', 'start', 'content', 'content', 'content', 'content_end', 'usage', 'terminal']);
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.data));
    for (const c of chunks) expect(c).toMatchObject({ id: 'chatcmpl-abc123', object: 'chat.completion.chunk', created: IDS.created, model: 'gpt-4o' });
    expect(chunks[0].choices[0]).toEqual({ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null });
    expect(chunks[4].choices[0].delta.tool_calls[0]).toEqual({ index: 0, id: 'call_tc1', type: 'function', function: { name: 'get_weather', arguments: '' } });
    expect(chunks[5].choices[0].delta.tool_calls[0]).toEqual({ index: 0, function: { arguments: '{"city":' } });
    expect(chunks[8].choices[0]).toEqual({ index: 0, delta: {}, logprobs: null, finish_reason: 'tool_calls' });
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(chunks[9]).toMatchObject({ choices: [], usage: { prompt_tokens: 47, completion_tokens: 7, total_tokens: 54, prompt_tokens_details: { cached_tokens: 5 } } });
    expect(events.at(-1)!.data).toBe('[DONE]');
  });

  it('spliced chunks are byte for byte JSON.stringify of the whole chunk, keys in order', () => {
    const whole = (choices: unknown, usage?: unknown, withUsage = true) =>
      JSON.stringify({
        id: 'chatcmpl-"quoted"',
        object: 'chat.completion.chunk',
        created: 1700000000,
        model: 'gpt-4o\u00e9',
        service_tier: 'default',
        system_fingerprint: SYSTEM_FINGERPRINT,
        choices,
        ...(withUsage ? { usage: usage ?? null } : {}),
      });
    const text = 'line\n"two" \u00e9\u2028 \ud83d\ude00';
    const content = [{ index: 0, delta: { content: text }, logprobs: null, finish_reason: null }];
    const usage = { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 };
    const withUsage = chunkEnvelope('chatcmpl-"quoted"', 1700000000, 'gpt-4o\u00e9', true);
    const without = chunkEnvelope('chatcmpl-"quoted"', 1700000000, 'gpt-4o\u00e9', false);
    expect(textChoice(text)).toBe(JSON.stringify(content));
    expect(withUsage(textChoice(text))).toBe(whole(content));
    expect(withUsage('[]', usage)).toBe(whole([], usage));
    expect(without(textChoice(text))).toBe(whole(content, undefined, false));
  });

  it('without include_usage: no usage chunk and the observer reports no usage', () => {
    const body = { ...BODY, stream_options: undefined };
    const events = openaiChat.buildStream(openaiChat.requestInfo(body), body, TEXT, USAGE, IDS);
    expect(events.some((e) => e.phase === 'usage')).toBe(false);
    const obs = openaiChat.createObserver();
    for (const e of events) obs.push(e);
    expect(obs.usage).toBeUndefined();
    expect(obs.complete).toBe(true);
  });

  it('usage in OpenAI form: non-cached input = prompt - cached; cache writes fold into prompt', () => {
    const res = openaiChat.buildResponse(openaiChat.requestInfo(BODY), BODY, TEXT, USAGE_WITH_WRITE, IDS) as any;
    expect(res.usage.prompt_tokens).toBe(42 + 11 + 5);
    expect(openaiChat.usageFromBody(res)).toEqual({ inputTokens: 53, outputTokens: 7, cacheWriteTokens: 0, cacheReadTokens: 5 });
    expect(openaiChat.usageFromBody({ usage: { prompt_tokens: 10, completion_tokens: 2, prompt_cache_hit_tokens: 4 } })).toEqual({ inputTokens: 6, outputTokens: 2, cacheWriteTokens: 0, cacheReadTokens: 4 });
    expect(openaiChat.usageFromBody({})).toBeUndefined();
  });

  it('non-stream finish reasons and refusal/content fields', () => {
    const r = openaiChat.buildResponse(openaiChat.requestInfo(BODY), BODY, { tokens: ['a'], stopReason: 'max_tokens' }, USAGE, IDS) as any;
    expect(r).toMatchObject({ object: 'chat.completion', system_fingerprint: expect.stringMatching(/^fp_/) });
    expect(r.choices[0]).toEqual({ index: 0, message: { role: 'assistant', content: 'a', refusal: null, annotations: [] }, logprobs: null, finish_reason: 'length' });
  });
});

describe('openai-chat request info and session key', () => {
  it('reads max_completion_tokens before max_tokens, include_usage and tools', () => {
    expect(openaiChat.requestInfo({ ...BODY, max_tokens: 5, max_completion_tokens: 9, tools: TOOLS_OPENAI })).toMatchObject({
      maxOutputTokens: 9,
      includeUsage: true,
      hasTools: true,
      stream: true,
    });
    expect(openaiChat.requestInfo({ model: 'x', max_tokens: 5, messages: [] })).toMatchObject({ maxOutputTokens: 5, includeUsage: false, stream: false });
    expect(openaiChat.requestInfo(BODY).estimatedInputTokens).toBe(Math.ceil('Be briefHi'.length / 4));
  });

  it('follows session_id > session-id > x-session-id > prompt_cache_key > first message hash', () => {
    expect(openaiChat.sessionKey({ session_id: 'a', 'x-session-id': 'b' }, BODY)).toEqual({ source: 'header:session_id', value: 'a' });
    expect(openaiChat.sessionKey({ 'session-id': 'h', 'x-session-id': 'b' }, BODY)).toEqual({ source: 'header:session-id', value: 'h' });
    expect(openaiChat.sessionKey({ 'x-session-id': 'b' }, { ...BODY, prompt_cache_key: 'pck' })).toEqual({ source: 'header:x-session-id', value: 'b' });
    expect(openaiChat.sessionKey({}, { ...BODY, prompt_cache_key: 'pck' })).toEqual({ source: 'prompt_cache_key', value: 'pck' });
    expect(openaiChat.sessionKey({ 'x-session-id': ['c', 'd'] }, BODY)?.value).toBe('c');
    const k = openaiChat.sessionKey({}, BODY)!;
    expect(k.source).toBe('first-message');
    expect(k.derived).toBe(true);
    expect(openaiChat.sessionKey({}, { ...BODY, messages: [...BODY.messages, { role: 'user', content: 'more' }] })).toEqual(k);
  });

  it('withModel leaves other fields alone', () => {
    const out = openaiChat.withModel(BODY, 'gpt-4.1') as any;
    expect(out).toEqual({ ...BODY, model: 'gpt-4.1' });
    expect(BODY.model).toBe('gpt-4o');
  });
});

describe('withStreamUsage', () => {
  it('asks for the usage chunk on streaming requests only, keeping other stream_options', () => {
    const body = { model: 'm', stream: true, stream_options: { include_obfuscation: false }, messages: [] };
    expect(withStreamUsage(body)).toEqual({ ...body, stream_options: { include_obfuscation: false, include_usage: true } });
    expect(body.stream_options).toEqual({ include_obfuscation: false });
    const plain = { model: 'm', messages: [] };
    expect(withStreamUsage(plain)).toBe(plain);
    expect(openaiChat.requestInfo(withStreamUsage({ model: 'm', stream: true })).includeUsage).toBe(true);
  });
});
