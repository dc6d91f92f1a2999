import { describe, expect, it } from 'vitest';
import {
  buildPrecharge,
  buildTaskQuery,
  buildTaskSubmitted,
  customPass,
  customPassRoute,
  envelopeMessage,
  envelopeOk,
  isPrecharge,
  normalizeTaskStatus,
  readTask,
} from './custom-pass.js';
import { IDS, TEXT, USAGE } from './test-fixtures.js';

describe('custom-pass routes', () => {
  it('parses sync, submit, query and fetch paths with or without /pass', () => {
    expect(customPassRoute('/pass/img-gen')).toEqual({ model: 'img-gen', action: 'sync' });
    expect(customPassRoute('/vendor/model-x?precharge=true')).toEqual({ model: 'vendor/model-x', action: 'sync' });
    expect(customPassRoute('/pass/img-gen/submit')).toEqual({ model: 'img-gen', action: 'submit' });
    expect(customPassRoute('/img-gen/task/list-by-condition')).toEqual({ model: 'img-gen', action: 'query' });
    expect(customPassRoute('/pass/img-gen/task/t%201/fetch')).toEqual({ model: 'img-gen', action: 'fetch', taskId: 't 1' });
    expect(customPassRoute('/')).toBeUndefined();
  });

  it('recognises the reserved precharge flag', () => {
    expect(isPrecharge('?precharge=true')).toBe(true);
    expect(isPrecharge('a=1&precharge=true')).toBe(true);
    expect(isPrecharge({ precharge: 'true' })).toBe(true);
    expect(isPrecharge('precharge=false')).toBe(false);
    expect(isPrecharge(undefined)).toBe(false);
  });
});

describe('custom-pass envelope', () => {
  it('sync answer carries code 0, data and usage that read back', () => {
    const body = { prompt: 'draw a cat', model: 'img-gen' };
    const res = customPass.buildResponse(customPass.requestInfo(body), body, TEXT, USAGE, IDS) as any;
    expect(res).toMatchObject({ code: 0, message: 'success', data: { output: TEXT.tokens.join(''), model: 'img-gen' } });
    expect(res.usage).toEqual({ prompt_tokens: 47, completion_tokens: 7, total_tokens: 54, prompt_tokens_details: { cached_tokens: 5 } });
    expect(customPass.usageFromBody(res)).toEqual(USAGE);
    expect(customPass.textFromBody(res)).toBe(TEXT.tokens.join(''));
    expect(envelopeOk(res)).toBe(true);
  });

  it('accepts the tolerated variants when reading: msg, string code, input/output tokens', () => {
    const body = { code: '0', msg: 'ok', data: 'text', usage: { input_tokens: 3, output_tokens: 4 } };
    expect(envelopeOk(body)).toBe(true);
    expect(envelopeMessage(body)).toBe('ok');
    expect(customPass.usageFromBody(body)).toEqual({ inputTokens: 3, outputTokens: 4, cacheWriteTokens: 0, cacheReadTokens: 0 });
    expect(customPass.textFromBody(body)).toBe('text');
    expect(envelopeOk({ code: 1001, message: 'bad' })).toBe(false);
  });

  it('precharge answers with the estimate only', () => {
    const p = buildPrecharge(USAGE);
    expect(p).toMatchObject({ code: 0, type: 'precharge', data: null });
    expect(customPass.usageFromBody(p)).toEqual(USAGE);
  });

  it('errors put the status in the envelope code', () => {
    const r = customPass.errorReply(401, 'invalid token');
    expect(r).toMatchObject({ status: 401, body: { code: 401, message: 'invalid token', data: null } });
    expect(customPass.errorReply(429, 'slow').headers['retry-after']).toBe('1');
    expect(customPass.validate('x')?.status).toBe(400);
    expect(customPass.validate({ anything: true })).toBeUndefined();
  });

  it('observer reads one envelope as the whole answer', () => {
    const obs = customPass.createObserver();
    const [ev] = customPass.buildStream(customPass.requestInfo({}), {}, TEXT, USAGE, IDS);
    expect(obs.push(ev)).toBe('terminal');
    expect(obs.usage).toEqual(USAGE);
    expect(obs.complete).toBe(true);
    const bad = customPass.createObserver();
    expect(bad.push(customPass.streamErrorEvents('gone')[0])).toBe('error');
    expect(bad.error?.message).toBe('gone');
  });
});

describe('custom-pass tasks', () => {
  it('normalises upstream status spellings', () => {
    expect(normalizeTaskStatus('completed')).toBe('succeeded');
    expect(normalizeTaskStatus('SUCCESS')).toBe('succeeded');
    expect(normalizeTaskStatus('processing')).toBe('running');
    expect(normalizeTaskStatus('pendding')).toBe('queued');
    expect(normalizeTaskStatus('cancelled')).toBe('failed');
    expect(normalizeTaskStatus('weird')).toBeUndefined();
  });

  it('submit returns a queued task; query reports usage only once succeeded', () => {
    expect(buildTaskSubmitted('t1', USAGE)).toMatchObject({ code: 0, data: { task_id: 't1', status: 'queued' }, usage: { prompt_tokens: 47 } });
    const q = buildTaskQuery([
      { taskId: 't1', status: 'running', progress: 50, usage: USAGE },
      { taskId: 't2', status: 'succeeded', progress: 100, result: { url: 'x' }, usage: USAGE },
      { taskId: 't3', status: 'failed', progress: 0, error: 'Invalid input' },
    ]) as any;
    expect(q.data[0]).toEqual({ task_id: 't1', status: 'running', progress: '50%', error: null, result: null, usage: null });
    expect(readTask(q.data[1])).toEqual({ taskId: 't2', status: 'succeeded', usage: USAGE, error: undefined });
    expect(readTask(q.data[2])).toMatchObject({ status: 'failed', error: 'Invalid input', usage: undefined });
  });
});

describe('custom-pass session key and model', () => {
  it('uses headers only', () => {
    expect(customPass.sessionKey({ 'x-session-id': 's' }, {})).toEqual({ source: 'header:x-session-id', value: 's' });
    expect(customPass.sessionKey({}, { prompt: 'x' })).toBeUndefined();
    expect(customPass.withModel({ a: 1, model: 'x' }, 'y')).toEqual({ a: 1, model: 'y' });
  });
});
