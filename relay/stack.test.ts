/**
 * The `pnpm stack` layout over the example mocks: every kind answers through the relay, the
 * chatgpt-oauth endpoint refreshes its token after a 401, and admin changes (pause/resume,
 * tokens) survive a restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMocks, type MockFleet } from '../mocks/index.js';
import { startRelay, type RunningRelay } from './server.js';
import { STACK_MOCKS, agentBanner, agentCommands, stackLayout } from './stack.js';
import { admin, call, requestLog } from './testing.js';

const KEY = 'rk-stack-test-key-000001';
let fleet: MockFleet;
let relay: RunningRelay;
let dataDir: string;

beforeAll(async () => {
  fleet = await startMocks(STACK_MOCKS);
  // The example's fault rules (every 10th overloaded, 10% incomplete) are for demos, not for asserting.
  await fleet.control.clearRules();
  dataDir = mkdtempSync(join(tmpdir(), 'relay-stack-'));
  relay = await startRelay({ config: await stackLayout(fleet, KEY), dataDir, healthChecks: false });
});
afterAll(async () => {
  await relay.close();
  await fleet.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const bearer = { authorization: `Bearer ${KEY}` };

describe('pnpm stack layout', () => {
  it('serves Claude, chat completions, Responses and the Codex backend', async () => {
    const claude = await call(relay.url, 'POST', '/v1/messages', { model: 'claude-sonnet-4-5', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] }, { 'x-api-key': KEY });
    expect(claude.status).toBe(200);
    const chat = await call(relay.url, 'POST', '/v1/chat/completions', { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }, bearer);
    expect(chat.status).toBe(200);
    const responses = await call(relay.url, 'POST', '/v1/responses', { model: 'gpt-4o', input: 'hi' }, bearer);
    expect(responses.status).toBe(200);
    const codex = await call(relay.url, 'POST', '/responses', { model: 'chatgpt-oauth,gpt-5-codex', input: 'hi', stream: true }, bearer);
    expect(codex.status).toBe(200);
    expect(codex.text).toContain('response.completed');
    const entry = (await fleet.control.journal({ upstream: 'codex-a' })).at(-1)!;
    expect(entry.path).toBe('/backend-api/codex/responses');
    expect(entry.headers['chatgpt-account-id']).toBe('acc-1');
    expect(String(entry.headers.authorization)).toMatch(/^Bearer ey/);
  });

  it('hands /pass/* to the custom-pass channel', async () => {
    const res = await call(relay.url, 'POST', '/pass/video-gen-1', { prompt: 'a cat' }, bearer);
    expect(res.status).toBe(200);
    const entry = (await fleet.control.journal({ upstream: 'pass-a' })).at(-1)!;
    expect(entry.credential).toBe('cp-mock-token-0001');
  });

  it('chatgpt-oauth: a 401 triggers one refresh at /oauth/token and a retry with the new token', async () => {
    const before = (await admin(relay, 'GET', '/admin/config')).json.version;
    await fleet.control.addRule('codex-a', { match: { path: '/backend-api/codex/responses' }, times: 1, action: { status: 401 } });
    await fleet.control.resetJournal();
    const res = await call(relay.url, 'POST', '/responses', { model: 'chatgpt-oauth,gpt-5-codex', input: 'again' }, bearer);
    expect(res.status).toBe(200);
    const journal = await fleet.control.journal({ upstream: 'codex-a' });
    expect(journal.map((e) => e.path)).toEqual(['/backend-api/codex/responses', '/oauth/token', '/backend-api/codex/responses']);
    expect(journal[2].credential).not.toBe(journal[0].credential);
    // The refreshed token is credential state, not a layout edit: the layout's version does not move.
    expect((await admin(relay, 'GET', '/admin/config')).json.version).toBe(before);
    // Both tries are attempts of the loop: in the trail, the refused one not held against the credential.
    const [entry] = await requestLog(relay, res);
    expect(entry.attempts.map((a: { endpoint: string; status?: number; errorClass?: string }) => `${a.endpoint}:${a.status}:${a.errorClass ?? ''}`)).toEqual([
      'codex-a:401:auth_refreshed',
      'codex-a:200:',
    ]);
    const state = (await admin(relay, 'GET', '/admin/state')).json.endpoints.find((e: { name: string }) => e.name === 'codex-a');
    expect(state.authFailures).toBe(0);
  });

  it('pause/resume: the active channel hands over, and the state survives a restart', async () => {
    const paused = await admin(relay, 'POST', '/admin/channels/claude-a/pause');
    expect(paused.status).toBe(200);
    expect(paused.json).toMatchObject({ paused: true, activeChannel: 'openai-a' });
    const claude = await call(relay.url, 'POST', '/v1/messages', { model: 'claude-sonnet-4-5', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] }, { 'x-api-key': KEY });
    expect(claude.status).toBe(404);

    await relay.close();
    relay = await startRelay({ config: await stackLayout(fleet, KEY), dataDir, healthChecks: false });
    const state = (await admin(relay, 'GET', '/admin/state')).json;
    expect(state.endpoints.find((e: { name: string }) => e.name === 'claude-a').paused).toBe(true);
    expect((await admin(relay, 'POST', '/admin/channels/claude-a/resume')).json.activeChannel).toBe('claude-a');
    const again = await call(relay.url, 'POST', '/v1/messages', { model: 'claude-sonnet-4-5', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] }, { 'x-api-key': KEY });
    expect(again.status).toBe(200);
  });

  it('admin API: token required, masked answers, validation errors name the field, unknown names 404', async () => {
    expect((await call(relay.adminUrl, 'GET', '/admin/config', undefined, bearer)).status).toBe(401);
    const cfg = await admin(relay, 'GET', '/admin/config');
    expect(JSON.stringify(cfg.json)).not.toContain('sk-proj-mock-openai-0001');
    expect(JSON.stringify(cfg.json)).not.toContain(KEY);
    const bad = await admin(relay, 'PATCH', '/admin/endpoints/claude-a', { base_url: 'not a url' });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/base_url/);
    expect((await admin(relay, 'PATCH', '/admin/endpoints/nope', { priority: 2 })).status).toBe(404);
    // A masked config sent back keeps the real tokens.
    const put = await admin(relay, 'PUT', '/admin/config', cfg.json);
    expect(put.status).toBe(200);
    const chat = await call(relay.url, 'POST', '/v1/chat/completions', { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }, bearer);
    expect(chat.status).toBe(200);
    const added = await admin(relay, 'POST', '/admin/keys', { key: 'rk-added-key-0000001', name: 'added' });
    expect(added.status).toBe(201);
    expect((await call(relay.url, 'POST', '/v1/chat/completions', { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }, { authorization: 'Bearer rk-added-key-0000001' })).status).toBe(200);
    expect((await admin(relay, 'DELETE', '/admin/keys/added')).status).toBe(200);
    expect((await call(relay.url, 'POST', '/v1/chat/completions', { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }, { authorization: 'Bearer rk-added-key-0000001' })).status).toBe(401);
    expect((await admin(relay, 'POST', '/admin/clock/advance', { ms: 5 })).status).toBe(404);
    const stats = (await admin(relay, 'GET', '/admin/stats')).json;
    expect(stats.endpoints['openai-a-1'].requests).toBeGreaterThan(0);
  });

  it('the banner prints the agent command lines verbatim (the ones agents/agents.test.ts runs), a path with a space quoted', () => {
    const agents = agentCommands('http://127.0.0.1:1234', 'rk-x', '/tmp/a dir');
    const banner = agentBanner(agents).join('\n');
    for (const line of [...agents.claude, ...agents.codex]) expect(banner).toContain(line);
    expect(agents.codex[0]).toBe(`CODEX_HOME='/tmp/a dir' RELAYLAB_API_KEY=rk-x codex exec --skip-git-repo-check "say hi"`);
    expect(agents.claude[1]).toBe('ANTHROPIC_BASE_URL=http://127.0.0.1:1234 ANTHROPIC_AUTH_TOKEN=rk-x CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 claude -p --continue "say more"');
  });
});
