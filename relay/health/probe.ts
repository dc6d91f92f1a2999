/**
 * One probe: a cheap authenticated GET in the endpoint's own form. OpenAI-style and Claude
 * endpoints list models (`/v1/models`, or the endpoint's fast_test_path); a chatgpt-oauth token
 * (a JWT) calls the ChatGPT accounts check; custom-pass only its fast_test_path. A 429 is alive:
 * the credential works, the upstream is just busy.
 */
import { request, type Dispatcher } from 'undici';
import type { Clock } from '../../lib/clock.js';
import { upstreamAuthHeaders } from '../../protocols/auth.js';
import type { EndpointModel } from '../config/model.js';
import type { ProbeOutcome } from './transition.js';

export const CHATGPT_ACCOUNT_CHECK_PATH = '/backend-api/accounts/check/v4-2023-04-27';
const ANTHROPIC_VERSION = '2023-06-01';

export interface ProbeRequest {
  origin: string;
  path: string;
  headers: Record<string, string>;
}

/** The request a probe sends, or undefined when the endpoint has nothing safe to call. */
export function probeRequestFor(ep: EndpointModel): ProbeRequest | undefined {
  const headers: Record<string, string> = {
    ...upstreamAuthHeaders(ep.type, ep.token, { accountId: ep.accountId }),
    'user-agent': 'relaylab-health/1',
    accept: 'application/json',
  };
  if (ep.type === 'claude') headers['anthropic-version'] = ANTHROPIC_VERSION;
  if (ep.type === 'chatgpt-oauth') {
    // The accounts check lives at the ChatGPT origin, whatever path the Codex base URL has.
    return { origin: ep.origin, path: ep.fastTestPath ?? CHATGPT_ACCOUNT_CHECK_PATH, headers };
  }
  const path = ep.fastTestPath ?? (ep.type === 'custom-pass' ? undefined : '/v1/models');
  if (path === undefined) return undefined;
  return { origin: ep.origin, path: joinPath(ep.pathPrefix, path), headers };
}

/** base path + probe path, without a doubled /v1 (base URLs often end in /v1). */
function joinPath(prefix: string, path: string): string {
  if (prefix.endsWith('/v1') && path.startsWith('/v1/')) return prefix + path.slice(3);
  return prefix + path;
}

export function isAlive(status: number): boolean {
  return (status >= 200 && status < 300) || status === 429;
}

export interface ProbeDeps {
  dispatcher: Dispatcher;
  clock: Clock;
  timeoutMs: number;
}

export interface ProbeAnswer {
  outcome: ProbeOutcome;
  httpStatus?: number;
}

/**
 * Sends one probe. The timeout fires on whichever comes first, the relay's clock (a TestClock
 * advanced past it) or real time (a TestClock nobody advances must not hang a round forever).
 * Latency is real elapsed time to the response headers: it is a measurement, not a deadline.
 */
export async function sendProbe(req: ProbeRequest, deps: ProbeDeps): Promise<ProbeAnswer> {
  const abort = new AbortController();
  const onTimeout = () => abort.abort(new Error(`timed out after ${deps.timeoutMs}ms`));
  const clockTimer = deps.clock.setTimeout(onTimeout, deps.timeoutMs);
  const realTimer = setTimeout(onTimeout, deps.timeoutMs);
  realTimer.unref();
  const started = performance.now();
  try {
    const res = await request(req.origin + req.path, {
      method: 'GET',
      headers: req.headers,
      dispatcher: deps.dispatcher,
      signal: abort.signal,
    });
    const latencyMs = Math.round((performance.now() - started) * 10) / 10;
    await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
    if (isAlive(res.statusCode)) return { outcome: { ok: true, latencyMs }, httpStatus: res.statusCode };
    return { outcome: { ok: false, error: `HTTP ${res.statusCode}` }, httpStatus: res.statusCode };
  } catch (err) {
    const e = err as Error & { code?: string };
    const reason = abort.signal.aborted ? (abort.signal.reason as Error).message : (e.code ?? e.message);
    return { outcome: { ok: false, error: reason } };
  } finally {
    clockTimer.cancel();
    clearTimeout(realTimer);
  }
}
