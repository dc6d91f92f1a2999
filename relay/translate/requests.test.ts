/** Request mapping both ways: what the upstream gets means what the client asked. */
import { describe, expect, it } from 'vitest';
import { anthropicToChatRequest } from './anthropic-to-chat-request.js';
import { chatToAnthropicRequest, DEFAULT_MAX_TOKENS } from './chat-to-anthropic-request.js';

const WEATHER_SCHEMA = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };

describe('Anthropic Messages request -> Chat Completions request', () => {
  it('maps system, max_tokens, stop_sequences, sampling and the user, under the upstream model name', () => {
    const out = anthropicToChatRequest(
      {
        model: 'claude-sonnet-4-5',
        system: [{ type: 'text', text: 'Be brief.' }, { type: 'text', text: 'Be kind.', cache_control: { type: 'ephemeral' } }],
        max_tokens: 200,
        stop_sequences: ['ZZ'],
        temperature: 0.3,
        top_k: 5,
        metadata: { user_id: 'u-1' },
        messages: [{ role: 'user', content: 'hi' }],
      },
      'gpt-4o-mini',
    );
    expect(out).toEqual({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'Be brief.\n\nBe kind.' },
        { role: 'user', content: 'hi' },
      ],
      max_tokens: 200,
      stop: ['ZZ'],
      temperature: 0.3,
      user: 'u-1',
    });
  });

  it('asks a stream for its usage chunk', () => {
    const out = anthropicToChatRequest({ model: 'm', max_tokens: 5, stream: true, messages: [{ role: 'user', content: 'hi' }] }, 'm');
    expect(out.stream).toBe(true);
    expect(out.stream_options).toEqual({ include_usage: true });
  });

  it('maps tools, tool_choice, an assistant tool_use and the user tool_result that answers it', () => {
    const out = anthropicToChatRequest(
      {
        model: 'm',
        max_tokens: 100,
        tools: [{ name: 'get_weather', description: 'The weather', input_schema: WEATHER_SCHEMA }, { type: 'web_search_20250305', name: 'web_search' }],
        tool_choice: { type: 'tool', name: 'get_weather', disable_parallel_tool_use: true },
        messages: [
          { role: 'user', content: 'Weather in Lisbon?' },
          { role: 'assistant', content: [{ type: 'text', text: 'Checking.' }, { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Lisbon' } }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: '21C' }] }, { type: 'text', text: 'And tomorrow?' }] },
        ],
      },
      'm',
    );
    expect(out.tools).toEqual([{ type: 'function', function: { name: 'get_weather', description: 'The weather', parameters: WEATHER_SCHEMA } }]);
    expect(out.tool_choice).toEqual({ type: 'function', function: { name: 'get_weather' } });
    expect(out.parallel_tool_calls).toBe(false);
    expect(out.messages).toEqual([
      { role: 'user', content: 'Weather in Lisbon?' },
      { role: 'assistant', content: 'Checking.', tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Lisbon"}' } }] },
      { role: 'tool', tool_call_id: 'toolu_1', content: '21C' },
      { role: 'user', content: 'And tomorrow?' },
    ]);
  });

  it('maps tool_choice any / auto / none', () => {
    const choice = (tool_choice: unknown) =>
      anthropicToChatRequest({ model: 'm', max_tokens: 1, tools: [{ name: 't', input_schema: { type: 'object' } }], tool_choice, messages: [] }, 'm').tool_choice;
    expect(choice({ type: 'any' })).toBe('required');
    expect(choice({ type: 'auto' })).toBe('auto');
    expect(choice({ type: 'none' })).toBe('none');
  });

  it('maps images (base64 as a data URL, or the URL)', () => {
    const out = anthropicToChatRequest(
      {
        model: 'm',
        max_tokens: 1,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is this?' },
              { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: 'AAAA' } },
              { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } },
            ],
          },
        ],
      },
      'm',
    );
    expect(out.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is this?' },
          { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,AAAA' } },
          { type: 'image_url', image_url: { url: 'https://example.com/a.png' } },
        ],
      },
    ]);
  });
});

describe('Chat Completions request -> Anthropic Messages request', () => {
  it('maps system and developer messages, max_completion_tokens, stop, temperature (capped at 1) and user', () => {
    const out = chatToAnthropicRequest(
      {
        model: 'claude-sonnet-4-5',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'developer', content: [{ type: 'text', text: 'Be kind.' }] },
          { role: 'user', content: 'hi' },
        ],
        max_completion_tokens: 300,
        max_tokens: 100,
        stop: 'ZZ',
        temperature: 1.5,
        user: 'u-1',
        n: 1,
      },
      'claude-opus-4-1',
    );
    expect(out).toEqual({
      model: 'claude-opus-4-1',
      system: 'Be brief.\n\nBe kind.',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
      max_tokens: 300,
      stop_sequences: ['ZZ'],
      temperature: 1,
      metadata: { user_id: 'u-1' },
    });
  });

  it('gives a request without max_tokens the default (Messages requires one)', () => {
    expect(chatToAnthropicRequest({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }, 'm').max_tokens).toBe(DEFAULT_MAX_TOKENS);
  });

  it('maps functions, tool_choice, tool_calls and tool messages (consecutive user turns merged)', () => {
    const out = chatToAnthropicRequest(
      {
        model: 'm',
        stream: true,
        tools: [{ type: 'function', function: { name: 'get_weather', description: 'The weather', parameters: WEATHER_SCHEMA } }],
        tool_choice: 'required',
        parallel_tool_calls: false,
        messages: [
          { role: 'user', content: 'Weather in Lisbon?' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Lisbon"}' } }] },
          { role: 'tool', tool_call_id: 'call_1', content: '21C' },
          { role: 'user', content: 'And tomorrow?' },
        ],
      },
      'm',
    );
    expect(out.stream).toBe(true);
    expect(out.tools).toEqual([{ name: 'get_weather', description: 'The weather', input_schema: WEATHER_SCHEMA }]);
    expect(out.tool_choice).toEqual({ type: 'any', disable_parallel_tool_use: true });
    expect(out.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Weather in Lisbon?' }] },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Lisbon' } }] },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_1', content: '21C' },
          { type: 'text', text: 'And tomorrow?' },
        ],
      },
    ]);
  });

  it('maps a named function choice and none', () => {
    const choice = (tool_choice: unknown) =>
      chatToAnthropicRequest({ model: 'm', tools: [{ type: 'function', function: { name: 't' } }], tool_choice, messages: [] }, 'm').tool_choice;
    expect(choice({ type: 'function', function: { name: 't' } })).toEqual({ type: 'tool', name: 't' });
    expect(choice('none')).toEqual({ type: 'none' });
    expect(choice('auto')).toEqual({ type: 'auto' });
  });

  it('maps image_url parts (a data URL as base64, else a URL source)', () => {
    const out = chatToAnthropicRequest(
      {
        model: 'm',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image_url', image_url: { url: 'data:image/png;base64,QUJD' } },
              { type: 'image_url', image_url: { url: 'https://example.com/a.png' } },
            ],
          },
        ],
      },
      'm',
    );
    expect(out.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'QUJD' } },
          { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } },
        ],
      },
    ]);
  });
});
