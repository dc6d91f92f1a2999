/**
 * Routing and failover against the real mocks: the journal is the proof of which endpoint (and
 * which token) each attempt used.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestClock } from '../lib/clock.js';
import type { MockFleet } from '../mocks/index.js';
import { admin, ask, claudeBody, requestLog, sseEvents, startStack, type TestStack } from './testing.js';
import { HOLD_EVENTS } from './proxy/upstream-attempt.js';

const TOKEN_A = 'sk-ant-api03-token-A-000000000001';
const TOKEN_B = 'sk-ant-api03-token-B-000000000002';

let stack: TestStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

/** One claude mock accepting both tokens; two endpoints on it, Token-A and Token-B. */
function twoTokens(extra: { strategy?: 'priority' | 'fastest'; a?: object; b?: object } = {}, clock = new TestClock()) {
  return startStack(
    { upstreams: [{ name: 'claude', kind: 'claude', tokens: [TOKEN_A, TOKEN_B], output: { tokens: 8 } }] },
    (m: MockFleet) => ({
      strategy: extra.strategy ?? 'priority',
      channels: [
        {
          name: 'main',
          endpoints: [
            { name: 'A', type: 'claude', base_url: m.get('claude').url, token: TOKEN_A, priority: 1, ...extra.a },
            { name: 'B', type: 'claude', base_url: m.get('claude').url, token: TOKEN_B, priority: 2, ...extra.b },
          ],
        },
      ],
    }),
    { clock },
  );
}

const credentials = async (s: TestStack) => (await s.mocks.control.journal()).map((e) => e.credential);

describe('Token-A / Token-B in one channel', () => {
  it('priority: A first, B after A fails; the journal shows the token changed with the endpoint', async () => {
    stack = await twoTokens();
    await stack.mocks.control.addRule('claude', { match: { token: TOKEN_A }, action: { status: 500 } });
    const res = await ask(stack.relay, '/v1/messages', claudeBody());
    expect(res.status).toBe(200);
    expect(res.json.type).toBe('message');
    const journal = await stack.mocks.control.journal();
    // A's first 500 is retried once on A (an isolated failure), then the request moves to B.
    expect(journal.map((e) => e.credential)).toEqual([TOKEN_A, TOKEN_A, TOKEN_B]);
    expect(journal.map((e) => e.headers['x-api-key'])).toEqual([TOKEN_A, TOKEN_A, TOKEN_B]);
    // The client's key never reaches an upstream.
    for (const e of journal) expect(JSON.stringify(e.headers)).not.toContain('rk-test-client-key');
    const log = (await requestLog(stack.relay, res));
    expect(log[0].attempts.map((a: { endpoint: string; status: number }) => [a.endpoint, a.status])).toEqual([['A', 500], ['A', 500], ['B', 200]]);
    expect(log[0].attempts[0].token).not.toContain('000000000001');
  });

  it('fastest: the endpoint with the lower probe latency goes first, and failover still moves to the other', async () => {
    stack = await startStack(
      {
        upstreams: [
          { name: 'slow', kind: 'claude', tokens: [TOKEN_A], latency: '80ms' },
          { name: 'fast', kind: 'claude', tokens: [TOKEN_B] },
        ],
      },
      (m) => ({
        strategy: 'fastest',
        channels: [
          {
            name: 'main',
            endpoints: [
              { name: 'A', type: 'claude', base_url: m.get('slow').url, token: TOKEN_A, priority: 1 },
              { name: 'B', type: 'claude', base_url: m.get('fast').url, token: TOKEN_B, priority: 2 },
            ],
          },
        ],
      }),
    );
    const round = await admin(stack.relay, 'POST', '/admin/health/run');
    expect(round.status).toBe(200);
    await stack.mocks.control.resetJournal();
    expect((await ask(stack.relay, '/v1/messages', claudeBody())).status).toBe(200);
    expect(await credentials(stack)).toEqual([TOKEN_B]);
    await stack.mocks.control.resetJournal();
    await stack.mocks.control.addRule('fast', { action: { status: 503 } });
    expect((await ask(stack.relay, '/v1/messages', claudeBody())).status).toBe(200);
    expect(await credentials(stack)).toEqual([TOKEN_B, TOKEN_B, TOKEN_A]);
  });

  it('a token changed through the admin API is used on the very next call', async () => {
    stack = await twoTokens();
    const NEW = 'sk-ant-api03-token-A-rotated-0003';
    await stack.mocks.control.setTokens('claude', [TOKEN_A, TOKEN_B, NEW]);
    const patched = await admin(stack.relay, 'PATCH', '/admin/endpoints/A', { token: NEW });
    expect(patched.status).toBe(200);
    await ask(stack.relay, '/v1/messages', claudeBody());
    expect(await credentials(stack)).toEqual([NEW]);
    const cfg = (await admin(stack.relay, 'GET', '/admin/config')).json;
    expect(JSON.stringify(cfg)).not.toContain(NEW);
  });

  it('failover_enabled false: never a failover target', async () => {
    stack = await twoTokens({ b: { failover_enabled: false } });
    await stack.mocks.control.addRule('claude', { match: { token: TOKEN_A }, action: { status: 500 } });
    const res = await ask(stack.relay, '/v1/messages', claudeBody());
    expect(res.status).toBe(500);
    expect(res.json.type).toBe('error');
    expect(await credentials(stack)).toEqual([TOKEN_A, TOKEN_A]);
  });

  it('cooldowns filter candidates until they expire (429 retry-after as the endpoint cooldown)', async () => {
    const clock = new TestClock();
    stack = await twoTokens({}, clock);
    await stack.mocks.control.addRule('claude', { match: { token: TOKEN_A }, times: 1, action: { status: 429, retry_after: 20 } });
    expect((await ask(stack.relay, '/v1/messages', claudeBody())).status).toBe(200);
    expect((await ask(stack.relay, '/v1/messages', claudeBody())).status).toBe(200);
    expect(await credentials(stack)).toEqual([TOKEN_A, TOKEN_B, TOKEN_B]);
    const state = (await admin(stack.relay, 'GET', '/admin/state')).json;
    expect(state.endpoints.find((e: { name: string }) => e.name === 'A').cooldown).toMatchObject({ scope: 'endpoint', remainingMs: 20_000 });
    expect((await admin(stack.relay, 'POST', '/admin/clock/advance', { ms: 20_001 })).status).toBe(200);
    await ask(stack.relay, '/v1/messages', claudeBody());
    expect((await credentials(stack)).at(-1)).toBe(TOKEN_A);
  });

  it('401 is not retried on the same endpoint; the next endpoint answers', async () => {
    stack = await twoTokens();
    await stack.mocks.control.setTokens('claude', [TOKEN_B]);
    const res = await ask(stack.relay, '/v1/messages', claudeBody());
    expect(res.status).toBe(200);
    expect(await credentials(stack)).toEqual([TOKEN_A, TOKEN_B]);
  });

  it('400 comes back unchanged and nothing else is tried', async () => {
    stack = await twoTokens();
    await stack.mocks.control.addRule('claude', { action: { status: 400, message: 'bad thing' } });
    const res = await ask(stack.relay, '/v1/messages', claudeBody());
    expect(res.status).toBe(400);
    expect(res.json.error.message).toBe('bad thing');
    expect(await credentials(stack)).toEqual([TOKEN_A]);
  });

  it('a 429 stays a 429 even when a later candidate only fails to connect', async () => {
    stack = await twoTokens({ b: { base_url: 'http://127.0.0.1:1' } });
    await stack.mocks.control.addRule('claude', { action: { status: 429, retry_after: 2 } });
    const res = await ask(stack.relay, '/v1/messages', claudeBody());
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('2');
    const log = (await requestLog(stack.relay, res))[0];
    expect(log.attempts.map((a: { errorClass: string }) => a.errorClass)).toEqual(['rate_limited', 'connect_error']);
    // Both endpoints cooling now (A rate limited, B unreachable): a 503 that says when to come back.
    const again = await ask(stack.relay, '/v1/messages', claudeBody());
    expect(again.status).toBe(503);
    expect(Number(again.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('a 429 on the last candidate stays a 429 with its retry headers', async () => {
    stack = await twoTokens();
    await stack.mocks.control.addRule('claude', { action: { status: 429, retry_after: 3 } });
    const res = await ask(stack.relay, '/v1/messages', claudeBody());
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('3');
    expect(res.json.error.type).toBe('rate_limit_error');
  });
});

describe('breakers and disabled credentials', () => {
  it('a breaker opens after N failures, filters the endpoint, admits one half-open probe and closes', async () => {
    const clock = new TestClock();
    stack = await startStack(
      { upstreams: [{ name: 'claude', kind: 'claude', tokens: [TOKEN_A, TOKEN_B] }] },
      (m) => ({
        breaker: { failures: 2, successes: 1, open_for: '10s' },
        cooldowns: { server_error: 0 },
        // One failure per request, so two requests open the breaker.
        retry: { same_endpoint_retries: 0 },
        channels: [
          {
            name: 'main',
            endpoints: [
              { name: 'A', type: 'claude', base_url: m.get('claude').url, token: TOKEN_A, priority: 1 },
              { name: 'B', type: 'claude', base_url: m.get('claude').url, token: TOKEN_B, priority: 2 },
            ],
          },
        ],
      }),
      { clock },
    );
    await stack.mocks.control.addRule('claude', { match: { token: TOKEN_A }, times: 2, action: { status: 500 } });
    await ask(stack.relay, '/v1/messages', claudeBody());
    await ask(stack.relay, '/v1/messages', claudeBody());
    const state = (await admin(stack.relay, 'GET', '/admin/state')).json;
    expect(state.endpoints.find((e: { name: string }) => e.name === 'A').breaker).toBe('open');
    await ask(stack.relay, '/v1/messages', claudeBody());
    expect(await credentials(stack)).toEqual([TOKEN_A, TOKEN_B, TOKEN_A, TOKEN_B, TOKEN_B]);
    await clock.advance(10_000);
    await ask(stack.relay, '/v1/messages', claudeBody());
    expect((await credentials(stack)).at(-1)).toBe(TOKEN_A);
    const after = (await admin(stack.relay, 'GET', '/admin/state')).json;
    expect(after.endpoints.find((e: { name: string }) => e.name === 'A').breaker).toBe('closed');
  });

  it('401s in a row disable the credential; a new token through the admin API brings the endpoint back', async () => {
    stack = await twoTokens();
    await stack.mocks.control.setTokens('claude', [TOKEN_B]);
    for (let i = 0; i < 3; i++) expect((await ask(stack.relay, '/v1/messages', claudeBody())).status).toBe(200);
    await ask(stack.relay, '/v1/messages', claudeBody());
    expect(await credentials(stack)).toEqual([TOKEN_A, TOKEN_B, TOKEN_A, TOKEN_B, TOKEN_A, TOKEN_B, TOKEN_B]);
    const state = (await admin(stack.relay, 'GET', '/admin/state')).json;
    expect(state.endpoints.find((e: { name: string }) => e.name === 'A')).toMatchObject({ disabled: true, cooldown: { scope: 'token' } });
    const NEW = 'sk-ant-api03-token-A-fixed-00000004';
    await stack.mocks.control.setTokens('claude', [TOKEN_B, NEW]);
    await admin(stack.relay, 'PATCH', '/admin/endpoints/A', { token: NEW });
    await ask(stack.relay, '/v1/messages', claudeBody());
    expect((await credentials(stack)).at(-1)).toBe(NEW);
  });
});

describe('streams and the commit point', () => {
  it('a stream cut mid-way is never retried and ends with the protocol error event', async () => {
    stack = await twoTokens();
    await stack.mocks.control.addRule('claude', { match: { token: TOKEN_A }, action: { cut: { after: 'mid_content', mode: 'fin' } } });
    const res = await ask(stack.relay, '/v1/messages', claudeBody({ stream: true }));
    expect(res.status).toBe(200);
    const events = sseEvents(res.text);
    expect(events[0].event).toBe('message_start');
    expect(events.at(-1)?.event).toBe('error');
    expect(events.some((e) => e.event === 'message_stop')).toBe(false);
    expect(await credentials(stack)).toEqual([TOKEN_A]);
    const log = (await requestLog(stack.relay, res))[0];
    expect(log.outcome).toBe('stream_cut');
  });

  it('an upstream 200 whose stream dies before its first event fails over invisibly', async () => {
    stack = await twoTokens();
    await stack.mocks.control.addRule('claude', { match: { token: TOKEN_A }, action: { empty: true } });
    const res = await ask(stack.relay, '/v1/messages', claudeBody({ stream: true }));
    expect(res.status).toBe(200);
    const events = sseEvents(res.text);
    expect(events.at(-1)?.event).toBe('message_stop');
    expect(await credentials(stack)).toEqual([TOKEN_A, TOKEN_B]);
  });

  it('a stream that dies (fin or rst) before its first event is recorded as such, not as a connect error, and fails over', async () => {
    for (const mode of ['fin', 'rst'] as const) {
      stack = await twoTokens();
      await stack.mocks.control.addRule('claude', { match: { token: TOKEN_A }, action: { cut: { after: 0, mode } } });
      const res = await ask(stack.relay, '/v1/messages', claudeBody({ stream: true }));
      expect(res.status).toBe(200);
      expect(sseEvents(res.text).at(-1)?.event).toBe('message_stop');
      const log = (await requestLog(stack.relay, res))[0];
      expect(log.attempts.map((a: { errorClass?: string }) => a.errorClass), mode).toEqual(['stream_cut_before_first_event', undefined]);
      await stack.close();
      stack = undefined;
    }
  });

    it('an in-stream error event before anything reached the client is retried elsewhere', async () => {
    stack = await twoTokens();
    await stack.mocks.control.addRule('claude', { match: { token: TOKEN_A }, action: { stream_error: { kind: 'overloaded', after: 0 } } });
    const res = await ask(stack.relay, '/v1/messages', claudeBody({ stream: true }));
    const events = sseEvents(res.text);
    expect(events.some((e) => e.event === 'error')).toBe(false);
    expect(events.at(-1)?.event).toBe('message_stop');
    expect(await credentials(stack)).toEqual([TOKEN_A, TOKEN_B]);
    const log = (await requestLog(stack.relay, res))[0];
    expect(log.attempts[0].errorClass).toBe('stream_overloaded');
  });

  it('start events and pings are held only up to HOLD_EVENTS: an error after that many is past the commit point', async () => {
    // message_start, content_block_start and ping, then `count` more pings, then overloaded_error (one write).
    const run = async (count: number) => {
      stack = await twoTokens();
      await stack.mocks.control.addRule('claude', {
        match: { token: TOKEN_A },
        action: { duplicate: { after: 3, count }, stream_error: { kind: 'overloaded', after: 3 } },
      });
      const res = await ask(stack.relay, '/v1/messages', claudeBody({ stream: true }));
      const out = { events: sseEvents(res.text), tokens: await credentials(stack) };
      await stack.close();
      stack = undefined;
      return out;
    };
    const under = await run(HOLD_EVENTS - 10);
    expect(under.tokens).toEqual([TOKEN_A, TOKEN_B]);
    expect(under.events.at(-1)?.event).toBe('message_stop');
    expect(under.events.filter((e) => e.event === 'ping').length).toBe(1);

    const over = await run(HOLD_EVENTS + 10);
    expect(over.tokens).toEqual([TOKEN_A]);
    expect(over.events.filter((e) => e.event === 'ping').length).toBe(HOLD_EVENTS + 11);
    expect(over.events.at(-1)?.event).toBe('error');
  });

  it('count_tokens passes through to the Claude endpoint', async () => {
    stack = await twoTokens();
    const res = await ask(stack.relay, '/v1/messages/count_tokens', { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'count me please' }] });
    expect(res.status).toBe(200);
    expect(res.json.input_tokens).toBeGreaterThan(0);
    const [entry] = await stack.mocks.control.journal();
    expect(entry.path).toBe('/v1/messages/count_tokens');
  });

  it('passes a complete stream through with usage read and the query string kept', async () => {
    stack = await twoTokens();
    const res = await ask(stack.relay, '/v1/messages?beta=true', claudeBody({ stream: true }), { 'anthropic-beta': 'x-feature-1' });
    expect(res.status).toBe(200);
    const [entry] = await stack.mocks.control.journal();
    expect(entry.query).toEqual({ beta: 'true' });
    expect(entry.headers['anthropic-beta']).toBe('x-feature-1');
    expect(entry.headers['x-request-id']).toBe(res.headers['x-request-id']);
    const log = (await requestLog(stack.relay, res))[0];
    expect(log.usage).toMatchObject({ outputTokens: 8 });
    expect(log.usage.estimated).toBeUndefined();
    expect(log.ttfbMs).toBeGreaterThanOrEqual(0);
  });
});
