import { describe, expect, it } from 'vitest';
import { downstreamHeaders, upstreamHeaders } from './headers.js';

describe('upstream headers', () => {
  it('drop hop-by-hop, host, length, encoding and every client credential; add the endpoint auth and request id', () => {
    const out = upstreamHeaders(
      {
        host: 'relay:8080',
        connection: 'keep-alive',
        'transfer-encoding': 'chunked',
        'content-length': '999',
        'accept-encoding': 'gzip',
        authorization: 'Bearer rk-client',
        'x-api-key': 'rk-client',
        cookie: 'a=b',
        'anthropic-beta': 'tools-2024',
        'anthropic-version': '2023-06-01',
        'x-custom': 'kept',
        'x-request-id': 'client-chosen',
      },
      { 'x-api-key': 'sk-ant-endpoint' },
      'req_1',
      42,
    );
    expect(out).toEqual({
      'anthropic-beta': 'tools-2024',
      'anthropic-version': '2023-06-01',
      'x-custom': 'kept',
      'x-api-key': 'sk-ant-endpoint',
      'x-request-id': 'req_1',
      'content-length': '42',
      'content-type': 'application/json',
    });
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
