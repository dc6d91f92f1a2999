/**
 * One undici Pool per upstream origin, created on first use and reused by every request: keep-alive
 * connections are what make a relay cheap (a bare proxy on fetch reaches a fifth of this).
 */
import { Pool } from 'undici';

export class UpstreamPools {
  private readonly pools = new Map<string, Pool>();

  /**
   * No cap by default: a stream holds its upstream connection for its whole length, so a cap of N
   * queues stream N+1 behind the others inside undici (bench `streaming`, 1,000 concurrent
   * streams, with 256: two thirds of the streams waited over 5 s for their first event).
   */
  constructor(private readonly connectionsPerOrigin: number | null = null) {}

  get(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, {
        connections: this.connectionsPerOrigin,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        keepAliveMaxTimeout: 600_000,
        // The relay enforces its own first-byte / inactivity limits per request.
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  async close(): Promise<void> {
    const all = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(all.map((p) => p.destroy().catch(() => undefined)));
  }
}
