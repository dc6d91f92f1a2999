/**
 * Expectations as pure functions: what a step observed (client results, the upstream journal of
 * the step, the relay's records and state) in, a list of named checks out. Each check carries
 * the expected and the actual value so a report can show them side by side.
 */
import type { JournalEntry } from '../../mocks/journal.js';
import type { ClientResult } from './clients.js';
import { LEVELS, RECORD_EXPECTATIONS, type Count, type Expectation, type Level, type LevelExpectation } from './schema.js';
import type { RelayAttempt, RelayRecord, RelayStateView, RelayStatsView } from '../adapters/api.js';

export interface Check {
  name: string;
  pass: boolean;
  /** protocol | resilience | reference (schema.ts LEVELS); set on every check the engine reports. */
  level?: Level;
  /** Not evaluated (pass is then meaningless): `reason` says why (the target cannot show it, cannot play the step). */
  skipped?: boolean;
  reason?: string;
  expected?: unknown;
  actual?: unknown;
}

export interface StepObservation {
  results: ClientResult[];
  /** Upstream requests made during the step, in arrival order. */
  journal: JournalEntry[];
  /** The relay's log entry for each result (same index), when the relay has records. */
  records: Array<RelayRecord | undefined>;
  state?: RelayStateView;
  stats?: RelayStatsView;
  health?: unknown;
  /** Endpoint name -> mock upstream name and the tokens it has carried. */
  endpoints: Map<string, { upstream: string; tokens: Set<string> }>;
  /** What the target cannot show: its request records, its endpoint state. */
  blind?: { records: boolean; state: boolean };
}

export function countMatches(count: Count, actual: number): boolean {
  if (typeof count === 'number') return actual === count;
  const m = /^(>=|<=|>|<|=)?\s*(\d+)$/.exec(count.trim());
  if (!m) return false;
  const n = Number(m[2]);
  switch (m[1]) {
    case '>=':
      return actual >= n;
    case '<=':
      return actual <= n;
    case '>':
      return actual > n;
    case '<':
      return actual < n;
    default:
      return actual === n;
  }
}

/** `503` matches 503; a class `5xx` matches any 5xx. */
export function statusMatches(want: number | string, status: number): boolean {
  return typeof want === 'number' ? status === want : Math.floor(status / 100) === Number(want[0]);
}

function tally<T>(items: T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[key(i)] = (out[key(i)] ?? 0) + 1;
  return out;
}

/** `A:429`, `B:200`, or `A:timeout` when no status came back. */
export function attemptLabel(a: RelayAttempt): string {
  return `${a.endpoint}:${a.status ?? a.errorClass ?? '?'}`;
}

/** `A:429` matches `A:429`; `A:*`, `A:5xx` and `A:timeout` (error class) also match. */
export function attemptMatches(pattern: string, a: RelayAttempt): boolean {
  const at = pattern.lastIndexOf(':');
  const ep = at < 0 ? pattern : pattern.slice(0, at);
  const what = at < 0 ? '*' : pattern.slice(at + 1);
  if (ep !== '*' && ep !== a.endpoint) return false;
  if (what === '*') return true;
  if (/^\dxx$/.test(what)) return a.status !== undefined && Math.floor(a.status / 100) === Number(what[0]);
  if (/^\d+$/.test(what)) return a.status === Number(what);
  return a.errorClass === what;
}

export function chainMatches(expected: string[], attempts: RelayAttempt[]): boolean {
  return expected.length === attempts.length && expected.every((p, i) => attemptMatches(p, attempts[i]));
}

function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[/^\d+$/.test(part) ? Number(part) : part];
  }
  return cur;
}

/** `a.b|c.d`: the first of the alternative paths that is present. */
function bodyValue(body: unknown, paths: string): unknown {
  for (const p of paths.split('|')) {
    const v = getPath(body, p.trim());
    if (v !== undefined) return v;
  }
  return undefined;
}

/** `{ contains: x }` holds for a string with x, an array with an element that is or holds x, an object whose JSON holds x; anything else is compared as JSON. */
export function valueMatches(want: unknown, got: unknown): boolean {
  if (want && typeof want === 'object' && !Array.isArray(want) && Object.keys(want).length === 1 && typeof (want as { contains?: unknown }).contains === 'string') {
    const x = (want as { contains: string }).contains;
    if (typeof got === 'string') return got.includes(x);
    if (Array.isArray(got)) return got.some((g) => g === x || valueMatches(want, g));
    return got !== undefined && got !== null && typeof got === 'object' && JSON.stringify(got).includes(x);
  }
  return got !== undefined && JSON.stringify(got) === JSON.stringify(want);
}

/**
 * The client read what the upstream generated: each 2xx answer paired, in order, with the step's
 * upstream answers (journal entries with a generated text); through a translating relay too.
 */
function sameAsUpstream(what: Array<'text' | 'usage'>, results: ClientResult[], journal: JournalEntry[]): Check[] {
  const answered = results.filter((r) => r.status >= 200 && r.status < 300);
  const generated = journal.filter((j) => typeof j.text === 'string' && j.status !== null && j.status < 300);
  if (answered.length === 0 || answered.length !== generated.length) {
    return [{ name: 'same as upstream', pass: false, expected: `each of ${answered.length} answer(s) paired with one upstream answer`, actual: `${generated.length} upstream answer(s) in the journal` }];
  }
  const checks: Check[] = [];
  const one = answered.length === 1;
  answered.forEach((r, i) => {
    const j = generated[i];
    const suffix = one ? '' : ` (request ${r.index + 1})`;
    if (what.includes('text')) checks.push({ name: `text as upstream${suffix}`, pass: r.text === j.text, expected: j.text, actual: r.text });
    if (what.includes('usage')) {
      const want = { input_tokens: j.usage?.inputTokens, output_tokens: j.usage?.outputTokens };
      const got = { input_tokens: r.usage?.inputTokens, output_tokens: r.usage?.outputTokens };
      checks.push({ name: `usage as upstream${suffix}`, pass: j.usage !== null && got.input_tokens === want.input_tokens && got.output_tokens === want.output_tokens, expected: want, actual: r.usage ? got : '(no usage)' });
    }
  });
  return checks;
}

/** Journal entries that belong to an endpoint (its upstream, one of its tokens) or an upstream. */
function entriesFor(name: string, obs: StepObservation): JournalEntry[] {
  const ep = obs.endpoints.get(name);
  if (ep && !obs.journal.some((j) => j.upstream === name)) {
    // An endpoint with a route of its own is told by the route, else by its tokens.
    return obs.journal.filter((j) => j.upstream === ep.upstream && (j.route !== undefined ? j.route === name : j.credential !== null && ep.tokens.has(j.credential)));
  }
  return obs.journal.filter((j) => j.upstream === name);
}

/** Reads a phase / status word from a state field that may be a string or an object. */
function word(v: unknown, ...keys: string[]): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'object') for (const k of keys) if (typeof (v as Record<string, unknown>)[k] === 'string') return (v as Record<string, string>)[k];
  return undefined;
}

function lastEndpoint(r: RelayRecord | undefined): string | undefined {
  return r?.attempts.length ? r.attempts[r.attempts.length - 1].endpoint : undefined;
}

/** Normalises a health round answer into endpoint -> result word. */
export function healthResults(health: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  // Accept a bare list, { results: [...] }, or { results: { results: [...] } } (a round object).
  let list: unknown = health;
  for (let i = 0; i < 3 && list && !Array.isArray(list) && typeof list === 'object'; i++) list = (list as { results?: unknown }).results;
  if (!Array.isArray(list)) list = [];
  for (const item of list as Array<Record<string, unknown>>) {
    const name = String(item.endpoint ?? item.name ?? '');
    const result =
      typeof item.result === 'string' ? item.result : typeof item.status === 'string' ? item.status : item.ok === true ? 'ok' : item.ok === false ? 'failed' : 'unknown';
    if (name) out[name] = result;
  }
  return out;
}

/** The expectations of one block, split by the level their checks belong to. */
export function expectationsByLevel(expect: Expectation | undefined, level: Level): Array<{ level: Level; expect: LevelExpectation }> {
  if (!expect) return [];
  const { protocol, resilience, reference, ...direct } = expect;
  const records: Record<string, unknown> = {};
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(direct)) if (v !== undefined) ((RECORD_EXPECTATIONS as readonly string[]).includes(k) ? records : rest)[k] = v;
  const blocks = { protocol, resilience, reference };
  return [
    { level, expect: rest as LevelExpectation },
    { level: 'reference' as Level, expect: records as LevelExpectation },
    ...LEVELS.filter((l) => blocks[l]).map((l) => ({ level: l, expect: blocks[l]! })),
  ].filter((b) => Object.keys(b.expect).length > 0);
}

/** Every check of a step's expectations, each labelled with its level (`level`: the scenario's default). */
export function evaluate(expect: Expectation | undefined, obs: StepObservation, level: Level = 'protocol'): Check[] {
  return expectationsByLevel(expect, level).flatMap((b) => evaluateLevel(b.expect, obs, b.level).map((c) => ({ ...c, level: b.level })));
}

/** Marks checks as not evaluated, with the reason (a step the target cannot play). */
export function skipChecks(checks: Check[], reason: string): Check[] {
  return checks.map((c) => ({ name: c.name, level: c.level, pass: true, skipped: true, reason, expected: c.expected, actual: '(not run)' }));
}

function evaluateLevel(expect: LevelExpectation, obs: StepObservation, level: Level = 'protocol'): Check[] {
  const checks: Check[] = [];
  const R = obs.results;
  const add = (name: string, pass: boolean, expected: unknown, actual: unknown) => checks.push({ name, pass, expected, actual });

  if (expect.status !== undefined) {
    const want = Array.isArray(expect.status) ? expect.status : [expect.status];
    add('status', R.length > 0 && R.every((r) => want.some((w) => statusMatches(w, r.status))), want.join(' | '), tally(R, (r) => String(r.status)));
  }
  if (expect.statuses) {
    const got = tally(R, (r) => String(r.status));
    for (const [status, count] of Object.entries(expect.statuses)) add(`statuses.${status}`, countMatches(count, got[status] ?? 0), count, got[status] ?? 0);
  }
  if (expect.error !== undefined) {
    const want = expect.error === true ? {} : expect.error;
    // At protocol level the check is the error's shape: whether there is an error at all is the
    // status check's (protocol) or the relay's policy (a relay without billing answers 200 where
    // the reference relay refuses), so an answer that is no error is not judged here.
    const isError = (r: (typeof R)[number]) => r.status >= 400 || r.status === 0 || r.streamError !== undefined;
    const judged = level === 'protocol' ? R.filter(isError) : R;
    if (level === 'protocol' && R.length > 0 && judged.length === 0) {
      checks.push({ name: 'error shape', pass: true, skipped: true, reason: 'no error answer to judge the shape of (whether there is one is the status check\u2019s, or the relay\u2019s policy)', expected: want.type ? `error.type = ${want.type}` : "the protocol's error shape", actual: tally(R, (r) => String(r.status)) });
    }
    const bad = judged.filter(
      (r) =>
        !r.error ||
        (want.type !== undefined && r.error.type !== want.type) ||
        (want.message_contains !== undefined && !(r.error.message ?? '').includes(want.message_contains)),
    );
    if (judged.length > 0 || R.length === 0) add('error shape', bad.length === 0 && R.length > 0, want.type ? `error.type = ${want.type}` : "the protocol's error shape", bad.length ? (bad[0].error ?? bad[0].body ?? bad[0].rawBody ?? null) : R[0]?.error);
  }
  if (expect.text !== undefined) {
    const t = expect.text;
    const ok = (s: string) =>
      t === 'non_empty' ? s.length > 0 : t === 'empty' ? s.length === 0 : 'equals' in t ? s === t.equals : s.includes(t.contains);
    const bad = R.find((r) => !ok(r.text));
    add('text', R.length > 0 && !bad, t, bad ? bad.text : R[0]?.text);
  }
  if (expect.stream_error !== undefined) {
    const want = expect.stream_error;
    const bad = R.filter(
      (r) =>
        !r.streamError ||
        (want.type !== undefined && r.streamError.type !== want.type) ||
        (want.message_contains !== undefined && !r.streamError.message.includes(want.message_contains)),
    );
    add('stream error event', R.length > 0 && bad.length === 0, want, bad.length ? (bad[0].streamError ?? `no error event (${bad[0].streamEnd})`) : R[0]?.streamError);
  }
  if (expect.stream_end !== undefined) {
    const want = expect.stream_end;
    const ok = (e: string) => (want === 'terminal_or_error' ? e === 'terminal' || e === 'error' : e === want);
    add('stream_end', R.length > 0 && R.every((r) => ok(r.streamEnd)), want, tally(R, (r) => r.streamEnd + (r.streamError ? ` (${r.streamError.type})` : '')));
  }
  if (expect.well_formed !== undefined) {
    const want = expect.well_formed;
    const streams = R.filter((r) => r.streamEnd !== 'n/a');
    const bad = streams.filter((r) => (r.illFormedEvents ?? 0) > 0);
    add('well_formed', streams.length > 0 && (bad.length === 0) === want, want, bad.length === 0 ? true : bad.flatMap((r) => r.illFormed ?? []));
  }
  if (expect.usage) {
    const u = expect.usage;
    const fields: Array<[keyof typeof u, 'inputTokens' | 'outputTokens' | 'cacheWriteTokens' | 'cacheReadTokens']> = [
      ['input_tokens', 'inputTokens'],
      ['output_tokens', 'outputTokens'],
      ['cache_write_tokens', 'cacheWriteTokens'],
      ['cache_read_tokens', 'cacheReadTokens'],
    ];
    if (u.present !== undefined) add('usage.present', R.every((r) => (r.usage !== undefined) === u.present), u.present, R.map((r) => r.usage !== undefined));
    for (const [k, field] of fields) {
      const want = u[k];
      if (want === undefined || typeof want === 'boolean') continue;
      const actual = R.map((r) => r.usage?.[field]);
      add(`usage.${k}`, R.length > 0 && actual.every((v) => v !== undefined && countMatches(want, v)), want, actual.length === 1 ? actual[0] : actual);
    }
  }
  if (expect.stop_reason !== undefined) {
    const got = R.map((r) => r.stopReason ?? '(none)');
    add('stop_reason', R.length > 0 && got.every((g) => g === expect.stop_reason), expect.stop_reason, got.length === 1 ? got[0] : tally(got, (g) => g));
  }
  if (expect.tool_calls) {
    const want = expect.tool_calls;
    const got = R.map((r) => (r.toolCalls ?? []).map((c) => (c.input === undefined ? `${c.name} (input not a JSON object)` : c.name)));
    const pass = R.length > 0 && got.every((g) => JSON.stringify(g) === JSON.stringify(want));
    add('tool_calls', pass, want, got.length === 1 ? got[0] : got);
  }
  if (expect.content_blocks) {
    const want = expect.content_blocks;
    const got = R.map((r) => r.blockTypes ?? `(no content blocks in ${r.protocol})`);
    add('content_blocks', R.length > 0 && got.every((g) => JSON.stringify(g) === JSON.stringify(want)), want, got.length === 1 ? got[0] : got);
  }
  if (expect.event_order !== undefined) {
    const streams = R.filter((r) => r.streamEnd !== 'n/a');
    const unjudged = streams.filter((r) => r.orderProblems === undefined);
    const bad = streams.filter((r) => (r.orderProblems?.length ?? 0) > 0);
    const actual = unjudged.length ? `no order rules for ${unjudged[0].protocol} (or the client left)` : bad.length === 0 ? true : bad.flatMap((r) => r.orderProblems!);
    add('event_order', streams.length > 0 && unjudged.length === 0 && (bad.length === 0) === expect.event_order, expect.event_order, actual);
  }
  if (expect.same_as_upstream) checks.push(...sameAsUpstream(expect.same_as_upstream, R, obs.journal));
  if (expect.headers) {
    for (const [name, value] of Object.entries(expect.headers)) {
      const got = R.map((r) => r.headers[name.toLowerCase()]);
      add(`header ${name}`, R.length > 0 && got.every((g) => g !== undefined && (value === '*' || g === value || g.startsWith(`${value};`))), value, got.length === 1 ? got[0] : got);
    }
  }
  if (expect.max_duration !== undefined) {
    const worst = Math.max(0, ...R.map((r) => r.durationMs));
    add('max_duration', worst <= expect.max_duration, `<= ${expect.max_duration}ms`, `${Math.round(worst)}ms`);
  }
  if (expect.min_duration !== undefined) {
    const least = Math.min(...R.map((r) => r.durationMs));
    add('min_duration', least >= expect.min_duration, `>= ${expect.min_duration}ms`, `${Math.round(least)}ms`);
  }
  if (expect.body) {
    for (const [path, value] of Object.entries(expect.body)) {
      const got = R.map((r) => getPath(r.body, path));
      add(`body.${path}`, R.length > 0 && got.every((g) => JSON.stringify(g) === JSON.stringify(value)), value, got.length === 1 ? got[0] : got);
    }
  }

  if (expect.body_has) {
    for (const path of expect.body_has) {
      const got = R.map((r) => getPath(r.body, path));
      add(`body has ${path}`, R.length > 0 && got.every((g) => g !== undefined && g !== null), 'present', got.length === 1 ? (got[0] ?? null) : got);
    }
  }

  // upstream side
  if (expect.upstreams) {
    for (const [name, count] of Object.entries(expect.upstreams)) {
      const n = entriesFor(name, obs).length;
      add(`upstream ${name} requests`, countMatches(count, n), count, n);
    }
  }
  if (expect.only_token) {
    for (const [name, token] of Object.entries(expect.only_token)) {
      const entries = entriesFor(name, obs).length ? entriesFor(name, obs) : obs.journal.filter((j) => j.upstream === name);
      // About the credential, not the routing: an upstream no request reached holds (`upstreams` says whether it must be reached).
      const seen = tally(entries, (j) => j.credential ?? '(none)');
      add(`upstream ${name} saw only ${token}`, entries.every((j) => j.credential === token), { [token]: entries.length }, entries.length ? seen : '(no request reached it)');
    }
  }
  if (expect.token_unused !== undefined) {
    for (const token of Array.isArray(expect.token_unused) ? expect.token_unused : [expect.token_unused]) {
      const n = obs.journal.filter((j) => j.credential === token).length;
      add(`token ${token} unused`, n === 0, 0, n);
    }
  }
  if (expect.order) {
    const seq: string[] = [];
    for (const j of obs.journal) if (seq[seq.length - 1] !== j.upstream) seq.push(j.upstream);
    add('upstream order', JSON.stringify(seq) === JSON.stringify(expect.order), expect.order, seq);
  }
  if (expect.continued) {
    // Each named upstream's answer (the entry that carried text), in order.
    const parts = expect.continued.map((name) => entriesFor(name, obs).filter((j) => typeof j.text === 'string').at(-1));
    const texts = parts.map((j) => j?.text ?? '');
    let before = '';
    const prefills = parts.map((j, k) => {
      const asked = j?.prefill ?? null;
      // Anthropic refuses a prefill ending in whitespace: the relay may leave trailing whitespace out.
      const ok = k === 0 ? asked === null : asked === before || asked === before.trimEnd();
      before += texts[k];
      return ok;
    });
    add(
      'continued: prefills',
      parts.every((j) => j !== undefined) && prefills.every(Boolean),
      expect.continued.map((n, k) => (k === 0 ? `${n}: no prefill` : `${n}: prefill = the text before it`)),
      parts.map((j, k) => (j ? `${expect.continued![k]}: prefill ${JSON.stringify(j.prefill ?? null)}` : `${expect.continued![k]}: no answer`)),
    );
    const joined = texts.join('');
    const bad = R.find((r) => r.text !== joined);
    add('continued: text', R.length > 0 && joined.length > 0 && !bad, joined, bad ? bad.text : R[0]?.text);
  }
  if (expect.upstream_statuses) {
    const got = tally(obs.journal, (j) => String(j.status));
    for (const [status, count] of Object.entries(expect.upstream_statuses)) add(`upstream status ${status}`, countMatches(count, got[status] ?? 0), count, got[status] ?? 0);
  }
  if (expect.upstream_paths) {
    const got = tally(obs.journal, (j) => j.path);
    for (const [path, count] of Object.entries(expect.upstream_paths)) add(`upstream path ${path}`, countMatches(count, got[path] ?? 0), count, got[path] ?? 0);
  }
  if (expect.upstream_headers) {
    for (const [name, value] of Object.entries(expect.upstream_headers)) {
      const got = obs.journal.map((j) => j.headers[name.toLowerCase()]).map((v) => (Array.isArray(v) ? v.join(', ') : v));
      add(`upstream header ${name}`, got.length > 0 && got.every((g) => g !== undefined && (value === '*' || g === value)), value, [...new Set(got.map((g) => g ?? '(missing)'))]);
    }
  }
  if (expect.upstream_query) {
    for (const [name, value] of Object.entries(expect.upstream_query)) {
      const got = obs.journal.map((j) => j.query[name]).map((v) => (Array.isArray(v) ? v.join(',') : v));
      add(`upstream query ${name}`, got.length > 0 && got.every((g) => g === value), value, [...new Set(got.map((g) => g ?? '(missing)'))]);
    }
  }
  if (expect.upstream_body) {
    for (const [path, want] of Object.entries(expect.upstream_body)) {
      const got = obs.journal.map((j) => bodyValue(j.body, path));
      const pass = got.length > 0 && got.every((g) => valueMatches(want, g));
      add(`upstream body ${path}`, pass, want, got.length === 1 ? (got[0] ?? '(missing)') : got.map((g) => g ?? '(missing)'));
    }
  }
  if (expect.upstream_disconnects !== undefined) {
    const n = obs.journal.filter((j) => j.clientAborted).length;
    add('upstream requests abandoned by the relay', countMatches(expect.upstream_disconnects, n), expect.upstream_disconnects, n);
  }

  // relay records
  const skip = (name: string, expected: unknown) =>
    checks.push({ name, pass: true, skipped: true, reason: 'the target does not show its records or state', expected, actual: '(not visible on this target)' });
  if (obs.blind?.records) {
    if (expect.attempts) skip('attempts', expect.attempts);
    if (expect.served_by !== undefined) skip('served_by', expect.served_by);
    if (expect.same_endpoint !== undefined) skip('same endpoint for every request', expect.same_endpoint);
  }
  if (obs.blind?.state && expect.state) skip('state', expect.state);
  if (obs.blind?.state && expect.stats) skip('stats', expect.stats);
  if (expect.stats && !obs.blind?.state) {
    for (const [name, fields] of Object.entries(expect.stats)) {
      const ep = obs.stats?.endpoints?.[name];
      for (const [field, count] of Object.entries(fields)) {
        const v = ep ? getPath(ep, field) : undefined;
        const n = typeof v === 'number' ? v : ep ? 0 : undefined;
        add(`stats ${name}.${field}`, n !== undefined && countMatches(count, n), count, n ?? '(endpoint not in stats)');
      }
    }
  }
  if (expect.attempts && !obs.blind?.records) {
    const chains = (Array.isArray(expect.attempts[0]) ? expect.attempts : R.map(() => expect.attempts)) as string[][];
    R.forEach((r, i) => {
      const want = chains[Math.min(i, chains.length - 1)];
      const rec = obs.records[i];
      const got = rec ? rec.attempts.map(attemptLabel) : null;
      add(R.length > 1 ? `attempts of request ${i + 1}` : 'attempts', !!rec && chainMatches(want, rec.attempts), want, got ?? '(no relay record)');
    });
  }
  if (expect.served_by !== undefined && !obs.blind?.records) {
    const allowed = Array.isArray(expect.served_by) ? expect.served_by : [expect.served_by];
    const got = obs.records.map(lastEndpoint);
    add('served_by', got.length > 0 && got.every((e) => e !== undefined && allowed.includes(e)), allowed, tally(got, (e) => e ?? '(no record)'));
  }
  if (expect.same_endpoint !== undefined && !obs.blind?.records) {
    const got = new Set(obs.records.map(lastEndpoint));
    add('same endpoint for every request', (got.size === 1 && !got.has(undefined)) === expect.same_endpoint, expect.same_endpoint, [...got].map((e) => e ?? '(no record)'));
  }
  if (expect.state && !obs.blind?.state) {
    for (const [name, want] of Object.entries(expect.state)) {
      const view = obs.state?.endpoints.find((e) => e.name === name);
      const actual = view
        ? {
            health: word(view.health, 'status'),
            breaker: word(view.breaker, 'phase', 'state'),
            cooldown: !!(view.cooldown && (typeof view.cooldown !== 'object' || Object.keys(view.cooldown).length > 0)),
            paused: view.paused,
            disabled: view.disabled,
          }
        : undefined;
      const pass = !!actual && Object.entries(want).every(([k, v]) => v === undefined || actual[k as keyof typeof actual] === v);
      add(`state of ${name}`, pass, want, actual ? Object.fromEntries(Object.keys(want).map((k) => [k, actual[k as keyof typeof actual]])) : '(endpoint not in state)');
    }
  }
  if (expect.health) {
    const got = healthResults(obs.health);
    for (const [name, want] of Object.entries(expect.health)) add(`health ${name}`, got[name] === want, want, got[name] ?? '(not probed)');
  }
  return checks;
}
