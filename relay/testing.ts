/**
 * Test support for relay integration tests: mocks + a relay in process, a tiny HTTP client and
 * admin helpers. Not used by the relay itself.
 */
import { request } from 'undici';
import type { Clock } from '../lib/clock.js';
import { startMocks, type MockFleet, type MocksConfig } from '../mocks/index.js';
import type { RelayConfig } from './config/schema.js';
import { startRelay, type RunningRelay, type StartRelayOptions } from './server.js';

export const CLIENT_KEY = 'rk-test-client-key-0001';

export interface TestStack {
  mocks: MockFleet;
  relay: RunningRelay;
  close(): Promise<void>;
}

export async function startStack(
  mocks: MocksConfig,
  layout: (m: MockFleet) => RelayConfig,
  opts: Partial<StartRelayOptions> & { clock?: Clock } = {},
): Promise<TestStack> {
  const fleet = await startMocks(mocks);
  let relay: RunningRelay;
  try {
    const config = layout(fleet);
    relay = await startRelay({
      healthChecks: false,
      ...opts,
      config: { keys: [{ key: CLIENT_KEY, name: 'tester' }], ...config },
      redisUrl: opts.redisUrl ?? process.env.REDIS_URL,
      mysqlUrl: opts.mysqlUrl ?? process.env.MYSQL_URL,
      statePrefix: opts.statePrefix ?? `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`,
    });
  } catch (err) {
    await fleet.close();
    throw err;
  }
  return {
    mocks: fleet,
    relay,
    close: async () => {
      await relay.close();
      await fleet.close();
    },
  };
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

export async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<HttpAnswer> {
  const res = await request(base + path, {
    method: method as 'POST',
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}

/** A client call with the test key (x-api-key for Anthropic paths, Bearer otherwise). */
export function ask(relay: RunningRelay, path: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  const auth: Record<string, string> = path.startsWith('/v1/messages')
    ? { 'x-api-key': CLIENT_KEY, 'anthropic-version': '2023-06-01' }
    : { authorization: `Bearer ${CLIENT_KEY}` };
  return call(relay.url, 'POST', path, body, { ...auth, ...headers });
}

export function admin(relay: RunningRelay, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  return call(relay.adminUrl, method, path, body, { authorization: `Bearer ${relay.adminToken}`, ...headers });
}

/**
 * The relay's request log (`limit` newest entries, oldest first) once it holds the entry of
 * `through`, the test's last answer. The relay writes an entry after the request's state
 * bookkeeping (cooldowns, breaker, sticky: Redis in CI), which may end after the client has read
 * the last byte, so reading the log right after an answer can miss it.
 */
export async function requestLog(relay: RunningRelay, through: HttpAnswer | string, limit = 1): Promise<any[]> {
  const id = typeof through === 'string' ? through : String(through.headers['x-request-id']);
  const deadline = Date.now() + 3000;
  for (;;) {
    const log = (await admin(relay, 'GET', `/admin/requests?limit=${limit}`)).json as Array<{ requestId: string }>;
    if (log.some((e) => e.requestId === id)) return log;
    if (Date.now() > deadline) throw new Error(`request ${id} is not among the relay's last ${limit} log entries after 3 s`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let asked = 0;
/** A Claude request; each call has a different first message, so none shares a sticky session by accident. */
export const claudeBody = (extra: Record<string, unknown> = {}) => ({
  model: 'claude-sonnet-4-5',
  max_tokens: 100,
  messages: [{ role: 'user', content: `hello there #${++asked}` }],
  ...extra,
});

/** SSE data events of a text stream, parsed. */
export function sseEvents(text: string): Array<{ event?: string; data: string }> {
  const out: Array<{ event?: string; data: string }> = [];
  for (const block of text.split(/\n\n/)) {
    if (!block.trim()) continue;
    let event: string | undefined;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
    }
    out.push({ event, data: data.join('\n') });
  }
  return out;
}
