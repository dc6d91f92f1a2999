/**
 * The official SDKs are the judges of fidelity: they parse what our builders emit (through a
 * fetch stub, no server), accumulate streams and raise typed errors from our error bodies.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { anthropic, openaiChat, openaiResponses } from './index.js';
import { encodeSseAll } from './sse.js';
import { generatedOutputTokens } from './tokens.js';
import { IDS, TEXT, TOOL, TOOLS_ANTHROPIC, TOOLS_OPENAI, TOOLS_RESPONSES, USAGE } from './test-fixtures.js';
import type { ErrorReply, GeneratedContent, Protocol } from './types.js';

type Answer = { status?: number; headers?: Record<string, string>; body: string };

/** A fetch that answers every request with what `answer` builds from the parsed request body. */
function stubFetch(answer: (body: any) => Answer): typeof fetch {
  return (async (_url: unknown, init?: RequestInit) => {
    const body = JSON.parse(String(init?.body ?? '{}'));
    const a = answer(body);
    return new Response(a.body, { status: a.status ?? 200, headers: a.headers ?? {} });
  }) as typeof fetch;
}

function answerWith(p: Protocol, content: GeneratedContent) {
  return (body: any): Answer => {
    const req = p.requestInfo(body);
    const usage = { ...USAGE, outputTokens: generatedOutputTokens(content) };
    if (req.stream) {
      return { headers: { 'content-type': 'text/event-stream' }, body: encodeSseAll(p.buildStream(req, body, content, usage, IDS)) };
    }
    return { headers: { 'content-type': 'application/json' }, body: JSON.stringify(p.buildResponse(req, body, content, usage, IDS)) };
  };
}

function errorAnswer(reply: ErrorReply): Answer {
  return { status: reply.status, headers: reply.headers, body: JSON.stringify(reply.body) };
}

const claude = (answer: (body: any) => Answer) =>
  new Anthropic({ apiKey: 'sk-ant-test', baseURL: 'http://mock.invalid', fetch: stubFetch(answer), maxRetries: 0 });
const openai = (answer: (body: any) => Answer) =>
  new OpenAI({ apiKey: 'sk-test', baseURL: 'http://mock.invalid/v1', fetch: stubFetch(answer), maxRetries: 0 });

describe('@anthropic-ai/sdk accepts the anthropic builders', () => {
  const params = { model: 'claude-sonnet-4-6', max_tokens: 100, messages: [{ role: 'user' as const, content: 'hi' }] };

  it('non-stream message', async () => {
    const msg = await claude(answerWith(anthropic, TEXT)).messages.create(params);
    expect(msg.id).toBe('msg_abc123');
    expect(msg.content).toEqual([{ type: 'text', text: TEXT.tokens.join('') }]);
    expect(msg.usage.input_tokens).toBe(USAGE.inputTokens);
    expect(msg.usage.cache_read_input_tokens).toBe(USAGE.cacheReadTokens);
    expect(msg.stop_reason).toBe('end_turn');
  });

  it('stream with a tool_use block accumulates into the final message', async () => {
    const stream = claude(answerWith(anthropic, TOOL)).messages.stream({ ...params, tools: TOOLS_ANTHROPIC as any });
    let text = '';
    stream.on('text', (t) => (text += t));
    const msg = await stream.finalMessage();
    expect(text).toBe(TOOL.tokens.join(''));
    expect(msg.content[1]).toEqual({ type: 'tool_use', id: 'toolu_tc1', name: 'get_weather', input: TOOL.toolCall!.input });
    expect(msg.stop_reason).toBe('tool_use');
    expect(msg.usage.output_tokens).toBe(generatedOutputTokens(TOOL));
    expect(msg.usage.input_tokens).toBe(USAGE.inputTokens);
  });

  it('in-stream overloaded_error surfaces as an APIError', async () => {
    const body = { ...params, stream: true };
    const events = anthropic.buildStream(anthropic.requestInfo(body), body, TEXT, USAGE, IDS).slice(0, 4);
    events.push(...anthropic.buildStreamError('overloaded', USAGE, IDS));
    const client = claude(() => ({ headers: { 'content-type': 'text/event-stream' }, body: encodeSseAll(events) }));
    await expect(client.messages.stream(params).finalMessage()).rejects.toMatchObject({ error: { type: 'error', error: { type: 'overloaded_error' } } });
  });

  it('error replies map to the SDK error classes with request id and retry-after', async () => {
    const client = claude(() => errorAnswer(anthropic.errorReply(429, 'slow down', { requestId: 'req_1', retryAfterSeconds: 7 })));
    const err = await client.messages.create(params).catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    expect(err.requestID).toBe('req_1');
    expect(err.headers.get('retry-after')).toBe('7');
    expect(err.error).toEqual({ type: 'error', error: { type: 'rate_limit_error', message: 'slow down' }, request_id: 'req_1' });
    const auth = await claude(() => errorAnswer(anthropic.errorReply(401, 'invalid x-api-key'))).messages.create(params).catch((e) => e);
    expect(auth).toBeInstanceOf(Anthropic.AuthenticationError);
  });
});

describe('openai SDK accepts the chat builders', () => {
  const params = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'hi' }] };

  it('non-stream completion with a tool call', async () => {
    const res = await openai(answerWith(openaiChat, TOOL)).chat.completions.create({ ...params, tools: TOOLS_OPENAI as any });
    expect(res.id).toBe('chatcmpl-abc123');
    expect(res.choices[0].finish_reason).toBe('tool_calls');
    const call = res.choices[0].message.tool_calls![0] as any;
    expect(JSON.parse(call.function.arguments)).toEqual(TOOL.toolCall!.input);
    expect(res.usage?.prompt_tokens_details?.cached_tokens).toBe(USAGE.cacheReadTokens);
  });

  it('stream helper accumulates content and tool-call arguments; usage chunk last', async () => {
    const stream = openai(answerWith(openaiChat, TOOL)).chat.completions.stream({
      ...params,
      tools: TOOLS_OPENAI as any,
      stream_options: { include_usage: true },
    });
    const final = await stream.finalChatCompletion();
    expect(final.choices[0].message.content).toBe(TOOL.tokens.join(''));
    const call = final.choices[0].message.tool_calls![0] as any;
    expect(call.id).toBe('call_tc1');
    expect(call.function.arguments).toBe(TOOL.toolCall!.argumentChunks.join(''));
    expect(final.usage?.completion_tokens).toBe(generatedOutputTokens(TOOL));
  });

  it('raw stream: every chunk but the last has usage null when include_usage', async () => {
    const chunks: any[] = [];
    const stream = await openai(answerWith(openaiChat, TEXT)).chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
    for await (const c of stream) chunks.push(c);
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '', refusal: null });
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(chunks.at(-1).choices).toEqual([]);
    expect(chunks.at(-2).choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
  });

  it('without include_usage the chunks carry no usage field at all', async () => {
    const chunks: any[] = [];
    const stream = await openai(answerWith(openaiChat, TEXT)).chat.completions.create({ ...params, stream: true });
    for await (const c of stream) chunks.push(c);
    expect(chunks.some((c) => 'usage' in c)).toBe(false);
  });

  it('in-stream error data throws an APIError', async () => {
    const body = { ...params, stream: true };
    const events = openaiChat.buildStream(openaiChat.requestInfo(body), body, TEXT, USAGE, IDS).slice(0, 3);
    events.push(...openaiChat.buildStreamError('failed', USAGE, IDS));
    const client = openai(() => ({ headers: { 'content-type': 'text/event-stream' }, body: encodeSseAll(events) }));
    const run = async () => {
      for await (const _ of await client.chat.completions.create({ ...params, stream: true })) void _;
    };
    await expect(run()).rejects.toBeInstanceOf(OpenAI.APIError);
  });

  it('error replies map to the SDK error classes', async () => {
    const err = await openai(() => errorAnswer(openaiChat.errorReply(401, 'Incorrect API key provided', { requestId: 'req_x' })))
      .chat.completions.create(params)
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(err.code).toBe('invalid_api_key');
    expect(err.type).toBe('invalid_request_error');
    expect(err.requestID).toBe('req_x');
    const quota = await openai(() => errorAnswer(openaiChat.errorReply(429, 'quota', { code: 'insufficient_quota' })))
      .chat.completions.create(params)
      .catch((e) => e);
    expect(quota).toBeInstanceOf(OpenAI.RateLimitError);
    expect(quota.type).toBe('insufficient_quota');
  });
});

describe('openai SDK accepts the responses builders', () => {
  const params = { model: 'gpt-5', input: 'hi' };

  it('non-stream response exposes output_text and usage', async () => {
    const res = await openai(answerWith(openaiResponses, TEXT)).responses.create(params);
    expect(res.id).toBe('resp_abc123');
    expect(res.output_text).toBe(TEXT.tokens.join(''));
    expect(res.usage?.input_tokens_details.cached_tokens).toBe(USAGE.cacheReadTokens);
    expect(res.status).toBe('completed');
  });

  it('stream helper builds the final response with text and function call', async () => {
    const stream = openai(answerWith(openaiResponses, TOOL)).responses.stream({ ...params, tools: TOOLS_RESPONSES as any });
    let deltas = '';
    stream.on('response.output_text.delta', (e) => (deltas += e.delta));
    const final = await stream.finalResponse();
    expect(deltas).toBe(TOOL.tokens.join(''));
    expect(final.output_text).toBe(TOOL.tokens.join(''));
    const call = final.output.find((o) => o.type === 'function_call') as any;
    expect(call).toMatchObject({ name: 'get_weather', call_id: 'call_tc1', arguments: TOOL.toolCall!.argumentChunks.join('') });
    expect(final.usage?.output_tokens).toBe(generatedOutputTokens(TOOL));
  });

  it('max_tokens ends with response.incomplete carrying usage', async () => {
    const cut: GeneratedContent = { tokens: ['a', 'b'], stopReason: 'max_tokens' };
    const events: any[] = [];
    const stream = await openai(answerWith(openaiResponses, cut)).responses.create({ ...params, stream: true });
    for await (const e of stream) events.push(e);
    const last = events.at(-1);
    expect(last.type).toBe('response.incomplete');
    expect(last.response.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(last.response.usage.output_tokens).toBe(2);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
  });
});
