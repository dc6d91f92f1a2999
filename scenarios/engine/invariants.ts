/**
 * The invariants checked after EVERY scenario, whatever it did:
 *   1. no client key ever reached an upstream (in any header);
 *   2. every upstream request carried the token of an endpoint that points at that upstream
 *      (any token that endpoint has had during the scenario; JWTs the chatgpt-oauth mock minted
 *      on refresh count as that upstream's);
 *   3. every client stream ended with its protocol's terminal event or an error event
 *      (except streams the client itself left).
 */
import type { JournalEntry } from '../../mocks/journal.js';
import { maskToken } from '../../lib/mask.js';
import type { ClientResult } from './clients.js';
import type { Check } from './expect.js';

export interface InvariantInput {
  journal: JournalEntry[];
  results: ClientResult[];
  clientKeys: string[];
  /** upstream name -> every token an endpoint pointing at it has carried. */
  upstreamTokens: Map<string, Set<string>>;
  /** Upstreams that mint their own credentials (chatgpt-oauth refresh). */
  mintingUpstreams: Set<string>;
}

const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** Requests that carry no endpoint token by design (OAuth token refresh sends the refresh token in the body). */
const TOKENLESS_PATHS = [/\/oauth\/token$/];

function headerValues(h: JournalEntry['headers']): string[] {
  return Object.values(h).flatMap((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]));
}

export function checkInvariants(i: InvariantInput): Check[] {
  const keys = i.clientKeys.filter((k) => k.length >= 8);
  const leaked = i.journal.filter((j) => headerValues(j.headers).some((v) => keys.some((k) => v.includes(k))) || (j.credential !== null && keys.includes(j.credential)));
  const wrongToken = i.journal.filter((j) => {
    if (TOKENLESS_PATHS.some((p) => p.test(j.path))) return false;
    if (j.credential === null) return true;
    if (i.upstreamTokens.get(j.upstream)?.has(j.credential)) return false;
    return !(i.mintingUpstreams.has(j.upstream) && JWT.test(j.credential));
  });
  const streams = i.results.filter((r) => r.streamEnd !== 'n/a' && !r.aborted);
  const unended = streams.filter((r) => r.streamEnd !== 'terminal' && r.streamEnd !== 'error');
  const describe = (j: JournalEntry) => `#${j.seq} ${j.upstream} ${j.method} ${j.path} credential=${maskToken(j.credential) || '(none)'}`;
  return [
    {
      name: 'invariant: no client key reached an upstream',
      level: 'protocol',
      pass: leaked.length === 0,
      expected: 0,
      actual: leaked.length ? leaked.slice(0, 5).map(describe) : 0,
    },
    {
      name: "invariant: every upstream request carried its endpoint's token",
      level: 'protocol',
      pass: wrongToken.length === 0,
      expected: 'a token configured for an endpoint on that upstream',
      actual: wrongToken.length ? wrongToken.slice(0, 5).map(describe) : `${i.journal.length} requests ok`,
    },
    {
      name: 'invariant: every client stream ended with a terminal or an error event',
      level: 'protocol',
      pass: unended.length === 0,
      expected: 'terminal | error',
      actual: unended.length
        ? unended.slice(0, 5).map((r) => `request ${r.index + 1} ${r.path}: ${r.streamEnd}${r.transportError ? ` (${r.transportError})` : ''}`)
        : `${streams.length} streams ok`,
    },
  ];
}
