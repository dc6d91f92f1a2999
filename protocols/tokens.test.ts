import { describe, expect, it } from 'vitest';
import { countTextTokens, estimateInputTokens, generatedOutputTokens } from './tokens.js';
import { TEXT, TOOL } from './test-fixtures.js';

describe('the token rule', () => {
  it('counts ceil(chars / 4)', () => {
    expect(countTextTokens('')).toBe(0);
    expect(countTextTokens('abc')).toBe(1);
    expect(countTextTokens('abcd')).toBe(1);
    expect(countTextTokens('abcde')).toBe(2);
  });

  it('sums all request text per protocol, minimum 1', () => {
    const tools = [{ name: 't', input_schema: {} }];
    expect(
      estimateInputTokens('anthropic', {
        system: [{ type: 'text', text: 'sys' }],
        messages: [
          { role: 'user', content: 'hello' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'x', name: 't', input: { a: 1 } }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'x', content: 'ok' }, { type: 'image', source: {} }] },
        ],
        tools,
      }),
    ).toBe(Math.ceil(('sys' + 'hello' + '{"a":1}' + 'ok' + JSON.stringify(tools)).length / 4));
    expect(
      estimateInputTokens('openai-chat', {
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'hi there' }, { type: 'image_url', image_url: { url: 'u' } }] },
          { role: 'assistant', content: null, tool_calls: [{ function: { name: 'f', arguments: '{"q":1}' } }] },
        ],
      }),
    ).toBe(Math.ceil(('hi there' + '{"q":1}').length / 4));
    expect(
      estimateInputTokens('openai-responses', {
        instructions: 'inst',
        input: [
          { role: 'user', content: 'question' },
          { type: 'function_call', arguments: '{}' },
          { type: 'function_call_output', output: 'result' },
        ],
      }),
    ).toBe(Math.ceil(('inst' + 'question' + '{}' + 'result').length / 4));
    expect(estimateInputTokens('custom-pass', { prompt: 'x' })).toBe(Math.ceil('{"prompt":"x"}'.length / 4));
    expect(estimateInputTokens('anthropic', {})).toBe(1);
    expect(estimateInputTokens('openai-chat', 'not a body')).toBe(1);
  });

  it('bills one output token per text token and per tool-argument chunk', () => {
    expect(generatedOutputTokens(TEXT)).toBe(TEXT.tokens.length);
    expect(generatedOutputTokens(TOOL)).toBe(TOOL.tokens.length + 3);
  });
});
