/** Sticky sessions through the relay, against the mocks. */
import { afterEach, describe, expect, it } from 'vitest';
import { TestClock } from '../lib/clock.js';
import { admin, ask, claudeBody, requestLog, startStack, type TestStack } from './testing.js';

const TOKENS = ['sk-ant-api03-sticky-A-0000000001', 'sk-ant-api03-sticky-B-0000000002', 'sk-ant-api03-sticky-C-0000000003'];

let stack: TestStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

function equalPriorityStack(clock = new TestClock()) {
  return startStack(
    { upstreams: [{ name: 'claude', kind: 'claude', tokens: TOKENS, output: { tokens: 3 } }] },
    (m) => ({
      channels: [
        {
          name: 'main',
          // Equal priorities: without stickiness, requests would rotate over all three.
          endpoints: TOKENS.map((token, i) => ({ name: `E${i}`, type: 'claude' as const, base_url: m.get('claude').url, token })),
        },
      ],
    }),
    { clock },
  );
}

describe('sticky sessions', () => {
  it('keeps one session on one endpoint for 100 requests while others rotate', async () => {
    stack = await equalPriorityStack();
    const session = { 'x-claude-code-session-id': 'session-0001' };
    for (let i = 0; i < 100; i++) {
      const res = await ask(stack.relay, '/v1/messages', claudeBody(), session);
      expect(res.status).toBe(200);
    }
    const journal = await stack.mocks.control.journal();
    expect(journal).toHaveLength(100);
    expect(new Set(journal.map((e) => e.credential)).size).toBe(1);

    // Requests without a session key rotate over the endpoints.
    await stack.mocks.control.resetJournal();
    let last = await ask(stack.relay, '/v1/messages', claudeBody());
    for (let i = 0; i < 5; i++) last = await ask(stack.relay, '/v1/messages', claudeBody());
    expect(new Set((await stack.mocks.control.journal()).map((e) => e.credential)).size).toBe(3);

    const log = await requestLog(stack.relay, last, 107);
    const sticky = log.filter((e: { session?: { source: string } }) => e.session?.source === 'header:x-claude-code-session-id');
    expect(sticky[0].attempts[0].sticky).toBe('miss');
    expect(sticky.slice(1).every((e: { attempts: Array<{ sticky: string }> }) => e.attempts[0].sticky === 'hit')).toBe(true);
  });

  it('rebinds when the bound endpoint fails, then stays on the new one', async () => {
    stack = await equalPriorityStack();
    const session = { 'x-claude-code-session-id': 'session-rebind' };
    await ask(stack.relay, '/v1/messages', claudeBody(), session);
    const [first] = await stack.mocks.control.journal();
    const bound = first.credential!;
    await stack.mocks.control.addRule('claude', { match: { token: bound }, action: { status: 500 } });
    await stack.mocks.control.resetJournal();

    expect((await ask(stack.relay, '/v1/messages', claudeBody(), session)).status).toBe(200);
    const failover = await stack.mocks.control.journal();
    expect(failover.map((e) => e.credential)[0]).toBe(bound);
    const next = failover.at(-1)!.credential;
    expect(next).not.toBe(bound);

    // The bound endpoint is cooling now: the binding to it is replaced, then followed.
    await stack.mocks.control.clearRules();
    await stack.mocks.control.resetJournal();
    for (let i = 0; i < 5; i++) await ask(stack.relay, '/v1/messages', claudeBody(), session);
    expect((await stack.mocks.control.journal()).map((e) => e.credential)).toEqual(Array(5).fill(next));
  });

  it('a binding lives 15 days and is renewed by use', async () => {
    const clock = new TestClock();
    stack = await equalPriorityStack(clock);
    const session = { 'x-claude-code-session-id': 'session-ttl' };
    await ask(stack.relay, '/v1/messages', claudeBody(), session);
    const bound = (await stack.mocks.control.journal())[0].credential;
    // 14.5 days later: still bound (and renewed, less than 14 days were left).
    await clock.advance(14.5 * 86_400_000);
    await ask(stack.relay, '/v1/messages', claudeBody(), session);
    await clock.advance(14.5 * 86_400_000);
    const last = await ask(stack.relay, '/v1/messages', claudeBody(), session);
    expect((await stack.mocks.control.journal()).map((e) => e.credential)).toEqual([bound, bound, bound]);
    const log = await requestLog(stack.relay, last, 3);
    expect(log.map((e: { attempts: Array<{ sticky: string }> }) => e.attempts[0].sticky)).toEqual(['miss', 'hit', 'hit']);
  });
});
