/** Non-stream answers and error bodies both ways, from the mocks' own builders (protocols/). */
import { describe, expect, it } from 'vitest';
import { anthropic } from '../../protocols/anthropic.js';
import { openaiChat } from '../../protocols/openai-chat.js';
import { IDS, TEXT, TOOL, USAGE, USAGE_WITH_WRITE } from '../../protocols/test-fixtures.js';
import type { GeneratedContent } from '../../protocols/types.js';
import { anthropicAnswerToChat } from './anthropic-answer-to-chat.js';
import { chatAnswerToAnthropic } from './chat-answer-to-anthropic.js';
import { translatedErrorBody } from './errors.js';

const CHAT_BODY = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] };
const ANTHROPIC_BODY = { model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] };

function chatAnswer(content: GeneratedContent) {
  return openaiChat.buildResponse(openaiChat.requestInfo(CHAT_BODY), CHAT_BODY, content, USAGE, IDS);
}
function anthropicAnswer(content: GeneratedContent, usage = USAGE) {
  return anthropic.buildResponse(anthropic.requestInfo(ANTHROPIC_BODY), ANTHROPIC_BODY, content, usage, IDS);
}

describe('Chat completion -> Anthropic Message', () => {
  it('carries the text, the usage (cached prompt tokens as cache reads) and end_turn', () => {
    const out = chatAnswerToAnthropic(chatAnswer(TEXT));
    expect(out).toMatchObject({ type: 'message', role: 'assistant', model: 'gpt-4o', stop_reason: 'end_turn', content: [{ type: 'text', text: TEXT.tokens.join('') }] });
    expect(String(out.id)).toMatch(/^msg_/);
    expect(anthropic.textFromBody(out)).toBe(TEXT.tokens.join(''));
    expect(anthropic.usageFromBody(out)).toEqual(USAGE);
  });

  it('turns tool_calls into a tool_use block with the parsed input, and tool_calls into tool_use', () => {
    const out = chatAnswerToAnthropic(chatAnswer(TOOL));
    expect(out.stop_reason).toBe('tool_use');
    expect(out.content).toEqual([
      { type: 'text', text: 'Let me check' },
      { type: 'tool_use', id: 'call_tc1', name: 'get_weather', input: { city: 'Paris', unit: 'c' } },
    ]);
  });

  it('reads length as max_tokens', () => {
    expect(chatAnswerToAnthropic(chatAnswer({ ...TEXT, stopReason: 'max_tokens' })).stop_reason).toBe('max_tokens');
  });
});

describe('Anthropic Message -> Chat completion', () => {
  it('carries the text, the usage (every input token a prompt token, cache reads cached) and stop', () => {
    const out = anthropicAnswerToChat(anthropicAnswer(TEXT), 1_700_000_000);
    expect(out).toMatchObject({ object: 'chat.completion', created: 1_700_000_000, model: 'claude-sonnet-4-5' });
    expect(String(out.id)).toMatch(/^chatcmpl-/);
    expect(openaiChat.textFromBody(out)).toBe(TEXT.tokens.join(''));
    expect(openaiChat.stopReasonFromBody!(out)).toBe('stop');
    expect(openaiChat.usageFromBody(out)).toEqual(USAGE);
  });

  it('folds cache writes into prompt tokens (Chat has no cache-write count)', () => {
    const usage = (anthropicAnswerToChat(anthropicAnswer(TEXT, USAGE_WITH_WRITE), 0) as { usage: Record<string, unknown> }).usage;
    expect(usage).toMatchObject({ prompt_tokens: 42 + 11 + 5, completion_tokens: 7, prompt_tokens_details: { cached_tokens: 5 } });
  });

  it('turns a tool_use block into tool_calls, and tool_use into tool_calls', () => {
    const out = anthropicAnswerToChat(anthropicAnswer(TOOL), 0) as { choices: Array<{ message: Record<string, unknown>; finish_reason: string }> };
    expect(out.choices[0].finish_reason).toBe('tool_calls');
    expect(out.choices[0].message).toMatchObject({
      role: 'assistant',
      content: 'Let me check',
      tool_calls: [{ id: 'toolu_tc1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris","unit":"c"}' } }],
    });
  });

  it('reads max_tokens as length', () => {
    expect(openaiChat.stopReasonFromBody!(anthropicAnswerToChat(anthropicAnswer({ ...TEXT, stopReason: 'max_tokens' }), 0))).toBe('length');
  });
});

describe('error bodies', () => {
  const bytes = (reply: { body: unknown }) => Buffer.from(JSON.stringify(reply.body));

  it('a Chat 429 is an Anthropic rate_limit_error with the upstream message', () => {
    const body = translatedErrorBody(openaiChat, anthropic, 429, bytes(openaiChat.errorReply(429, 'Rate limit reached for gpt-4o')), false);
    expect(body).toEqual({ type: 'error', error: { type: 'rate_limit_error', message: 'Rate limit reached for gpt-4o' } });
  });

  it('an Anthropic 400 is a Chat invalid_request_error; a prompt too long says context_length_exceeded', () => {
    const plain = translatedErrorBody(anthropic, openaiChat, 400, bytes(anthropic.errorReply(400, 'max_tokens: 200 > 100')), false);
    expect(plain).toEqual({ error: { message: 'max_tokens: 200 > 100', type: 'invalid_request_error', param: null, code: null } });
    const long = translatedErrorBody(anthropic, openaiChat, 400, bytes(anthropic.errorReply(400, 'prompt is too long: 210000 tokens > 200000 maximum')), true);
    expect(long).toMatchObject({ error: { type: 'invalid_request_error', code: 'context_length_exceeded' } });
  });

  it('an Anthropic 529 overload is a Chat server error of that status; a body that is no error still gets one', () => {
    expect(translatedErrorBody(anthropic, openaiChat, 529, bytes(anthropic.errorReply(529, 'Overloaded')), false)).toMatchObject({ error: { type: 'server_error', message: 'Overloaded' } });
    expect(translatedErrorBody(openaiChat, anthropic, 502, Buffer.from('<html>bad gateway</html>'), false)).toEqual({ type: 'error', error: { type: 'api_error', message: 'upstream answered 502' } });
  });
});
