/**
 * Who may use the admin listener: a request presents a bearer token (or x-api-key) and it must
 * equal one of the accepted secrets, compared in constant time so the answer's timing does not
 * reveal how much of a guess was right.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { readClientCredential } from '../../protocols/auth.js';

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** True when the request presents one of `accepted` (undefined entries never match). */
export function presentsSecret(headers: IncomingHttpHeaders, accepted: ReadonlyArray<string | undefined>): boolean {
  const presented = readClientCredential(headers);
  if (!presented) return false;
  let ok = false;
  // Every candidate is compared, so the time does not tell which one matched.
  for (const secret of accepted) if (secret && sameSecret(presented, secret)) ok = true;
  return ok;
}
