/**
 * The claude kind through the official @anthropic-ai/sdk: if the SDK accepts every answer as
 * real, relays tested against the mock are tested against the real wire format.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { countTextTokens } from '../protocols/tokens.js';
import { startMocks, type MockFleet } from './index.js';

const KEY = 'sk-ant-api03-test-key-A-000000000001';
const MODEL = 'claude-sonnet-4-5';
let fleet: MockFleet;
let client: Anthropic;

beforeAll(async () => {
  fleet = await startMocks({ upstreams: [{ name: 'claude', kind: 'claude', tokens: [KEY], seed: 7, output: { tokens: 12 } }] });
  client = new Anthropic({ apiKey: KEY, baseURL: fleet.get('claude').url, maxRetries: 0 });
});
afterAll(() => fleet.close());
beforeEach(() => fleet.control.reset());

const ask = { model: MODEL, max_tokens: 200, messages: [{ role: 'user' as const, content: 'Say something' }] };

describe('claude kind with @anthropic-ai/sdk', () => {
  it('answers a non-stream message with usage equal to the words it wrote', async () => {
    const msg = await client.messages.create(ask);
    expect(msg.type).toBe('message');
    expect(msg.content[0].type).toBe('text');
    const text = (msg.content[0] as Anthropic.TextBlock).text;
    expect(msg.usage.output_tokens).toBe(12);
    expect(text.split(' ')).toHaveLength(12);
    expect(msg.usage.input_tokens).toBe(Math.ceil('Say something'.length / 4));
    // A plain answer (served from a template) journals its text like any other.
    const [entry] = await fleet.control.journal({ upstream: 'claude' });
    expect(entry.text).toBe(text);
  });

  it('is deterministic for the seed and request number', async () => {
    const a = await client.messages.create(ask);
    const other = await startMocks({ upstreams: [{ name: 'claude', kind: 'claude', tokens: [KEY], seed: 7, output: { tokens: 12 } }] });
    try {
      const b = await new Anthropic({ apiKey: KEY, baseURL: other.get('claude').url, maxRetries: 0 }).messages.create(ask);
      expect(b.content).toEqual(a.content);
    } finally {
      await other.close();
    }
  });

  it('streams the full event sequence: joined text deltas equal the final text, usage is read', async () => {
    const stream = client.messages.stream(ask);
    let joined = '';
    const types: string[] = [];
    stream.on('text', (t) => (joined += t));
    stream.on('streamEvent', (e) => types.push(e.type));
    const final = await stream.finalMessage();
    expect(joined).toBe((final.content[0] as Anthropic.TextBlock).text);
    expect(final.usage.output_tokens).toBe(12);
    expect(types[0]).toBe('message_start');
    expect(types.at(-2)).toBe('message_delta');
    expect(types.at(-1)).toBe('message_stop');
    const [entry] = await fleet.control.journal({ upstream: 'claude' });
    expect(entry.stream).toBe(true);
    expect(entry.usage).toEqual({ inputTokens: 4, outputTokens: 12, cacheWriteTokens: 0, cacheReadTokens: 0 });
    // The SDK does not surface `ping`; the mock sent it.
    expect(entry.eventsSent).toBe(types.length + 1);
  });

  it('streams a tool_use block with input_json_delta when tool_choice asks for a tool', async () => {
    const final = await client.messages
      .stream({
        ...ask,
        tools: [{ name: 'lookup', description: 'look up', input_schema: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] } }],
        tool_choice: { type: 'any' },
      })
      .finalMessage();
    const tool = final.content.find((b) => b.type === 'tool_use') as Anthropic.ToolUseBlock;
    expect(tool.name).toBe('lookup');
    expect(typeof (tool.input as { query: string }).query).toBe('string');
    expect(final.stop_reason).toBe('tool_use');
  });

  it('records the exact credential (Bearer or x-api-key), anthropic-beta and the query string', async () => {
    await client.messages.create(ask, { query: { beta: 'true' }, headers: { 'anthropic-beta': 'prompt-caching-2024-07-31' } });
    const raw = await fetch(`${fleet.get('claude').url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify(ask),
    });
    expect(raw.status).toBe(200);
    expect(raw.headers.get('request-id')).toMatch(/^req_/);
    const [a, b] = await fleet.control.journal({ upstream: 'claude' });
    // This SDK version sends its key as a Bearer token; the journal keeps it verbatim.
    expect(a.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(a.headers['anthropic-beta']).toBe('prompt-caching-2024-07-31');
    expect(a.query).toEqual({ beta: 'true' });
    expect(a.credential).toBe(KEY);
    expect(b.headers['x-api-key']).toBe(KEY);
    expect(b.headers['anthropic-version']).toBe('2023-06-01');
    expect(b.credential).toBe(KEY);
  });

  it.each([
    [400, Anthropic.BadRequestError],
    [401, Anthropic.AuthenticationError],
    [403, Anthropic.PermissionDeniedError],
    [429, Anthropic.RateLimitError],
    [500, Anthropic.InternalServerError],
    [502, Anthropic.InternalServerError],
    [503, Anthropic.InternalServerError],
    [529, Anthropic.InternalServerError],
  ])('a %i rule surfaces as the SDK typed error with that status', async (status, type) => {
    await fleet.control.setRules('claude', [{ action: { status, retry_after: 3 }, times: 'once' }]);
    const err = await client.messages.create(ask).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(type);
    expect((err as InstanceType<typeof Anthropic.APIError>).status).toBe(status);
    if (status === 429) expect((err as InstanceType<typeof Anthropic.APIError>).headers?.get('retry-after')).toBe('3');
    expect((err as InstanceType<typeof Anthropic.APIError>).requestID).toMatch(/^req_/);
    // `once`: the next request is fine
    await expect(client.messages.create(ask)).resolves.toMatchObject({ type: 'message' });
  });

  it('answers an unknown key with authentication_error 401', async () => {
    const bad = new Anthropic({ apiKey: 'sk-ant-wrong', baseURL: fleet.get('claude').url, maxRetries: 0 });
    const err = await bad.messages.create(ask).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((err as { error: { error: { type: string } } }).error.error.type).toBe('authentication_error');
  });

  it('a mid-stream RST surfaces as a stream error', async () => {
    await fleet.control.setRules('claude', [{ action: { cut: { after: 'mid_content', mode: 'rst' } } }]);
    const stream = client.messages.stream(ask);
    let received = '';
    stream.on('text', (t) => (received += t));
    await expect(stream.finalMessage()).rejects.toThrow();
    const [entry] = await fleet.control.journal();
    expect(entry.disconnect).toBe('rst');
    // Billed by the token rule over the text the client received before the cut.
    expect(received.length).toBeGreaterThan(0);
    expect(entry.usage?.outputTokens).toBe(countTextTokens(received));
  });

  it('an in-stream overloaded_error event surfaces as the SDK error', async () => {
    await fleet.control.setRules('claude', [{ action: { stream_error: { kind: 'overloaded', after: 'first_content' } } }]);
    const err = await client.messages
      .stream(ask)
      .finalMessage()
      .catch((e: unknown) => e);
    expect(String((err as Error).message)).toMatch(/overloaded/i);
  });

  it('counts tokens and lists models', async () => {
    const count = await client.messages.countTokens({ model: MODEL, messages: [{ role: 'user', content: 'x'.repeat(40) }] });
    expect(count.input_tokens).toBe(10);
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toContain('claude-sonnet-4-5');
  });

  it('bills a cache write then a cache read for requests with cache_control', async () => {
    const system = [{ type: 'text' as const, text: 'S'.repeat(400), cache_control: { type: 'ephemeral' as const } }];
    const first = await client.messages.create({ ...ask, system });
    const second = await client.messages.create({ ...ask, system });
    expect(first.usage.cache_creation_input_tokens).toBe(100);
    expect(first.usage.cache_read_input_tokens).toBe(0);
    expect(second.usage.cache_creation_input_tokens).toBe(0);
    expect(second.usage.cache_read_input_tokens).toBe(100);
    expect(second.usage.input_tokens).toBe(Math.ceil((400 + 'Say something'.length) / 4) - 100);
  });

  it('answers bad input with invalid_request_error 400 and never crashes', async () => {
    const url = `${fleet.get('claude').url}/v1/messages`;
    const post = (body: string, type = 'application/json') =>
      fetch(url, { method: 'POST', headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': type }, body }).then(async (r) => ({ status: r.status, body: await r.json() }));
    for (const r of [await post('{not json'), await post(JSON.stringify({ max_tokens: 5, messages: [] })), await post('{}', 'text/plain')]) {
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    }
    const missingModel = await post(JSON.stringify({ max_tokens: 5, messages: [] }));
    expect(missingModel.body.error.message).toMatch(/model/);
    await expect(client.messages.create(ask)).resolves.toMatchObject({ type: 'message' });
  });

  it('answers a request without anthropic-version, or with no valid version, 400 invalid_request_error as the real API', async () => {
    const send = (path: string, version?: string) =>
      fetch(`${fleet.get('claude').url}${path}`, {
        method: path === '/v1/models' ? 'GET' : 'POST',
        headers: { 'x-api-key': KEY, 'content-type': 'application/json', ...(version === undefined ? {} : { 'anthropic-version': version }) },
        ...(path === '/v1/models' ? {} : { body: JSON.stringify(ask) }),
      }).then(async (r) => ({ status: r.status, requestId: r.headers.get('request-id'), body: await r.json() }));
    for (const path of ['/v1/messages', '/v1/messages/count_tokens', '/v1/models']) {
      const missing = await send(path);
      expect(missing.status).toBe(400);
      expect(missing.body).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: 'anthropic-version: header is required' }, request_id: missing.requestId });
    }
    const invalid = await send('/v1/messages', '2024-10-22');
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.message).toBe('anthropic-version: "2024-10-22" is not a valid version');
    expect((await send('/v1/messages', '2023-01-01')).status).toBe(200);
    // A bad key is refused first, whatever the version.
    const unauthorized = await fetch(`${fleet.get('claude').url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': 'sk-ant-wrong', 'content-type': 'application/json' }, body: '{}' });
    expect(unauthorized.status).toBe(401);
    const journal = await fleet.control.journal({ upstream: 'claude', status: 400 });
    expect(journal).toHaveLength(4);
  });
});
