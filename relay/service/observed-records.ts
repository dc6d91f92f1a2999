/**
 * The request-log entry the relay writes for every client request is the one place that knows
 * how the request went, so metrics and the access log are fed from it: a synchronous call per
 * request, then the entry goes on to the store unchanged.
 */
import type { ConfigOverrides, RecordStore, RequestLogEntry, RequestLogQuery } from '../state/types.js';

export class ObservedRecordStore implements RecordStore {
  constructor(
    private readonly inner: RecordStore,
    private readonly observe: (entry: RequestLogEntry) => void,
  ) {}

  appendRequestLog(entry: RequestLogEntry): void {
    try {
      this.observe(entry);
    } finally {
      this.inner.appendRequestLog(entry);
    }
  }

  loadOverrides(): Promise<ConfigOverrides | undefined> {
    return this.inner.loadOverrides();
  }
  saveOverrides(overrides: ConfigOverrides, expectedRevision?: number): Promise<boolean> {
    return this.inner.saveOverrides(overrides, expectedRevision);
  }
  keepAside(overrides: ConfigOverrides, reason: string): Promise<string> {
    if (!this.inner.keepAside) return Promise.reject(new Error('this record store cannot keep a layout aside'));
    return this.inner.keepAside(overrides, reason);
  }
  flush(): Promise<void> {
    return this.inner.flush();
  }
  queryRequestLog(query: RequestLogQuery): Promise<RequestLogEntry[]> {
    return this.inner.queryRequestLog(query);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
