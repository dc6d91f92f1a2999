/**
 * The chatgpt-oauth kind (Codex backend) on a TestClock: JWT access tokens that expire with the
 * clock, a refresh endpoint, the account check, and Responses streams the openai SDK parses.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClock } from '../lib/clock.js';
import { decodeJwt } from 'jose';
import { startMocks, type MockFleet } from './index.js';

let fleet: MockFleet;
let url: string;
const clock = new TestClock();

beforeAll(async () => {
  fleet = await startMocks(
    { upstreams: [{ name: 'codex', kind: 'chatgpt-oauth', output: { tokens: 8 }, chatgpt: { refresh_tokens: { 'rt-acc-2': 'acc-2' } } }] },
    { clock },
  );
  url = fleet.get('codex').url;
});
afterAll(() => fleet.close());

const codexClient = (token: string, account: string) =>
  new OpenAI({ apiKey: token, baseURL: `${url}/backend-api/codex`, maxRetries: 0, defaultHeaders: { 'chatgpt-account-id': account } });

async function refresh(refreshToken: string): Promise<Response> {
  return fetch(`${url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'app_test' }),
  });
}

describe('chatgpt-oauth kind', () => {
  it('issues JWTs shaped like ChatGPT access tokens', async () => {
    const t = await fleet.control.issueJwt('codex', { accountId: 'acc-1', expiresInSec: 600 });
    const claims = decodeJwt(t.accessToken);
    expect(claims['https://api.openai.com/auth']).toMatchObject({ chatgpt_account_id: 'acc-1' });
    expect(claims.exp! - claims.iat!).toBe(600);
  });

  it('streams a Responses answer the SDK parses to a completed response, and journals the exact Bearer', async () => {
    const t = await fleet.control.issueJwt('codex', { accountId: 'acc-1', expiresInSec: 600 });
    const final = await codexClient(t.accessToken, 'acc-1').responses.stream({ model: 'gpt-5-codex', input: 'hi', store: false }).finalResponse();
    expect(final.status).toBe('completed');
    expect(final.usage?.output_tokens).toBe(8);
    const entry = (await fleet.control.journal({ path: '/backend-api/codex/responses' })).at(-1)!;
    expect(entry.headers.authorization).toBe(`Bearer ${t.accessToken}`);
    expect(entry.headers['chatgpt-account-id']).toBe('acc-1');
  });

  it('refuses a missing or mismatched account header', async () => {
    const t = await fleet.control.issueJwt('codex', { accountId: 'acc-1', expiresInSec: 600 });
    const mismatched = await codexClient(t.accessToken, 'acc-9')
      .responses.create({ model: 'gpt-5-codex', input: 'hi' })
      .catch((e: unknown) => e);
    expect(mismatched).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const garbage = await codexClient('not-a-jwt', 'acc-1')
      .responses.create({ model: 'gpt-5-codex', input: 'hi' })
      .catch((e: unknown) => e);
    expect(garbage).toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('answers 401 once the JWT expired; the refresh token buys a new one that works', async () => {
    const t = await fleet.control.issueJwt('codex', { accountId: 'acc-1', expiresInSec: 60 });
    const client = codexClient(t.accessToken, 'acc-1');
    await expect(client.responses.create({ model: 'gpt-5-codex', input: 'hi' })).resolves.toMatchObject({ status: 'completed' });
    await clock.advance(61_000);
    const err = await client.responses.create({ model: 'gpt-5-codex', input: 'hi' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((err as Error).message).toMatch(/expired/);
    const check = await fetch(`${url}/backend-api/accounts/check/v4-2023-04-27`, { headers: { authorization: `Bearer ${t.accessToken}`, 'chatgpt-account-id': 'acc-1' } });
    expect(check.status).toBe(401);

    const res = await refresh(t.refreshToken);
    expect(res.status).toBe(200);
    const fresh = (await res.json()) as { access_token: string; refresh_token: string; expires_in: number };
    expect(fresh.access_token).not.toBe(t.accessToken);
    await expect(codexClient(fresh.access_token, 'acc-1').responses.create({ model: 'gpt-5-codex', input: 'hi' })).resolves.toMatchObject({ status: 'completed' });
    const ok = await fetch(`${url}/backend-api/accounts/check/v4-2023-04-27`, { headers: { authorization: `Bearer ${fresh.access_token}`, 'chatgpt-account-id': 'acc-1' } });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { account_ordering: string[] }).account_ordering).toEqual(['acc-1']);
  });

  it('trades a configured refresh token (form-encoded too) and refuses an unknown one', async () => {
    const form = await fetch(`${url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=refresh_token&refresh_token=rt-acc-2',
    });
    expect(form.status).toBe(200);
    const token = ((await form.json()) as { access_token: string }).access_token;
    expect(decodeJwt(token)['https://api.openai.com/auth']).toMatchObject({ chatgpt_account_id: 'acc-2' });
    expect((await refresh('rt-unknown')).status).toBe(401);
  });
});
