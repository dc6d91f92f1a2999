/**
 * Tokens at rest: the only place the relay persists upstream tokens and client keys is the saved
 * admin layout (RecordStore overrides; MySQL or the embedded file). This decorator seals that
 * layout with the SecretBox on the way in and opens it on the way out, so the store never holds
 * it in plain text and the rest of the relay never sees ciphertext. The request log holds masked
 * tokens only and passes through untouched.
 *
 * Without a key the layout is written as is (a development relay), but a sealed layout is never
 * silently ignored: reading one without the key is an error that names RELAY_SECRET_KEY.
 * A plain layout written before the key was set is read as is and sealed by the next save.
 */
import type { ConfigOverrides, RecordStore, RequestLogEntry, RequestLogQuery } from '../state/types.js';
import { isSealed, type SecretBox } from './secret-box.js';

export class EncryptedRecordStore implements RecordStore {
  constructor(
    private readonly inner: RecordStore,
    private readonly box: SecretBox | undefined,
  ) {}

  async loadOverrides(): Promise<ConfigOverrides | undefined> {
    const stored = await this.inner.loadOverrides();
    if (!stored || !isSealed(stored.layout)) return stored;
    if (!this.box) {
      throw new Error('the saved admin layout is encrypted: start the relay with the RELAY_SECRET_KEY it was written with');
    }
    return { ...stored, layout: JSON.parse(this.box.open(stored.layout)) as unknown };
  }

  saveOverrides(overrides: ConfigOverrides): Promise<void> {
    if (!this.box || overrides.layout === undefined) return this.inner.saveOverrides(overrides);
    return this.inner.saveOverrides({ ...overrides, layout: this.box.seal(JSON.stringify(overrides.layout)) });
  }

  appendRequestLog(entry: RequestLogEntry): void {
    this.inner.appendRequestLog(entry);
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
