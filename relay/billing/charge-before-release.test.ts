/**
 * The order that makes a crash safe: a complete answer's end (the stream's terminal event, or a
 * JSON body) reaches the client only after billing said it is charged (Billing.chargeComplete),
 * while every event before it flows at once. A billing that takes 400 ms to charge shows it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import type { Billing, SettleInput } from './types.js';
import { claudeBody, CLIENT_KEY, startStack, type TestStack } from '../testing.js';

const CHARGE_MS = 400;

class SlowChargeBilling implements Billing {
  readonly charged: Array<{ requestId: string; at: number; outputTokens?: number }> = [];
  readonly settled: string[] = [];
  async precharge() {
    return { ok: true as const };
  }
  async settle(i: SettleInput) {
    this.settled.push(i.requestId);
  }
  async chargeComplete(i: SettleInput) {
    await new Promise((r) => setTimeout(r, CHARGE_MS));
    this.charged.push({ requestId: i.requestId, at: Date.now(), outputTokens: i.usage?.outputTokens });
    return { settled: Promise.resolve() };
  }
}

let stack: TestStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

/** A Claude upstream streaming 5 tokens 20 ms apart behind a relay charging with `billing`. */
function streamingStack(billing: Billing): Promise<TestStack> {
  return startStack({ upstreams: [{ name: 'claude', kind: 'claude', tokens: ['sk-ant-api03-hold-0000001'], output: { tokens: 5 }, stream: { chunk_delay: '20ms' } }] },
    (m) => ({ channels: [{ name: 'main', endpoints: [{ name: 'A', type: 'claude', base_url: m.get('claude').url, token: 'sk-ant-api03-hold-0000001' }] }] }),
    { billing, redisUrl: '', mysqlUrl: '' });
}

/** Streams one answer; `at[i]`: when `marks[i]` first appeared in what the client had read. */
async function streamTimes(s: TestStack, marks: string[]): Promise<{ text: string; at: number[] }> {
  const res = await request(`${s.relay.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': CLIENT_KEY, 'anthropic-version': '2023-06-01' },
    body: JSON.stringify(claudeBody({ stream: true })),
  });
  let text = '';
  const at = marks.map(() => 0);
  for await (const chunk of res.body) {
    text += chunk.toString();
    marks.forEach((m, i) => {
      if (!at[i] && text.includes(m)) at[i] = Date.now();
    });
  }
  return { text, at };
}

describe('a complete answer is charged before its end is released', () => {
  it('holds the terminal event of a stream, and only it, until the charge is made', async () => {
    const billing = new SlowChargeBilling();
    stack = await streamingStack(billing);
    const { at } = await streamTimes(stack, ['content_block_delta', 'event: message_stop']);
    const [contentAt, stopAt] = at;
    expect(billing.charged).toHaveLength(1);
    expect(billing.charged[0].outputTokens).toBe(5);
    // The content came at once; message_stop only once the charge was made.
    expect(stopAt).toBeGreaterThanOrEqual(billing.charged[0].at);
    expect(stopAt - contentAt).toBeGreaterThanOrEqual(CHARGE_MS - 50);
    // Charged once: the relay does not settle it again afterwards.
    expect(billing.settled).toEqual([]);
  });

  it("holds the relay's own message_stop too, when it completes a finished stream the upstream left without one", async () => {
    const billing = new SlowChargeBilling();
    stack = await streamingStack(billing);
    await stack.mocks.control.addRule('claude', { action: { cut: { after: 'usage', mode: 'end' } } });
    const { text, at } = await streamTimes(stack, ['event: message_delta', 'event: message_stop']);
    expect(text.endsWith('event: message_stop\ndata: {"type":"message_stop"}\n\n')).toBe(true);
    expect(billing.charged).toHaveLength(1);
    expect(billing.charged[0].outputTokens).toBe(5);
    expect(at[1]).toBeGreaterThanOrEqual(billing.charged[0].at);
    expect(at[1] - at[0]).toBeGreaterThanOrEqual(CHARGE_MS - 50);
    expect(billing.settled).toEqual([]);
  });

  it('holds a JSON answer until the charge is made', async () => {
    const billing = new SlowChargeBilling();
    stack = await startStack({ upstreams: [{ name: 'claude', kind: 'claude', tokens: ['sk-ant-api03-hold-0000001'], output: { tokens: 5 } }] },
      (m) => ({ channels: [{ name: 'main', endpoints: [{ name: 'A', type: 'claude', base_url: m.get('claude').url, token: 'sk-ant-api03-hold-0000001' }] }] }),
      { billing, redisUrl: '', mysqlUrl: '' });
    const started = Date.now();
    const res = await request(`${stack.relay.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': CLIENT_KEY, 'anthropic-version': '2023-06-01' },
      body: JSON.stringify(claudeBody()),
    });
    await res.body.text();
    expect(res.statusCode).toBe(200);
    expect(billing.charged).toHaveLength(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(CHARGE_MS);
    expect(billing.settled).toEqual([]);
  });
});
