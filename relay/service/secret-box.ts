/**
 * Secrets at rest: AES-256-GCM (node:crypto) with a key from the environment (RELAY_SECRET_KEY).
 * A sealed value is one self-describing string, `enc:v1:<base64url(iv | tag | ciphertext)>`, so a
 * reader can tell sealed from plain text and a future key or cipher can take a new version tag.
 */
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';

const PREFIX = 'enc:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * The key as operators write it: 64 hex characters or base64 of 32 bytes is used as is; any other
 * text is a passphrase stretched with scrypt (a fixed salt: the same passphrase must open the same
 * rows from every relay process).
 */
export function parseSecretKey(text: string): Buffer {
  const trimmed = text.trim();
  if (trimmed.length === 0) throw new Error('RELAY_SECRET_KEY is empty');
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)) {
    const raw = Buffer.from(trimmed, 'base64');
    if (raw.length === 32) return raw;
  }
  if (trimmed.length < 16) throw new Error('RELAY_SECRET_KEY is too short: use 32 random bytes (64 hex characters) or a passphrase of 16+ characters');
  return scryptSync(trimmed, 'relaylab/secret-box/v1', 32);
}

export function isSealed(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(PREFIX);
}

export class SecretBox {
  private readonly key: Buffer;

  constructor(key: Buffer | string) {
    this.key = typeof key === 'string' ? parseSecretKey(key) : key;
    if (this.key.length !== 32) throw new Error('AES-256-GCM needs a 32-byte key');
  }

  /** A box from RELAY_SECRET_KEY, or undefined when it is not set. */
  static fromEnv(env: Record<string, string | undefined> = process.env): SecretBox | undefined {
    const text = env.RELAY_SECRET_KEY;
    return text ? new SecretBox(text) : undefined;
  }

  seal(plaintext: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  }

  /** Throws when the value was sealed with another key or was altered. */
  open(sealed: string): string {
    if (!isSealed(sealed)) throw new Error('not a sealed value');
    const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64url');
    if (raw.length < IV_BYTES + TAG_BYTES) throw new Error('sealed value is truncated');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_BYTES));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new Error('cannot decrypt a sealed value: RELAY_SECRET_KEY differs from the key it was written with, or the value was altered');
    }
  }
}
