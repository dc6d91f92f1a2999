import { describe, expect, it } from 'vitest';
import { classify, parseModel } from './classify.js';

describe('classify', () => {
  it('chooses the protocol by method and path only', () => {
    expect(classify('POST', '/v1/messages')?.protocol).toBe('anthropic');
    expect(classify('POST', '/v1/messages/count_tokens')?.kind).toBe('count_tokens');
    expect(classify('POST', '/v1/chat/completions')?.protocol).toBe('openai-chat');
    expect(classify('POST', '/v1/responses')?.protocol).toBe('openai-responses');
    expect(classify('POST', '/responses')?.protocol).toBe('openai-responses');
    expect(classify('POST', '/v1/messages/')?.protocol).toBe('anthropic');
    expect(classify('GET', '/v1/models')?.kind).toBe('models');
    expect(classify('HEAD', '/')?.kind).toBe('probe');
    expect(classify('GET', '/v1/messages')).toBeUndefined();
    expect(classify('POST', '/v2/other')).toBeUndefined();
  });

  it('serves Responses from openai, openai-responses and chatgpt-oauth endpoints, on their own paths', () => {
    const r = classify('POST', '/responses')!;
    expect([...r.types].sort()).toEqual(['chatgpt-oauth', 'openai', 'openai-responses']);
    expect(r.upstreamPath('openai')).toBe('/v1/responses');
    expect(r.upstreamPath('chatgpt-oauth')).toBe('/responses');
  });
});

describe('parseModel', () => {
  it('a known endpoint type before a comma forces that type', () => {
    expect(parseModel('openai,gpt-4o')).toEqual({ model: 'gpt-4o', forcedType: 'openai' });
    expect(parseModel('chatgpt-oauth, gpt-5-codex')).toEqual({ model: 'gpt-5-codex', forcedType: 'chatgpt-oauth' });
    expect(parseModel('vendor,model')).toEqual({ model: 'vendor,model' });
    expect(parseModel('claude-sonnet-4-5')).toEqual({ model: 'claude-sonnet-4-5' });
    expect(parseModel(undefined)).toEqual({ model: undefined });
  });
});
