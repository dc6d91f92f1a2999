/**
 * The reference relay's admin API, as the scenario engine uses it (Bearer admin token, JSON).
 * Any relay that implements the same API can be driven by the `reference` adapter.
 */
import { request } from 'undici';
import type { RequestLogEntry } from '../../relay/state/types.js';
import type { RelayStateView, RelayStatsView } from './api.js';

export class AdminError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'AdminError';
  }
}

export class AdminClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {}

  async call<T = unknown>(method: 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const res = await request(new URL(path, this.baseUrl), {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new AdminError(`${method} ${path}: ${res.statusCode} ${text.slice(0, 500)}`, res.statusCode);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  putConfig(layout: unknown): Promise<unknown> {
    return this.call('PUT', '/admin/config', layout);
  }
  advanceClock(ms: number): Promise<unknown> {
    return this.call('POST', '/admin/clock/advance', { ms });
  }
  patchEndpoint(name: string, patch: Record<string, unknown>): Promise<unknown> {
    return this.call('PATCH', `/admin/endpoints/${encodeURIComponent(name)}`, patch);
  }
  deleteEndpoint(name: string): Promise<unknown> {
    return this.call('DELETE', `/admin/endpoints/${encodeURIComponent(name)}`);
  }
  patchChannel(name: string, patch: Record<string, unknown>): Promise<unknown> {
    return this.call('PATCH', `/admin/channels/${encodeURIComponent(name)}`, patch);
  }
  pauseChannel(name: string, paused: boolean): Promise<unknown> {
    return this.call('POST', `/admin/channels/${encodeURIComponent(name)}/${paused ? 'pause' : 'resume'}`);
  }
  runHealth(): Promise<unknown> {
    return this.call('POST', '/admin/health/run');
  }
  async requests(limit: number): Promise<RequestLogEntry[]> {
    const body = await this.call<RequestLogEntry[] | { requests: RequestLogEntry[] }>('GET', `/admin/requests?limit=${limit}`);
    return Array.isArray(body) ? body : (body?.requests ?? []);
  }
  state(): Promise<RelayStateView> {
    return this.call('GET', '/admin/state');
  }
  stats(): Promise<RelayStatsView> {
    return this.call('GET', '/admin/stats');
  }

  /** True when the relay runs on a virtual clock (the advance endpoint exists). */
  async hasClock(): Promise<boolean> {
    try {
      await this.advanceClock(0);
      return true;
    } catch (err) {
      if (err instanceof AdminError && (err.status === 404 || err.status === 405)) return false;
      throw err;
    }
  }
}
