/**
 * A bug or a failing dependency inside the relay (here: billing's reservation throws) costs the
 * client one 500 in its own protocol's error shape, with the request id, and the relay keeps serving.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Billing } from './billing/types.js';
import { ask, CLIENT_KEY, startStack, type TestStack } from './testing.js';

const CLAUDE_TOKEN = 'sk-ant-api03-internal-000000001';
const OPENAI_TOKEN = 'sk-proj-internal-000000001';
let stack: TestStack;
let failing = true;

const billing: Billing = {
  async precharge() {
    if (failing) throw new Error('ledger exploded');
    return { ok: true };
  },
  async settle() {},
};

beforeAll(async () => {
  stack = await startStack(
    {
      upstreams: [
        { name: 'claude', kind: 'claude', tokens: [CLAUDE_TOKEN] },
        { name: 'openai', kind: 'openai', tokens: [OPENAI_TOKEN] },
      ],
    },
    (m) => ({
      channels: [
        {
          name: 'main',
          endpoints: [
            { name: 'C', type: 'claude', base_url: m.get('claude').url, token: CLAUDE_TOKEN },
            { name: 'O', type: 'openai', base_url: m.get('openai').url, token: OPENAI_TOKEN },
          ],
        },
      ],
      keys: [{ key: CLIENT_KEY, name: 'tester' }],
    }),
    { billing },
  );
});
afterAll(() => stack.close());

describe('internal errors', () => {
  it('answer 500 in the inbound protocol\'s shape, naming no internals, then the relay serves again', async () => {
    const a = await ask(stack.relay, '/v1/messages', { model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    expect(a.status).toBe(500);
    expect(a.json as any).toMatchObject({ type: 'error', error: { type: 'api_error', message: 'internal relay error' } });
    expect(a.headers['x-request-id']).toMatch(/^req_/);

    const chat = await ask(stack.relay, '/v1/chat/completions', { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    expect(chat.status).toBe(500);
    expect((chat.json as any).type).toBeUndefined();
    expect((chat.json as any).error).toMatchObject({ message: 'internal relay error' });
    expect(JSON.stringify(chat.json)).not.toContain('exploded');

    const responses = await ask(stack.relay, '/v1/responses', { model: 'gpt-4o', input: 'hi' });
    expect(responses.status).toBe(500);
    expect((responses.json as any).error).toMatchObject({ message: 'internal relay error' });

    failing = false;
    const ok = await ask(stack.relay, '/v1/chat/completions', { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    expect(ok.status).toBe(200);
  });
});
