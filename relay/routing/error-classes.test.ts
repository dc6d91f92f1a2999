import { describe, expect, it } from 'vitest';
import { relayConfigSchema } from '../config/schema.js';
import { authOutcome, cooldownMs, parseRetryAfter, refineOutcome, ruleFor, sameEndpointWait } from './error-classes.js';

const cooldowns = relayConfigSchema.parse({}).cooldowns;

describe('error classes', () => {
  it('moves on after network errors, timeouts, 429, 5xx and 529', () => {
    for (const o of [
      'connect_error', 'timeout', 429, 500, 502, 503, 504, 529, 'stream_error', 'stream_overloaded', 'stream_truncated', 'stream_cut_before_first_event',
    ] as const) {
      expect(ruleFor(o).action, String(o)).toBe('failover');
    }
  });

  it('a stream cut before its first event has its own class, retried like a network failure', () => {
    expect(ruleFor('stream_cut_before_first_event')).toMatchObject({ class: 'stream_cut_before_first_event', action: 'failover', breaker: true, cooldown: { scope: 'endpoint', duration: 'network' } });
  });

  it('returns 400/404/413/422 unchanged and never trips a breaker', () => {
    for (const s of [400, 404, 413, 422, 409]) {
      expect(ruleFor(s)).toMatchObject({ action: 'return', breaker: false });
      expect(ruleFor(s).cooldown).toBeUndefined();
    }
  });

  it('401/403 move on, count toward disabling the credential, set no cooldown themselves', () => {
    for (const s of [401, 403]) {
      expect(ruleFor(s)).toMatchObject({ action: 'failover', auth: true, breaker: false });
      expect(ruleFor(s).cooldown).toBeUndefined();
    }
  });

  it('529 cools only the endpoint, briefly, and is no breaker failure', () => {
    const r = ruleFor(529);
    expect(r).toMatchObject({ breaker: false, cooldown: { scope: 'endpoint' } });
    expect(cooldownMs(r, cooldowns, undefined)).toBe(cooldowns.overloaded);
    expect(cooldowns.overloaded).toBeLessThanOrEqual(5000);
  });

  it("an in-stream overloaded_error is classed like a 529: brief endpoint cooldown, no breaker failure", () => {
    expect(ruleFor('stream_overloaded')).toMatchObject({ breaker: false, cooldown: { scope: 'endpoint', duration: 'overloaded' } });
    expect(ruleFor('stream_error').breaker).toBe(true);
  });

  it('429 honours retry-after, capped', () => {
    const r = ruleFor(429);
    expect(cooldownMs(r, cooldowns, 7000)).toBe(7000);
    expect(cooldownMs(r, cooldowns, 10 * 3600_000)).toBe(cooldowns.retry_after_cap);
    expect(cooldownMs(r, cooldowns, undefined)).toBe(cooldowns.rate_limited);
  });

  it('unknown 5xx fail over like 500', () => {
    expect(ruleFor(501)).toMatchObject({ action: 'failover', breaker: true });
  });

  it('parses retry-after-ms, seconds and dates', () => {
    expect(parseRetryAfter({ 'retry-after-ms': '1500', 'retry-after': '9' }, 0)).toBe(1500);
    expect(parseRetryAfter({ 'retry-after': '3' }, 0)).toBe(3000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter({ 'retry-after': 'Thu, 01 Jan 2026 00:00:10 GMT' }, now)).toBe(10_000);
    expect(parseRetryAfter({}, 0)).toBeUndefined();
    expect(parseRetryAfter({ 'retry-after': 'soon' }, 0)).toBeUndefined();
  });

  it('reads context-length and content-policy refusals out of 4xx bodies', () => {
    expect(refineOutcome(400, { type: 'invalid_request_error', code: 'context_length_exceeded', message: 'x' })).toBe('context_length_exceeded');
    expect(refineOutcome(400, { type: 'invalid_request_error', message: 'prompt is too long: 212000 tokens > 200000 maximum' })).toBe('context_length_exceeded');
    expect(refineOutcome(400, { type: 'invalid_request_error', code: null, message: "This model's maximum context length is 128000 tokens." })).toBe(
      'context_length_exceeded',
    );
    expect(refineOutcome(400, { type: 'invalid_request_error', code: 'content_policy_violation', message: 'x' })).toBe('content_policy');
    expect(refineOutcome(400, { type: 'invalid_request_error', code: 'invalid_prompt', message: 'flagged as potentially violating our usage policy' })).toBe(
      'content_policy',
    );
    expect(refineOutcome(400, { type: 'invalid_request_error', message: 'max_tokens: Field required' })).toBe(400);
    // Only 4xx bodies are read that way; a 5xx mentioning a context window is still a 5xx.
    expect(refineOutcome(500, { type: 'api_error', message: 'context window' })).toBe(500);
    expect(refineOutcome(400, undefined)).toBe(400);
  });

  it('moves a context_length_exceeded only to a larger window and never retries or moves a content refusal', () => {
    expect(ruleFor('context_length_exceeded')).toMatchObject({ action: 'larger_window', breaker: false });
    expect(ruleFor('context_length_exceeded').retrySame).toBeUndefined();
    expect(ruleFor('content_policy')).toMatchObject({ action: 'return', breaker: false });
    expect(ruleFor('content_policy').retrySame).toBeUndefined();
  });

  it('waits before a same-endpoint retry: a short Retry-After, else the bounded backoff; a 429 needs its Retry-After', () => {
    const s = { retries: 1, maxWait: 1000, backoff: 200 };
    expect(sameEndpointWait(ruleFor(429), 1000, 0, s)).toBe(1000);
    expect(sameEndpointWait(ruleFor(429), 1001, 0, s)).toBeUndefined();
    expect(sameEndpointWait(ruleFor(429), undefined, 0, s)).toBeUndefined();
    expect(sameEndpointWait(ruleFor(500), undefined, 0, s)).toBe(200);
    expect(sameEndpointWait(ruleFor(503), 500, 0, s)).toBe(500);
    expect(sameEndpointWait(ruleFor(500), undefined, 1, s)).toBeUndefined();
    expect(sameEndpointWait(ruleFor(500), undefined, 3, { ...s, retries: 5 })).toBe(1000);
    for (const o of [529, 400, 401, 'timeout', 'connect_error', 'stream_overloaded'] as const) expect(sameEndpointWait(ruleFor(o), 0, 0, s), String(o)).toBeUndefined();
  });
});

describe('authOutcome: which upstream 401/403 concern the credential', () => {
  const openai = (code: string | null, message: string) => ({ message, type: 'invalid_request_error', code });
  it('organization and project mismatches are the endpoint configuration, not the token', () => {
    expect(authOutcome(401, openai('mismatched_organization', 'OpenAI-Organization header should match organization for API key'))).toBe('auth_scope');
    expect(authOutcome(401, openai(null, 'OpenAI-Project header should match project for API key'))).toBe('auth_scope');
    expect(ruleFor('auth_scope')).toMatchObject({ action: 'failover' });
    expect(ruleFor('auth_scope').auth).toBeFalsy();
  });
  it('a 403 for one model is about the model', () => {
    expect(authOutcome(403, openai('model_not_found', 'Project `proj_abc` does not have access to model `gpt-5`'))).toBe('auth_model');
    expect(ruleFor('auth_model')).toMatchObject({ action: 'failover', breaker: false });
    expect(ruleFor('auth_model').auth).toBeFalsy();
    expect(ruleFor('auth_model').cooldown).toBeUndefined();
  });
  it('everything else stays a credential failure that counts', () => {
    expect(authOutcome(401, openai('invalid_api_key', 'Incorrect API key provided'))).toBe(401);
    expect(authOutcome(401, { type: 'authentication_error', message: 'invalid x-api-key' })).toBe(401);
    expect(authOutcome(403, { type: 'permission_error', message: 'Your API key does not have permission to use the specified resource.' })).toBe(403);
    // Through refineOutcome, as the attempt sees an error answer; no readable body stays the status.
    expect(refineOutcome(401, openai('mismatched_organization', 'x'))).toBe('auth_scope');
    expect(refineOutcome(403, undefined)).toBe(403);
    expect(ruleFor(401).auth).toBe(true);
  });
});
