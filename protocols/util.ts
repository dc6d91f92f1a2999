/**
 * Small shared helpers for the protocol modules: body inspection that never throws, header
 * lookup, stable hashing for session keys. Kept free of protocol knowledge.
 */
import { hash } from 'node:crypto';
import type { ErrorReply, SessionKey } from './types.js';

export type Json = Record<string, unknown>;
export type Headers = Record<string, string | string[] | undefined>;

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** A finite, non-negative number or undefined (usage fields may be null in some events). */
export function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Header value by lowercase name; Node lowercases incoming names, but callers may not. */
export function header(headers: Headers | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  let v = headers[name];
  if (v === undefined) {
    for (const k of Object.keys(headers)) {
      if (k.toLowerCase() === name) {
        v = headers[k];
        break;
      }
    }
  }
  if (Array.isArray(v)) v = v[0];
  return v === undefined || v === '' ? undefined : v;
}

/** Short stable digest: session keys derived from content must not leak the content itself. */
export function digest(text: string): string {
  // One-shot crypto.hash: the same digest as createHash().update().digest() without a Hash object per call.
  return hash('sha256', text, 'hex').slice(0, 32);
}

export function hashedKey(source: string, text: string | undefined): SessionKey | undefined {
  if (text === undefined || text === '') return undefined;
  return { source, value: digest(text), derived: true };
}

/** Ensures a generated id carries the protocol's prefix (msg_, chatcmpl-, resp_ ...). */
export function prefixed(prefix: string, id: string): string {
  return id.startsWith(prefix) ? id : prefix + id;
}

/** Replaces `model` in a shallow copy; non-objects come back unchanged. */
export function replaceModel(body: unknown, model: string): unknown {
  return isObject(body) ? { ...body, model } : body;
}

export function jsonReply(status: number, body: unknown, headers: Record<string, string> = {}): ErrorReply {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body };
}

/** Parses JSON without throwing; undefined marks malformed data. */
export function tryParse(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}

/** Text of a content value in any of the common shapes: string, [{text}], [{type:'text',text}]. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let out = '';
  for (const part of content) {
    if (typeof part === 'string') out += part;
    else if (isObject(part) && typeof part.text === 'string') out += part.text;
  }
  return out;
}
