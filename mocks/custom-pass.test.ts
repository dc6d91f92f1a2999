/**
 * The custom-pass kind on a TestClock: the sync envelope, precharge answers, the async task
 * lifecycle queued -> running -> succeeded|failed, and query parameters recorded verbatim.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TestClock } from '../lib/clock.js';
import { startMocks, type MockFleet } from './index.js';

const TOKEN = 'cp-token-0001';
const clock = new TestClock();
let fleet: MockFleet;
let base: string;

beforeAll(async () => {
  fleet = await startMocks(
    {
      upstreams: [
        { name: 'pass', kind: 'custom-pass', tokens: [TOKEN], output: { tokens: 6 }, custom_pass: { queued_for: '1s', running_for: '2s' } },
        { name: 'flaky', kind: 'custom-pass', tokens: [TOKEN], custom_pass: { queued_for: 0, running_for: 10, fail_ratio: 1 } },
      ],
    },
    { clock },
  );
  base = fleet.get('pass').url;
});
afterAll(() => fleet.close());
beforeEach(() => fleet.control.reset());

const post = async (url: string, body: unknown, token = TOKEN) => {
  const res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
};

describe('custom-pass kind', () => {
  it('answers a sync call with the envelope and its usage; records query parameters', async () => {
    const r = await post(`${base}/video-gen?quality=hd&lang=en`, { prompt: 'a cat' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ code: 0, message: 'success', data: { model: 'video-gen' } });
    expect(r.body.usage.completion_tokens).toBe(6);
    const [entry] = await fleet.control.journal({ upstream: 'pass' });
    expect(entry.query).toEqual({ quality: 'hd', lang: 'en' });
    expect(entry.model).toBe('video-gen');
    expect(entry.usage?.outputTokens).toBe(6);
    expect(entry.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('answers precharge=true with the estimate only and bills nothing', async () => {
    const r = await post(`${base}/video-gen?precharge=true`, { prompt: 'a cat' });
    expect(r.body).toMatchObject({ code: 0, type: 'precharge', data: null });
    expect(r.body.usage.prompt_tokens).toBeGreaterThan(0);
    expect((await fleet.control.journal())[0].usage).toBeNull();
  });

  it('moves a task queued -> running -> succeeded with the clock, usage on completion', async () => {
    const submitted = await post(`${base}/video-gen/submit?callback=none`, { prompt: 'a cat' });
    const taskId = submitted.body.data.task_id as string;
    expect(submitted.body.data.status).toBe('queued');
    const query = async () => (await post(`${base}/video-gen/task/list-by-condition`, { task_ids: [taskId] })).body.data[0];
    expect(await query()).toMatchObject({ task_id: taskId, status: 'queued', usage: null });
    await clock.advance(1500);
    expect(await query()).toMatchObject({ status: 'running', progress: '25%' });
    await clock.advance(2000);
    const done = await query();
    expect(done).toMatchObject({ status: 'succeeded', progress: '100%' });
    expect(done.usage.completion_tokens).toBe(6);
    const fetched = await fetch(`${base}/video-gen/task/${taskId}/fetch`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(((await fetched.json()) as { data: { status: string } }).data.status).toBe('succeeded');
    // The task is billed once, on its submit entry.
    const billed = (await fleet.control.journal({ upstream: 'pass' })).filter((e) => e.usage !== null);
    expect(billed).toHaveLength(1);
    expect(billed[0].path).toBe('/video-gen/submit');
  });

  it('fails tasks by the configured ratio and bills none of them', async () => {
    const url = fleet.get('flaky').url;
    const taskId = (await post(`${url}/m/submit`, { prompt: 'x' })).body.data.task_id;
    await clock.advance(50);
    const task = (await post(`${url}/m/task/list-by-condition`, { task_ids: [taskId] })).body.data[0];
    expect(task).toMatchObject({ status: 'failed', usage: null });
    expect((await fleet.control.journal({ upstream: 'flaky' })).every((e) => e.usage === null)).toBe(true);
  });

  it('answers errors in the envelope shape: unknown token, bad query, injected 503', async () => {
    expect((await post(`${base}/m`, {}, 'wrong')).body).toMatchObject({ code: 401, data: null });
    expect((await post(`${base}/m/task/list-by-condition`, { task_ids: 'x' })).status).toBe(400);
    await fleet.control.setRules('pass', [{ action: { status: 503 }, times: 1 }]);
    const r = await post(`${base}/m`, {});
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ code: 503, data: null });
  });
});
