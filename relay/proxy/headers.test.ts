import { describe, expect, it } from 'vitest';
import { ENDPOINT_TYPES } from '../config/schema.js';
import { downstreamHeaders, forwardedHeaderNames, NEVER_FORWARDED, upstreamHeaders } from './headers.js';

const CLIENT = {
  host: 'relay:8080',
  connection: 'keep-alive',
  'transfer-encoding': 'chunked',
  'content-length': '999',
  'accept-encoding': 'gzip',
  authorization: 'Bearer rk-client',
  'x-api-key': 'rk-client',
  cookie: 'a=b',
  accept: 'text/event-stream',
  'user-agent': 'claude-cli/2.0 (external, cli)',
  'anthropic-beta': 'tools-2024',
  'anthropic-version': '2023-06-01',
  'x-claude-code-session-id': 'sess-1',
  'openai-beta': 'responses=experimental',
  'openai-organization': 'org-client',
  'openai-project': 'proj-client',
  session_id: 'sess-2',
  'x-custom': 'dropped unless named',
  'x-request-id': 'client-chosen',
};

describe('upstream headers', () => {
  it("pass only what the endpoint type's API understands; add the endpoint's auth and the request id", () => {
    const out = upstreamHeaders(CLIENT, { forward: forwardedHeaderNames('claude'), set: {}, auth: { 'x-api-key': 'sk-ant-endpoint' } }, 'req_1', 42);
    expect(out).toEqual({
      accept: 'text/event-stream',
      'user-agent': 'claude-cli/2.0 (external, cli)',
      'anthropic-beta': 'tools-2024',
      'anthropic-version': '2023-06-01',
      'x-claude-code-session-id': 'sess-1',
      'x-api-key': 'sk-ant-endpoint',
      'x-request-id': 'req_1',
      'content-length': '42',
      'content-type': 'application/json',
    });
  });

  it('OpenAI types: openai-beta and session headers pass, organization and project never come from the client', () => {
    const out = upstreamHeaders(CLIENT, { forward: forwardedHeaderNames('openai'), set: {}, auth: { authorization: 'Bearer sk-endpoint' } }, 'req_1', 1);
    expect(out['openai-beta']).toBe('responses=experimental');
    expect(out.session_id).toBe('sess-2');
    expect(out.authorization).toBe('Bearer sk-endpoint');
    expect(out['openai-organization']).toBeUndefined();
    expect(out['openai-project']).toBeUndefined();
    expect(out['anthropic-beta']).toBeUndefined();
    expect(out.cookie).toBeUndefined();
  });

  it("forward_headers add names (never credentials, organization or framing); set_headers win over the client's", () => {
    const forward = forwardedHeaderNames('openai', ['X-Custom', 'OpenAI-Organization', 'authorization', 'cookie']);
    expect([...forward]).toContain('x-custom');
    expect([...forward]).not.toContain('openai-organization');
    expect([...forward]).not.toContain('authorization');
    const out = upstreamHeaders(CLIENT, { forward, set: { 'openai-organization': 'org-endpoint', 'x-custom': 'fixed' }, auth: { authorization: 'Bearer sk-endpoint' } }, 'req_1', 1);
    expect(out['openai-organization']).toBe('org-endpoint');
    expect(out['x-custom']).toBe('fixed');
    expect(out.authorization).toBe('Bearer sk-endpoint');
  });

  it('every allowlist leaves out what the relay owns', () => {
    for (const type of ENDPOINT_TYPES) for (const name of forwardedHeaderNames(type)) expect(NEVER_FORWARDED.has(name)).toBe(false);
  });
});

describe('downstream headers', () => {
  it('keep retry hints and content type, drop framing, set our request id', () => {
    const out = downstreamHeaders(
      {
        'content-type': 'application/json',
        'retry-after': '3',
        'retry-after-ms': '3000',
        'x-should-retry': 'true',
        'content-length': '10',
        'transfer-encoding': 'chunked',
        connection: 'close',
        'x-request-id': 'upstream-id',
        'request-id': 'req_upstream',
      },
      'req_2',
    );
    expect(out).toEqual({
      'content-type': 'application/json',
      'retry-after': '3',
      'retry-after-ms': '3000',
      'x-should-retry': 'true',
      'request-id': 'req_upstream',
      'x-request-id': 'req_2',
    });
  });
});
