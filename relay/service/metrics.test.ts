import { describe, expect, it } from 'vitest';
import { register as globalRegistry } from 'prom-client';
import type { RequestLogEntry } from '../state/types.js';
import { RelayMetrics } from './metrics.js';

const entry = (over: Partial<RequestLogEntry> = {}): RequestLogEntry => ({
  requestId: 'r1',
  time: 0,
  keyName: 'k',
  protocol: 'openai-chat',
  path: '/v1/chat/completions',
  stream: true,
  status: 200,
  outcome: 'ok',
  latencyMs: 1200,
  ttfbMs: 300,
  attempts: [
    { endpoint: 'A', channel: 'main', token: 'sk-…0001', status: 429, errorClass: 'rate_limited', cooldownSetMs: 10_000, cooldownScope: 'endpoint', durationMs: 20 },
    { endpoint: 'B', channel: 'main', token: 'sk-…0002', status: 503, errorClass: 'server_error', durationMs: 30 },
    { endpoint: 'C', channel: 'backup', token: 'sk-…0003', status: 200, durationMs: 900 },
  ],
  usage: { inputTokens: 10, outputTokens: 5, cacheReadTokens: 0, cacheWriteTokens: 0 },
  ...over,
});

describe('RelayMetrics', () => {
  it('turns one request-log entry into request, attempt, failover and cooldown counts', async () => {
    const m = new RelayMetrics();
    m.observe(entry());
    const text = await m.text();
    expect(text).toContain('relay_requests_total{protocol="openai-chat",path="/v1/chat/completions",status="200",outcome="ok"} 1');
    expect(text).toContain('relay_upstream_attempts_total{endpoint="A",channel="main",status="429",outcome="rate_limited"} 1');
    expect(text).toContain('relay_failovers_total{from_endpoint="A",to_endpoint="B",cross_channel="false"} 1');
    expect(text).toContain('relay_failovers_total{from_endpoint="B",to_endpoint="C",cross_channel="true"} 1');
    expect(text).toContain('relay_cooldowns_set_total{endpoint="A",scope="endpoint"} 1');
    expect(text).toContain('relay_time_to_first_byte_seconds_count{protocol="openai-chat"} 1');
    expect(text).toContain('relay_usage_tokens_total{protocol="openai-chat",kind="input"} 10');
  });

  it('keeps its own registry and bounds the path label', async () => {
    const a = new RelayMetrics();
    const b = new RelayMetrics();
    for (let i = 0; i < 100; i++) a.observe(entry({ path: `/pass/tasks/${i}`, attempts: [] }));
    const text = await a.text();
    expect(text).toContain('path="other"');
    expect(text.match(/path="\/pass\/tasks\/\d+"/g)?.length).toBeLessThanOrEqual(64);
    expect(await b.text()).not.toContain('relay_requests_total{');
    expect(await globalRegistry.getSingleMetricAsString('relay_requests_total').catch(() => 'absent')).toBe('absent');
  });
});
