import { Writable } from 'node:stream';
import { faker } from '@faker-js/faker';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { RequestLogEntry } from '../state/types.js';
import { accessLine } from './access-line.js';

/** The line pino wrote for the same request before access-line.ts, at a fixed time. */
function pinoLine(e: RequestLogEntry, time: number): string {
  let out = '';
  const sink = { write: (s: string) => (out += s) };
  const log = pino({ level: 'info', base: { svc: 'relay' }, timestamp: () => `,"time":${time}` }, sink);
  log.info(
    {
      requestId: e.requestId,
      keyName: e.keyName,
      protocol: e.protocol,
      path: e.path,
      model: e.model,
      stream: e.stream,
      status: e.status,
      outcome: e.outcome,
      latencyMs: e.latencyMs,
      ttfbMs: e.ttfbMs,
      attempts: e.attempts.map((a) => `${a.endpoint}:${a.status ?? '-'}${a.errorClass ? `:${a.errorClass}` : ''}`),
    },
    'request',
  );
  return out;
}

const ENTRY: RequestLogEntry = {
  requestId: 'req_01',
  time: 1,
  keyName: 'dev',
  protocol: 'openai',
  path: '/v1/chat/completions',
  model: 'gpt-4o-mini',
  stream: true,
  status: 200,
  outcome: 'ok',
  latencyMs: 12.5,
  ttfbMs: 3,
  attempts: [{ endpoint: 'A', status: 429, errorClass: 'rate_limited' } as never, { endpoint: 'B', status: 200 } as never],
};

describe('accessLine', () => {
  it('writes the bytes pino wrote for the access log', () => {
    expect(accessLine(ENTRY, 1796665719685)).toBe(pinoLine(ENTRY, 1796665719685));
    expect(accessLine(ENTRY, 1)).toBe(
      '{"level":30,"time":1,"svc":"relay","requestId":"req_01","keyName":"dev","protocol":"openai","path":"/v1/chat/completions","model":"gpt-4o-mini","stream":true,"status":200,"outcome":"ok","latencyMs":12.5,"ttfbMs":3,"attempts":["A:429:rate_limited","B:200"],"msg":"request"}\n',
    );
  });

  it('leaves out what is undefined, as JSON does, and escapes what a client sent', () => {
    const refused: RequestLogEntry = { requestId: 'r"\\\n\u2028', time: 0, keyName: '', protocol: 'anthropic', path: '/v1/x?"a"', stream: false, status: 401, outcome: 'rejected', latencyMs: 0, attempts: [{ endpoint: 'Z' } as never] };
    expect(accessLine(refused, 5)).toBe(pinoLine(refused, 5));
    expect(JSON.parse(accessLine(refused, 5))).toMatchObject({ requestId: 'r"\\\n\u2028', path: '/v1/x?"a"', attempts: ['Z:-'] });
  });

  it('escapes a lone surrogate (pino wrote it raw, which a UTF-8 file turns into U+FFFD)', () => {
    const e: RequestLogEntry = { ...ENTRY, model: 'a\ud83d' };
    expect(accessLine(e, 1)).toContain('"model":"a\\ud83d"');
    expect(JSON.parse(Buffer.from(accessLine(e, 1)).toString('utf8')).model).toBe('a\ud83d');
  });

  it('matches pino for generated entries (any text, quotes, control and non-ASCII characters)', () => {
    faker.seed(20261207);
    const text = () => faker.helpers.arrayElement([faker.string.sample({ min: 0, max: 24 }), faker.string.alphanumeric(8), faker.lorem.word(), String.fromCharCode(faker.helpers.arrayElement([faker.number.int({ min: 0, max: 0xd7ff }), faker.number.int({ min: 0xe000, max: 0xffff })])), '\u{1F600}', '"\\\n\t']);
    const maybe = <T>(f: () => T) => (faker.datatype.boolean() ? f() : undefined);
    for (let i = 0; i < 500; i++) {
      const e: RequestLogEntry = {
        requestId: text(),
        time: 0,
        keyName: text(),
        protocol: text(),
        path: text(),
        model: maybe(text),
        stream: faker.datatype.boolean(),
        status: faker.number.int({ min: 0, max: 599 }),
        outcome: text(),
        latencyMs: faker.number.float({ min: 0, max: 1e6 }),
        ttfbMs: maybe(() => faker.number.float({ min: 0, max: 1e4, fractionDigits: 3 })),
        attempts: faker.helpers.multiple(() => ({ endpoint: text(), status: maybe(() => faker.number.int({ min: 100, max: 599 })), errorClass: maybe(text) }) as never, { count: { min: 0, max: 4 } }),
      };
      const time = faker.number.int({ min: 0, max: 2 ** 42 });
      expect(accessLine(e, time), JSON.stringify(e)).toBe(pinoLine(e, time));
    }
  });
});
