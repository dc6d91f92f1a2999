/**
 * Tokens at rest: the only places the relay persists upstream tokens and client keys are the saved
 * admin layout and the refreshed OAuth credentials (RecordStore overrides; MySQL or the embedded
 * file), and copies of an invalid layout kept aside. This decorator seals the layout and the
 * credentials with the SecretBox on the way in and opens them on the way out, so the store never
 * holds them in plain text and the rest of the relay never sees ciphertext. The request log holds masked
 * tokens only and passes through untouched.
 *
 * Without a key the layout is written as is (a development relay), but a sealed layout is never
 * silently ignored: reading one without the key is an error that names RELAY_SECRET_KEY.
 * A plain layout written before the key was set is read as is and sealed by the next save.
 */
import type { ConfigOverrides, RecordStore, RequestLogEntry, RequestLogQuery } from '../state/types.js';
import { isSealed, type SecretBox } from './secret-box.js';

/**
 * What to tell the operator at start when tokens would be persisted in plain text: the records
 * persist (a data dir or MySQL: admin edits and refreshed OAuth tokens are written there) and no
 * RELAY_SECRET_KEY is set. Undefined when nothing is persisted or everything is sealed.
 */
export function plainSecretsWarning(o: { persistsTo: string | undefined; encrypted: boolean; oauthEndpoints: number }): string | undefined {
  if (!o.persistsTo || o.encrypted) return undefined;
  const what = o.oauthEndpoints > 0 ? `admin edits of tokens and the refreshed tokens of ${o.oauthEndpoints} OAuth endpoint(s)` : 'admin edits of tokens and keys';
  return `RELAY_SECRET_KEY is not set: ${what} are written to ${o.persistsTo} in plain text; set RELAY_SECRET_KEY (32 random bytes as 64 hex characters, or a passphrase of 16+ characters) to seal them`;
}

export class EncryptedRecordStore implements RecordStore {
  constructor(
    private readonly inner: RecordStore,
    private readonly box: SecretBox | undefined,
  ) {}

  async loadOverrides(): Promise<ConfigOverrides | undefined> {
    const stored = await this.inner.loadOverrides();
    if (!stored) return stored;
    const out = { ...stored };
    if (isSealed(stored.layout)) out.layout = JSON.parse(this.open(stored.layout)) as unknown;
    if (isSealed(stored.credentials)) out.credentials = JSON.parse(this.open(stored.credentials)) as ConfigOverrides['credentials'];
    return out;
  }

  saveOverrides(overrides: ConfigOverrides, expectedRevision?: number): Promise<boolean> {
    return this.inner.saveOverrides(this.sealed(overrides), expectedRevision);
  }

  keepAside(overrides: ConfigOverrides, reason: string): Promise<string> {
    if (!this.inner.keepAside) return Promise.reject(new Error('this record store cannot keep a layout aside'));
    return this.inner.keepAside(this.sealed(overrides), reason);
  }

  private open(sealed: string): string {
    if (!this.box) throw new Error('the saved admin layout is encrypted: start the relay with the RELAY_SECRET_KEY it was written with');
    return this.box.open(sealed);
  }

  /** The document with its secrets sealed (as is without a key; a sealed part stays sealed). */
  private sealed(overrides: ConfigOverrides): ConfigOverrides {
    if (!this.box) return overrides;
    const out = { ...overrides };
    if (overrides.layout !== undefined && !isSealed(overrides.layout)) out.layout = this.box.seal(JSON.stringify(overrides.layout));
    if (overrides.credentials !== undefined && Object.keys(overrides.credentials).length > 0) {
      out.credentials = this.box.seal(JSON.stringify(overrides.credentials)) as unknown as ConfigOverrides['credentials'];
    }
    return out;
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
