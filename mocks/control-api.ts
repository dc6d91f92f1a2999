/**
 * The control API, served under `/__mock/` on every upstream's port (any port controls the whole
 * fleet). Inputs are validated with the same zod schemas as the YAML file; a bad rule is a 400
 * naming the field. Tokens are masked in listings; the journal is verbatim (it is the evidence).
 *
 *   GET    /__mock/upstreams                      fleet listing (tokens masked)
 *   GET    /__mock/journal?upstream&token&path&status&since&after&limit
 *   GET    /__mock/journal/export                 the journal as a JSON download
 *   DELETE /__mock/journal                        reset
 *   GET|PUT|POST|DELETE /__mock/upstreams/:name/rules   get / set (array) / add (one) / clear
 *   DELETE /__mock/rules                          clear every upstream's rules
 *   PUT    /__mock/upstreams/:name/tokens         { tokens: [...] }
 *   PATCH  /__mock/upstreams/:name/settings       { latency, stream: {ttft, chunk_delay, tokens_per_second}, output: {tokens}, tool_calls: {probability, name?} }
 *   POST   /__mock/upstreams/:name/jwt            { accountId, expiresInSec } -> tokens (chatgpt-oauth)
 *   GET    /__mock/stats                          stream scheduler: active streams, lateness p50/p99/max (ms)
 *   DELETE /__mock/stats                          reset those figures
 *   POST   /__mock/reset                          journal emptied; every upstream back to its config (rules,
 *                                                 counters, tokens, settings, request numbers, caches)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { maskToken } from '../lib/mask.js';
import { ConfigError, validateConfig } from '../lib/yaml-config.js';
import { durationSchema, faultRuleSchema, type ResolvedFaultRule } from './config.js';
import type { Journal, JournalFilter } from './journal.js';
import type { ScheduleStats } from './stats.js';
import type { MockUpstream } from './upstream.js';

export interface ControlState {
  journal: Journal;
  upstreams: Map<string, MockUpstream>;
  stats: ScheduleStats;
}

const rulesBody = z.array(faultRuleSchema);
const tokensBody = z.object({ tokens: z.array(z.string().min(1)) }).strict();
const jwtBody = z
  .object({ accountId: z.string().min(1), expiresInSec: z.number().default(3600), refreshToken: z.string().min(1).optional() })
  .strict();
const settingsBody = z
  .object({
    latency: durationSchema.optional(),
    stream: z
      .object({ ttft: durationSchema.optional(), chunk_delay: durationSchema.optional(), tokens_per_second: z.number().positive().nullable().optional() })
      .strict()
      .optional(),
    output: z.object({ tokens: z.number().int().min(0).optional(), reasoning_tokens: z.number().int().min(0).optional() }).strict().optional(),
    tool_calls: z.object({ probability: z.number().min(0).max(1), name: z.string().min(1).optional() }).strict().optional(),
  })
  .strict();

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly issues?: unknown,
  ) {
    super(message);
  }
}

export function createControlHandler(state: ControlState) {
  return (req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams, raw: Buffer): void => {
    const method = req.method ?? 'GET';
    const fail = (err: unknown) => {
      if (err instanceof HttpError) send(res, err.status, { error: { message: err.message, issues: err.issues } });
      else if (err instanceof ConfigError) send(res, 400, { error: { message: err.message, issues: err.issues } });
      else send(res, 500, { error: { message: (err as Error)?.message ?? String(err) } });
    };
    const done = (result: unknown) => {
      if (result === undefined) {
        res.writeHead(204).end();
      } else if (result instanceof Download) {
        const text = JSON.stringify(result.body, null, 2);
        res.writeHead(200, { 'content-type': 'application/json', 'content-disposition': `attachment; filename="${result.name}"` }).end(text);
      } else {
        send(res, 200, result);
      }
    };
    try {
      const result = route(state, method, path.slice('/__mock'.length), query, raw);
      if (result instanceof Promise) result.then(done, fail);
      else done(result);
    } catch (err) {
      fail(err);
    }
  };
}

class Download {
  constructor(
    readonly name: string,
    readonly body: unknown,
  ) {}
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function parseJson(raw: Buffer): unknown {
  if (raw.length === 0) throw new HttpError(400, 'request body required (JSON)');
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new HttpError(400, `malformed JSON: ${(err as Error).message}`);
  }
}

function upstreamOf(state: ControlState, name: string): MockUpstream {
  const up = state.upstreams.get(decodeURIComponent(name));
  if (!up) throw new HttpError(404, `no upstream named "${name}" (have: ${[...state.upstreams.keys()].join(', ')})`);
  return up;
}

/** Rules as JSON: `times: Infinity` is written back as 'always' so a rule list round-trips. */
export function rulesJson(rules: ResolvedFaultRule[]): unknown[] {
  return rules.map((r) => ({ ...r, times: Number.isFinite(r.times) ? r.times : 'always' }));
}

function journalFilter(q: URLSearchParams): JournalFilter {
  const num = (k: string) => {
    const v = q.get(k);
    if (v === null) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new HttpError(400, `query ${k}: expected a number, got "${v}"`);
    return n;
  };
  return {
    upstream: q.get('upstream') ?? undefined,
    token: q.get('token') ?? undefined,
    path: q.get('path') ?? undefined,
    status: num('status'),
    since: num('since'),
    afterSeq: num('after'),
    limit: num('limit'),
  };
}

function route(state: ControlState, method: string, path: string, q: URLSearchParams, raw: Buffer): unknown {
  const parts = path.split('/').filter(Boolean);
  const key = `${method} /${parts.map((p, i) => (parts[0] === 'upstreams' && i === 1 ? ':name' : p)).join('/')}`;
  switch (key) {
    case 'GET /health':
      return { ok: true };
    case 'GET /stats':
      return state.stats.snapshot();
    case 'DELETE /stats':
      state.stats.reset();
      return undefined;
    case 'GET /upstreams':
      return [...state.upstreams.values()].map((u) => ({
        name: u.name,
        kind: u.kind,
        url: u.url,
        port: u.port,
        tokens: [...u.tokens].map(maskToken),
        models: u.models,
        rules: u.rules.size,
      }));
    case 'GET /journal':
      return state.journal.list(journalFilter(q));
    case 'DELETE /journal':
    case 'POST /journal/reset':
      state.journal.reset();
      return undefined;
    case 'GET /journal/export':
      return new Download('mock-journal.json', { exportedAt: new Date().toISOString(), entries: state.journal.list(journalFilter(q)) });
    case 'DELETE /rules':
      for (const u of state.upstreams.values()) u.rules.clear();
      return undefined;
    case 'POST /reset':
      state.journal.reset();
      for (const u of state.upstreams.values()) u.reset();
      return undefined;
    case 'GET /upstreams/:name/rules':
      return rulesJson(upstreamOf(state, parts[1]).rules.rules);
    case 'PUT /upstreams/:name/rules': {
      const up = upstreamOf(state, parts[1]);
      up.setRules(validateConfig(parseJson(raw), rulesBody, 'rules'));
      return rulesJson(up.rules.rules);
    }
    case 'POST /upstreams/:name/rules': {
      const up = upstreamOf(state, parts[1]);
      up.rules.add(validateConfig(parseJson(raw), faultRuleSchema, 'rule'));
      return rulesJson(up.rules.rules);
    }
    case 'DELETE /upstreams/:name/rules':
      upstreamOf(state, parts[1]).rules.clear();
      return undefined;
    case 'PUT /upstreams/:name/tokens': {
      const up = upstreamOf(state, parts[1]);
      up.setTokens(validateConfig(parseJson(raw), tokensBody, 'tokens').tokens);
      return { tokens: [...up.tokens].map(maskToken) };
    }
    case 'PATCH /upstreams/:name/settings': {
      const up = upstreamOf(state, parts[1]);
      const patch = validateConfig(parseJson(raw), settingsBody, 'settings');
      const s = up.settings;
      if (patch.latency !== undefined) s.latency = patch.latency;
      if (patch.output?.tokens !== undefined) s.outputTokens = patch.output.tokens;
      if (patch.output?.reasoning_tokens !== undefined) s.reasoningTokens = patch.output.reasoning_tokens;
      if (patch.tool_calls) s.toolCalls = { ...patch.tool_calls };
      if (patch.stream) {
        const p = { ...s.pacing };
        if (patch.stream.ttft !== undefined) p.ttft = patch.stream.ttft;
        if (patch.stream.chunk_delay !== undefined) p.chunkDelay = patch.stream.chunk_delay;
        if (patch.stream.tokens_per_second !== undefined) p.tokensPerSecond = patch.stream.tokens_per_second ?? undefined;
        s.pacing = p;
      }
      return { latency: s.latency, stream: s.pacing, output: { tokens: s.outputTokens, reasoning_tokens: s.reasoningTokens }, tool_calls: s.toolCalls };
    }
    case 'POST /upstreams/:name/jwt': {
      const up = upstreamOf(state, parts[1]);
      const body = validateConfig(parseJson(raw), jwtBody, 'jwt');
      return up.chatgpt.issue(body.accountId, body.expiresInSec, body.refreshToken);
    }
    default:
      throw new HttpError(404, `unknown control route ${method} /__mock${path}`);
  }
}
