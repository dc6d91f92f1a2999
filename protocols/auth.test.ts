import { describe, expect, it } from 'vitest';
import { readClientCredential, upstreamAuthHeaders } from './auth.js';

describe('upstreamAuthHeaders', () => {
  it('uses each kind’s header form', () => {
    expect(upstreamAuthHeaders('claude', 'sk-ant-api03-x')).toEqual({ 'x-api-key': 'sk-ant-api03-x' });
    expect(upstreamAuthHeaders('claude', 'sk-ant-oat01-y')).toEqual({ authorization: 'Bearer sk-ant-oat01-y' });
    expect(upstreamAuthHeaders('claude', 'tok', { oauth: true })).toEqual({ authorization: 'Bearer tok' });
    expect(upstreamAuthHeaders('openai', 'sk-1')).toEqual({ authorization: 'Bearer sk-1' });
    expect(upstreamAuthHeaders('openai-responses', 'sk-2')).toEqual({ authorization: 'Bearer sk-2' });
    expect(upstreamAuthHeaders('custom-pass', 'cp')).toEqual({ authorization: 'Bearer cp' });
    expect(upstreamAuthHeaders('chatgpt-oauth', 'jwt', { accountId: 'acc-1' })).toEqual({ authorization: 'Bearer jwt', 'chatgpt-account-id': 'acc-1' });
  });
});

describe('readClientCredential', () => {
  it('reads Bearer first, then x-api-key', () => {
    expect(readClientCredential({ authorization: 'Bearer rk-1', 'x-api-key': 'k' })).toBe('rk-1');
    expect(readClientCredential({ authorization: 'bearer  rk-2 ' })).toBe('rk-2');
    expect(readClientCredential({ 'x-api-key': 'rk-3' })).toBe('rk-3');
    expect(readClientCredential({ Authorization: 'Bearer rk-4' })).toBe('rk-4');
    expect(readClientCredential({ authorization: 'Basic abc' })).toBeUndefined();
    expect(readClientCredential({ authorization: 'Bearer ' })).toBeUndefined();
    expect(readClientCredential({})).toBeUndefined();
  });
});
