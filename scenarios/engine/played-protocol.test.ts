import { describe, expect, it } from 'vitest';
import { playedAs, skipDialectChecks } from './played-protocol.js';
import { requestSchema } from './schema.js';

const ccr = { inbound: new Set(['anthropic'] as const), translates: { anthropic: ['openai'] as const } };
const req = (r: Record<string, unknown>) => requestSchema.parse(r);

describe('a request in a protocol the target does not accept', () => {
  it('goes out in one the target translates to every upstream kind it would reach', () => {
    expect(playedAs(req({ protocol: 'openai-chat', stream: true }), ccr, ['openai', 'openai'])).toEqual({ written: 'openai-chat', sent: 'anthropic', kinds: ['openai'] });
  });

  it('goes as written when accepted, and not at all when no translation covers its upstreams or it is bound to its dialect', () => {
    expect(playedAs(req({ protocol: 'anthropic' }), ccr, ['claude'])).toBeUndefined();
    expect(playedAs(req({ protocol: 'openai-responses' }), ccr, ['openai-responses'])).toBeUndefined();
    expect(playedAs(req({ protocol: 'openai-chat' }), ccr, ['claude'])).toBeUndefined();
    expect(playedAs(req({ protocol: 'openai-chat', path: '/v1/models', method: 'GET' }), ccr, ['openai'])).toBeUndefined();
    expect(playedAs(req({ protocol: 'openai-chat', body: { stream_options: { include_usage: true } } }), ccr, ['openai'])).toBeUndefined();
  });

  it('skips only the checks written in the protocol of its own: body fields and error types', () => {
    const played = { written: 'openai-chat' as const, sent: 'anthropic' as const, kinds: ['openai' as const] };
    const checks = skipDialectChecks(
      [
        { name: 'status', pass: false, expected: '200', actual: { 500: 1 } },
        { name: 'body.object', pass: false, expected: 'chat.completion', actual: 'message' },
        { name: 'body has choices.0.message.content', pass: false, expected: 'present', actual: null },
        { name: 'error shape', pass: false, expected: 'error.type = rate_limit_error', actual: {} },
        { name: 'error shape', pass: false, expected: "the protocol's error shape", actual: {} },
      ],
      played,
    );
    expect(checks.map((c) => [c.name, c.skipped ?? false, c.pass])).toEqual([
      ['status', false, false],
      ['body.object', true, true],
      ['body has choices.0.message.content', true, true],
      ['error shape', true, true],
      ['error shape', false, false],
    ]);
    expect(checks[1].reason).toMatch(/sent as anthropic \(the target translates it to openai\)/);
  });
});
