/**
 * A typed client for the control API (`/__mock/` on any upstream's URL). Used by tests, the
 * scenario engine and anyone driving a `pnpm mocks` process from outside.
 */
import type { FaultRule } from './config.js';
import type { JournalEntry, JournalFilter } from './journal.js';

export interface UpstreamListing {
  name: string;
  kind: string;
  url: string;
  port: number;
  /** Masked. */
  tokens: string[];
  models: string[];
  rules: number;
}

export interface IssuedJwt {
  accessToken: string;
  refreshToken: string;
  idToken: string;
  expiresIn: number;
}

export interface SettingsPatch {
  latency?: number | string;
  stream?: { ttft?: number | string; chunk_delay?: number | string; tokens_per_second?: number | null };
  output?: { tokens?: number; reasoning_tokens?: number };
  /** Share of tool-offering requests answered with a tool call, and which tool (default: one offered). */
  tool_calls?: { probability: number; name?: string };
}

export interface SchedulerStats {
  activeStreams: number;
  streamsStarted: number;
  pacedWrites: number;
  /** How late paced stream writes left compared with their programmed time. */
  latenessMs: { p50: number; p99: number; max: number };
}

export class MockControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly issues?: unknown,
  ) {
    super(message);
    this.name = 'MockControlError';
  }
}

export class MockControlClient {
  private readonly base: string;

  /** Any upstream's URL (the control API is the same on every port). */
  constructor(baseUrl: string) {
    this.base = baseUrl.replace(/\/+$/, '');
  }

  upstreams(): Promise<UpstreamListing[]> {
    return this.call('GET', '/upstreams');
  }

  journal(filter: JournalFilter = {}): Promise<JournalEntry[]> {
    return this.call('GET', `/journal${queryOf(filter)}`);
  }

  /** The journal as the export endpoint writes it: `{ exportedAt, entries }`. */
  exportJournal(filter: JournalFilter = {}): Promise<{ exportedAt: string; entries: JournalEntry[] }> {
    return this.call('GET', `/journal/export${queryOf(filter)}`);
  }

  /** The stream scheduler's own figures: proof the mock kept its schedule during a run. */
  stats(): Promise<SchedulerStats> {
    return this.call('GET', '/stats');
  }

  async resetStats(): Promise<void> {
    await this.call('DELETE', '/stats');
  }

  async resetJournal(): Promise<void> {
    await this.call('DELETE', '/journal');
  }

  /** Journal emptied; every upstream back to its config (rules and their counters, tokens, settings, request numbers). */
  async reset(): Promise<void> {
    await this.call('POST', '/reset');
  }

  rules(upstream: string): Promise<FaultRule[]> {
    return this.call('GET', `/upstreams/${encodeURIComponent(upstream)}/rules`);
  }

  async setRules(upstream: string, rules: FaultRule[]): Promise<void> {
    await this.call('PUT', `/upstreams/${encodeURIComponent(upstream)}/rules`, rules);
  }

  async addRule(upstream: string, rule: FaultRule): Promise<void> {
    await this.call('POST', `/upstreams/${encodeURIComponent(upstream)}/rules`, rule);
  }

  /** One upstream's rules, or every upstream's without an argument. */
  async clearRules(upstream?: string): Promise<void> {
    await this.call('DELETE', upstream === undefined ? '/rules' : `/upstreams/${encodeURIComponent(upstream)}/rules`);
  }

  async setTokens(upstream: string, tokens: string[]): Promise<void> {
    await this.call('PUT', `/upstreams/${encodeURIComponent(upstream)}/tokens`, { tokens });
  }

  /** Changes latency, stream pacing or output length of an upstream at run time. */
  async configure(upstream: string, patch: SettingsPatch): Promise<void> {
    await this.call('PATCH', `/upstreams/${encodeURIComponent(upstream)}/settings`, patch);
  }

  async setLatency(upstream: string, latency: number | string): Promise<void> {
    await this.configure(upstream, { latency });
  }

  /** Mints a ChatGPT access token (JWT) and a refresh token for an account (chatgpt-oauth upstreams). */
  issueJwt(upstream: string, opts: { accountId: string; expiresInSec: number; refreshToken?: string }): Promise<IssuedJwt> {
    return this.call('POST', `/upstreams/${encodeURIComponent(upstream)}/jwt`, opts);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.base}/__mock${path}`, {
      method,
      headers: body === undefined ? undefined : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    const json = text ? (JSON.parse(text) as unknown) : undefined;
    if (!res.ok) {
      const err = (json as { error?: { message?: string; issues?: unknown } } | undefined)?.error;
      throw new MockControlError(res.status, err?.message ?? `control API ${method} ${path}: HTTP ${res.status}`, err?.issues);
    }
    return json as T;
  }
}

function queryOf(f: JournalFilter): string {
  const q = new URLSearchParams();
  if (f.upstream !== undefined) q.set('upstream', f.upstream);
  if (f.token !== undefined) q.set('token', f.token);
  if (f.path !== undefined) q.set('path', f.path);
  if (f.status !== undefined) q.set('status', String(f.status));
  if (f.since !== undefined) q.set('since', String(f.since));
  if (f.afterSeq !== undefined) q.set('after', String(f.afterSeq));
  if (f.limit !== undefined) q.set('limit', String(f.limit));
  const s = q.toString();
  return s ? `?${s}` : '';
}
