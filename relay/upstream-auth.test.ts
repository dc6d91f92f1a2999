/**
 * Upstream 401/403 are the relay's problem, never the client's, and no client can hurt a
 * credential: organization/project headers never come from a client, an upstream's 401/403 body
 * never reaches the client (it gets a 502 in its own protocol's shape), and only failures that
 * concern the credential itself count toward disabling it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { MockFleet } from '../mocks/index.js';
import type { RelayConfig } from './config/schema.js';
import { admin, ask, claudeBody, requestLog, startStack, type TestStack } from './testing.js';

const OPENAI_A = 'sk-proj-authtest-A-0000000001';
const OPENAI_B = 'sk-proj-authtest-B-0000000002';
const CLAUDE = 'sk-ant-api03-authtest-000000001';
const chat = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] };
const MISMATCH = { status: 401, code: 'mismatched_organization', error_type: 'invalid_request_error', message: 'OpenAI-Organization header should match organization for API key' };

let stack: TestStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function start(rules: { a?: unknown[]; b?: unknown[]; claude?: unknown[] }, layout: (m: MockFleet) => Partial<RelayConfig> = () => ({})): Promise<TestStack> {
  stack = await startStack(
    {
      upstreams: [
        { name: 'openai-a', kind: 'openai', tokens: [OPENAI_A], rules: rules.a as never },
        { name: 'openai-b', kind: 'openai', tokens: [OPENAI_B], rules: rules.b as never },
        { name: 'claude', kind: 'claude', tokens: [CLAUDE], rules: rules.claude as never },
      ],
    },
    (m) => ({
      // Every request here is the same conversation: without this, sticky routing would keep it on the endpoint that served it.
      sticky: { enabled: false },
      channels: [
        {
          name: 'main',
          endpoints: [
            { name: 'A', type: 'openai', base_url: m.get('openai-a').url, token: OPENAI_A, priority: 1 },
            { name: 'C', type: 'claude', base_url: m.get('claude').url, token: CLAUDE },
          ],
        },
      ],
      ...layout(m),
    }),
  );
  return stack;
}

async function endpointState(s: TestStack, name: string): Promise<{ authFailures: number; disabled: boolean; cooldowns: unknown[] }> {
  const st = await admin(s.relay, 'GET', '/admin/state');
  return (st.json as { endpoints: Array<{ name: string; authFailures: number; disabled: boolean; cooldowns: unknown[] }> }).endpoints.find((e) => e.name === name)!;
}

describe('a client cannot hurt a credential', () => {
  it('20 requests with openai-organization: the upstream never sees it, the token is never disabled', async () => {
    // The mock answers 401 mismatched_organization whenever the header reaches it.
    const s = await start({ a: [{ name: 'org-mismatch', match: { headers: { 'openai-organization': '*' } }, action: MISMATCH }] });
    for (let i = 0; i < 20; i++) {
      const r = await ask(s.relay, '/v1/chat/completions', chat, { 'openai-organization': 'org-x', 'openai-project': 'proj-x' });
      expect(r.status).toBe(200);
    }
    const journal = await s.mocks.control.journal();
    expect(journal).toHaveLength(20);
    for (const e of journal) {
      expect(e.headers['openai-organization']).toBeUndefined();
      expect(e.headers['openai-project']).toBeUndefined();
      expect(e.rule ?? null).toBeNull();
    }
    expect(await endpointState(s, 'A')).toMatchObject({ authFailures: 0, disabled: false, cooldowns: [] });
  });

  it('an organization mismatch from the endpoint config is classed apart and never disables the token', async () => {
    const s = await start({ a: [{ match: { headers: { 'openai-organization': 'org-wrong' } }, action: MISMATCH }] }, (m) => ({
      channels: [
        {
          name: 'main',
          endpoints: [
            { name: 'A', type: 'openai', base_url: m.get('openai-a').url, token: OPENAI_A, priority: 1, set_headers: { 'OpenAI-Organization': 'org-wrong' } },
            { name: 'B', type: 'openai', base_url: m.get('openai-b').url, token: OPENAI_B, priority: 2 },
          ],
        },
      ],
      // Without the cooldown every request would try A first: the test wants the count after many.
      cooldowns: { server_error: 0 },
    }));
    for (let i = 0; i < 6; i++) {
      const r = await ask(s.relay, '/v1/chat/completions', chat);
      expect(r.status).toBe(200);
    }
    const [entry] = await requestLog(s.relay, (await s.mocks.control.journal()).at(-1)!.headers['x-request-id'] as string);
    expect(entry.attempts.map((a: { endpoint: string; errorClass?: string }) => `${a.endpoint}:${a.errorClass ?? 'ok'}`)).toEqual(['A:auth_scope', 'B:ok']);
    expect(await endpointState(s, 'A')).toMatchObject({ authFailures: 0, disabled: false });
    const toA = (await s.mocks.control.journal()).filter((e) => e.upstream === 'openai-a');
    expect(toA.every((e) => e.headers['openai-organization'] === 'org-wrong')).toBe(true);
  });

  it('a 403 for one model is classed apart and never disables the token', async () => {
    const s = await start(
      { a: [{ match: { model: 'gpt-4o' }, action: { status: 403, code: 'model_not_found', message: 'Project `proj_x` does not have access to model `gpt-4o`' } }] },
      (m) => ({
        channels: [
          {
            name: 'main',
            endpoints: [
              { name: 'A', type: 'openai', base_url: m.get('openai-a').url, token: OPENAI_A, priority: 1 },
              { name: 'B', type: 'openai', base_url: m.get('openai-b').url, token: OPENAI_B, priority: 2 },
            ],
          },
        ],
      }),
    );
    for (let i = 0; i < 5; i++) expect((await ask(s.relay, '/v1/chat/completions', chat)).status).toBe(200);
    expect(await endpointState(s, 'A')).toMatchObject({ authFailures: 0, disabled: false, cooldowns: [] });
    // Other models still go to A.
    await s.mocks.control.resetJournal();
    expect((await ask(s.relay, '/v1/chat/completions', { ...chat, model: 'gpt-4o-mini' })).status).toBe(200);
    expect((await s.mocks.control.journal()).map((e) => e.upstream)).toEqual(['openai-a']);
  });
});

describe("an upstream's 401/403 never reaches the client", () => {
  it("answers 502 in the client's protocol, naming nothing of the upstream, and still counts a real credential failure", async () => {
    const secret = 'Incorrect API key provided: sk-proj-***0001. upstream-internal-detail';
    const s = await start({
      a: [{ match: {}, action: { status: 401, code: 'invalid_api_key', message: secret } }],
      claude: [{ match: {}, action: { status: 401, message: `invalid x-api-key ${secret}` } }],
    });
    const o = await ask(s.relay, '/v1/chat/completions', chat);
    expect(o.status).toBe(502);
    expect((o.json as { error: { message: string } }).error.message).toBeTruthy();
    expect(o.text).not.toContain('upstream-internal-detail');
    expect(o.text).not.toContain('invalid_api_key');
    expect(o.text).not.toMatch(/401/);

    const c = await ask(s.relay, '/v1/messages', claudeBody());
    expect(c.status).toBe(502);
    expect(c.json).toMatchObject({ type: 'error', error: { type: 'api_error' } });
    expect(c.text).not.toContain('upstream-internal-detail');
    expect(c.text).not.toContain('authentication_error');

    // The credential itself was refused: that does count toward disabling it.
    expect((await endpointState(s, 'A')).authFailures).toBe(1);
  });
});
