/**
 * The invariants checked after EVERY scenario, whatever it did:
 *   1. no client key ever reached an upstream (in any header);
 *   2. every upstream request carried the token of the endpoint it went to (any token that
 *      endpoint has had during the scenario; JWTs the chatgpt-oauth mock minted on refresh count
 *      as that upstream's). Which endpoint: the route it came in on, where endpoints share an
 *      upstream (mocks/server.ts ROUTE_PREFIX); else the relay's record of the request, its
 *      attempts matched in order to the request's upstream calls; else any endpoint on that
 *      upstream;
 *   3. every client stream ended with its protocol's terminal event or an error event
 *      (except streams the client itself left, or gave up on at its timeout);
 *   4. every error answer (status >= 400, with a body) came in the client protocol's own error
 *      shape (Anthropic `{type: error, error}`, OpenAI `{error}`, the custom-pass envelope);
 *   5. no answer was cut short and presented as a success: every 2xx answer that is not a stream
 *      is whole JSON (streams: invariant 3).
 */
import type { JournalEntry } from '../../mocks/journal.js';
import { maskToken } from '../../lib/mask.js';
import { protocolFor } from '../../protocols/index.js';
import { WIRE_PROTOCOL, type ClientResult } from './clients.js';
import type { Check } from './expect.js';
import type { RelayAttempt } from '../adapters/api.js';

export interface InvariantInput {
  journal: JournalEntry[];
  results: ClientResult[];
  clientKeys: string[];
  /** upstream name -> every token an endpoint pointing at it has carried. */
  upstreamTokens: Map<string, Set<string>>;
  /** endpoint name -> every token it has carried. */
  endpointTokens?: Map<string, Set<string>>;
  /** The relay's attempt chain per client request id, where the target shows its records. */
  attempts?: Map<string, RelayAttempt[]>;
  /** Upstreams that mint their own credentials (chatgpt-oauth refresh). */
  mintingUpstreams: Set<string>;
}

const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** Requests that carry no endpoint token by design (OAuth token refresh sends the refresh token in the body). */
const TOKENLESS_PATHS = [/\/oauth\/token$/];

function headerValues(h: JournalEntry['headers']): string[] {
  return Object.values(h).flatMap((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]));
}

function requestIdOf(j: JournalEntry): string | undefined {
  const v = j.headers['x-request-id'];
  return Array.isArray(v) ? v[0] : v;
}

const tokenless = (j: JournalEntry) => TOKENLESS_PATHS.some((p) => p.test(j.path));

/**
 * The tokens each journal entry may carry, and how that was decided: the endpoint of its route,
 * the endpoint of the matching attempt in the relay's record, or any endpoint on its upstream.
 */
export interface Allowed {
  tokens: Set<string>;
  /** How the endpoint was told: its route, the relay's attempt record, or only the upstream. */
  way: 'route' | 'record' | 'upstream';
  by: string;
}

export function allowedTokens(i: InvariantInput): Map<JournalEntry, Allowed> {
  const out = new Map<JournalEntry, Allowed>();
  const ofEndpoints = (names: string[]) => new Set(names.flatMap((n) => [...(i.endpointTokens?.get(n) ?? [])]));
  // Attempts of one request, in order, against its upstream calls in order.
  const byRequest = new Map<string, JournalEntry[]>();
  for (const j of [...i.journal].sort((a, b) => a.seq - b.seq)) {
    const id = requestIdOf(j);
    if (!id || tokenless(j) || !i.attempts?.has(id)) continue;
    if (!byRequest.has(id)) byRequest.set(id, []);
    byRequest.get(id)!.push(j);
  }
  for (const [id, entries] of byRequest) {
    const attempts = i.attempts!.get(id)!;
    entries.forEach((j, n) => {
      const names = attempts.length === entries.length ? [attempts[n].endpoint] : attempts.map((a) => a.endpoint);
      out.set(j, { tokens: ofEndpoints(names), way: 'record', by: attempts.length === entries.length ? `attempt ${n + 1} (${names[0]})` : `the request's attempts (${names.join(', ')})` });
    });
  }
  for (const j of i.journal) {
    if (j.route !== undefined && i.endpointTokens?.has(j.route)) out.set(j, { tokens: i.endpointTokens.get(j.route)!, way: 'route', by: `route ${j.route}` });
    else if (!out.has(j)) out.set(j, { tokens: i.upstreamTokens.get(j.upstream) ?? new Set(), way: 'upstream', by: `any endpoint on ${j.upstream}` });
  }
  return out;
}

/** `endpoint by route 3, by record 4, by upstream 2`: how each upstream call's endpoint was told. */
function tally(ways: Allowed['way'][]): string {
  const counts = new Map<string, number>();
  for (const w of ways) counts.set(w, (counts.get(w) ?? 0) + 1);
  return `endpoint ${[...counts].map(([w, n]) => `by ${w} ${n}`).join(', ') || 'none'}`;
}

/** An error answer the client could read, not in its protocol's error shape (HEAD has no body; a client that left read none). */
export function misshapenError(r: ClientResult): boolean {
  if (r.status < 400 || r.method === 'HEAD' || r.aborted || r.transportError) return false;
  return protocolFor(WIRE_PROTOCOL[r.protocol]).errorFromBody(r.body) === undefined;
}

/** A 2xx answer whose body is not whole JSON (a body cut short, passed on as a success). */
export function brokenSuccess(r: ClientResult): boolean {
  if (r.status < 200 || r.status >= 300 || r.status === 204 || r.streamEnd !== 'n/a' || r.method === 'HEAD' || r.aborted || r.transportError) return false;
  return r.rawBody !== undefined || r.body === undefined;
}

export function checkInvariants(i: InvariantInput): Check[] {
  const keys = i.clientKeys.filter((k) => k.length >= 8);
  const leaked = i.journal.filter((j) => headerValues(j.headers).some((v) => keys.some((k) => v.includes(k))) || (j.credential !== null && keys.includes(j.credential)));
  const allowed = allowedTokens(i);
  const wrongToken = i.journal.filter((j) => {
    if (tokenless(j)) return false;
    if (j.credential === null) return true;
    if (allowed.get(j)?.tokens.has(j.credential)) return false;
    return !(i.mintingUpstreams.has(j.upstream) && JWT.test(j.credential));
  });
  // A stream the client gave up on (its timeout) never ended either way: a matter of bounded time (resilience), checked by its step.
  const streams = i.results.filter((r) => r.streamEnd !== 'n/a' && !r.aborted && !r.transportError?.startsWith('client timeout'));
  const unended = streams.filter((r) => r.streamEnd !== 'terminal' && r.streamEnd !== 'error');
  const misshapen = i.results.filter(misshapenError);
  const broken = i.results.filter(brokenSuccess);
  const errors = i.results.filter((r) => r.status >= 400 && r.method !== 'HEAD');
  const describe = (j: JournalEntry) => `#${j.seq} ${j.upstream}${j.route !== undefined ? ` (route ${j.route})` : ''} ${j.method} ${j.path} credential=${maskToken(j.credential) || '(none)'}`;
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
      expected: 'the token of the endpoint each request went to (by its route, else the relay\u2019s attempt record, else its upstream)',
      actual: wrongToken.length
        ? wrongToken.slice(0, 5).map((j) => `${describe(j)}, expected a token of ${allowed.get(j)?.by ?? j.upstream}`)
        : `${i.journal.length} requests ok (${tally([...allowed.values()].map((a) => a.way))})`,
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
    {
      name: "invariant: every error answer came in its protocol's error shape",
      level: 'protocol',
      pass: misshapen.length === 0,
      expected: 'the client protocol\u2019s error body',
      actual: misshapen.length
        ? misshapen.slice(0, 5).map((r) => `request ${r.index + 1} ${r.protocol} ${r.path}: ${r.status} ${r.rawBody?.slice(0, 120) ?? JSON.stringify(r.body ?? null).slice(0, 120)}`)
        : `${errors.length} error answers ok`,
    },
    {
      name: 'invariant: no answer cut short was passed on as a success',
      level: 'protocol',
      pass: broken.length === 0,
      expected: 'every 2xx body whole JSON',
      actual: broken.length ? broken.slice(0, 5).map((r) => `request ${r.index + 1} ${r.path}: ${r.status} ${r.rawBody?.slice(0, 120) ?? '(empty body)'}`) : 'none',
    },
  ];
}
