/**
 * What the relay does after a failed upstream attempt, as data. The attempt loop looks an
 * outcome up here and applies the row; nothing else in the relay decides retry or cooldown.
 *
 *   action    failover      = try the next candidate;
 *             larger_window = try only a candidate whose context window is larger than the one
 *                             that refused (never the same request to the same window again);
 *             return        = give the upstream's answer to the client unchanged.
 *   retrySame before moving, the same endpoint once more (`retry.same_endpoint_*`): after the
 *             upstream's Retry-After when it sent one no longer than the cap (`retryAfter:
 *             'required'`: only then), else after a bounded backoff; only while the request has
 *             attempts and time left to fail over afterwards.
 *   cooldown  which configured duration cools which scope (`retry_after` = the upstream's
 *             retry-after, capped by cooldowns.retry_after_cap, else cooldowns.rate_limited).
 *   breaker   whether the outcome counts as a failure for the endpoint's circuit breaker.
 *   auth      counts toward disabling the credential (token-scope cooldown after N in a row).
 */
import type { CooldownScope } from '../state/types.js';
import type { ParsedRelayConfig } from '../config/schema.js';

export type CooldownSetting = 'rate_limited' | 'overloaded' | 'server_error' | 'network' | 'timeout' | 'channel_all_failed';

export interface ErrorRule {
  /** Name of the class in logs and the attempt trail. */
  class: string;
  action: 'failover' | 'larger_window' | 'return';
  /**
   * One more try on the same endpoint before `action` (an isolated 5xx, a 429 asking for a short
   * wait). `isolated`: only when the endpoint had no failure in a row before this one (a single
   * 5xx is a blip worth a retry; the next one in a row is an outage, failed over at once).
   */
  retrySame?: { retryAfter: 'required' | 'honoured'; isolated?: boolean };
  cooldown?: { scope: CooldownScope; duration: CooldownSetting | 'retry_after' };
  breaker: boolean;
  auth?: boolean;
  /**
   * Counts toward cooling the endpoint's whole channel: when every endpoint of a channel failed
   * this way inside one request, the `channel_all_failed` row applies to the channel. Real
   * failures only: 429 and 529 are capacity signals that cool just the endpoint that sent them.
   */
  channel?: boolean;
}

/** Outcomes that are not an HTTP status. */
export type TransportOutcome = 'connect_error' | 'timeout' | 'stream_error' | 'stream_overloaded' | 'stream_truncated' | 'stream_cut_before_first_event';
/** 4xx answers whose error body says more than the status (see `refineOutcome`). */
export type BodyOutcome = 'context_length_exceeded' | 'content_policy';
/** Upstream 401/403 that do not concern the credential itself (`authOutcome`). */
export type AuthScopeOutcome = 'auth_scope' | 'auth_model';
/** A continuation's 400 that refuses the assistant prefill (relay/proxy/continuation.ts). */
export type ContinuationOutcome = 'prefill_rejected';
export type Outcome = TransportOutcome | BodyOutcome | AuthScopeOutcome | ContinuationOutcome | number;

const serverError = (status: number): ErrorRule => ({
  class: `http_${status}`,
  action: 'failover',
  retrySame: { retryAfter: 'honoured', isolated: true },
  cooldown: { scope: 'endpoint', duration: 'server_error' },
  breaker: true,
  channel: true,
});
const clientError = (status: number): ErrorRule => ({ class: `http_${status}`, action: 'return', breaker: false });
const authError = (status: number): ErrorRule => ({ class: `auth_${status}`, action: 'failover', breaker: false, auth: true });

export const ERROR_TABLE: Readonly<Record<string, ErrorRule>> = Object.freeze({
  connect_error: { class: 'connect_error', action: 'failover', cooldown: { scope: 'endpoint', duration: 'network' }, breaker: true, channel: true },
  timeout: { class: 'timeout', action: 'failover', cooldown: { scope: 'endpoint', duration: 'timeout' }, breaker: true, channel: true },
  // An in-stream error event (overloaded_error, response.failed) before the commit point.
  stream_error: { class: 'stream_error', action: 'failover', cooldown: { scope: 'endpoint', duration: 'overloaded' }, breaker: true, channel: true },
  // Anthropic's in-stream overloaded_error is a 529 that arrived after the 200: treated like one,
  // or a burst of them would open every breaker and leave nothing to route to.
  stream_overloaded: { class: 'stream_overloaded', action: 'failover', cooldown: { scope: 'endpoint', duration: 'overloaded' }, breaker: false },
  // A 200 whose stream ended or died before the model finished (a finished stream without its
  // sentinel is repaired and a success), or before the answer began (retried then).
  stream_truncated: { class: 'stream_truncated', action: 'failover', cooldown: { scope: 'endpoint', duration: 'network' }, breaker: true, channel: true },
  // A stream request whose connection died (FIN or RST) after it was sent and before the commit
  // point (its first event, or the start events held before the first content): the upstream
  // accepted the call, so not a connect error, and nothing reached the client.
  stream_cut_before_first_event: {
    class: 'stream_cut_before_first_event',
    action: 'failover',
    cooldown: { scope: 'endpoint', duration: 'network' },
    breaker: true,
    channel: true,
  },
  '429': {
    class: 'rate_limited',
    action: 'failover',
    // A short Retry-After on the endpoint that holds the session's prompt cache is worth waiting out.
    retrySame: { retryAfter: 'required' },
    cooldown: { scope: 'endpoint', duration: 'retry_after' },
    breaker: false,
  },
  // The request is longer than this endpoint's window: another endpoint with the same window
  // would refuse it too, and this one certainly will again. Not the endpoint's fault.
  context_length_exceeded: { class: 'context_length_exceeded', action: 'larger_window', breaker: false },
  // A refusal on content grounds: the answer is about the request, not the endpoint. Never
  // retried, never moved (shopping a refused request around is not the relay's call).
  content_policy: { class: 'content_policy', action: 'return', breaker: false },
  '500': serverError(500),
  '502': serverError(502),
  '503': serverError(503),
  '504': serverError(504),
  // Brief and endpoint-only, and not a breaker failure: a burst of 529s must not leave nothing to route to.
  '529': { class: 'overloaded', action: 'failover', cooldown: { scope: 'endpoint', duration: 'overloaded' }, breaker: false },
  '401': authError(401),
  '403': authError(403),
  // The credential is fine but a header the endpoint sets does not match it (an organization or
  // project mismatch): the endpoint's configuration is wrong, not its token. Cooled like a server
  // error so requests stop walking into it; never counted against the credential.
  auth_scope: { class: 'auth_scope', action: 'failover', cooldown: { scope: 'endpoint', duration: 'server_error' }, breaker: false },
  // The credential may not use this one model: another endpoint may; the endpoint stays usable for the rest.
  auth_model: { class: 'auth_model', action: 'failover', breaker: false },
  '400': clientError(400),
  // A continuation sent to a model that takes no assistant prefill: nothing is wrong with the
  // endpoint (it serves every other request), and the client never sees this answer (the
  // original failure stays theirs). The next endpoint that takes a prefill may continue.
  prefill_rejected: { class: 'prefill_rejected', action: 'failover', breaker: false },
  // Not an attempt's outcome but a request's: every endpoint of one channel failed with an
  // outcome marked `channel`. The channel as a whole cools, so the next requests go straight to
  // another channel instead of walking dead endpoints again. Never the last channel standing
  // (the attempt loop checks): cooling it would only turn failing requests into refused ones.
  channel_all_failed: { class: 'channel_all_failed', action: 'failover', cooldown: { scope: 'channel', duration: 'channel_all_failed' }, breaker: false },
  '404': clientError(404),
  '413': clientError(413),
  '422': clientError(422),
});

/** The row for an outcome; statuses without a row fall back by class (other 5xx fail over, other 4xx return). */
export function ruleFor(outcome: Outcome): ErrorRule {
  const row = ERROR_TABLE[String(outcome)];
  if (row) return row;
  if (typeof outcome === 'number' && outcome >= 500) return serverError(outcome);
  if (typeof outcome === 'number') return clientError(outcome);
  return ERROR_TABLE.connect_error;
}

/**
 * The outcome of an error answer, refined by its body: a 400 (or 413, 422) that says the
 * request exceeds the context window, or that it was refused on content grounds, has a row of
 * its own, and so does a 401/403 that does not concern the credential (`authOutcome`). `error`
 * is what the protocol read from the body (protocols' errorFromBody).
 */
export function refineOutcome(status: number, error: { type?: string; code?: string | null; message?: string } | undefined): Outcome {
  if (!error || status < 400 || status >= 500 || status === 429) return status;
  if (status === 401 || status === 403) return authOutcome(status, error);
  const code = error.code ?? '';
  const message = error.message ?? '';
  if (code === 'context_length_exceeded' || code === 'string_above_max_length' || CONTEXT_MESSAGE.test(message)) return 'context_length_exceeded';
  if (CONTENT_POLICY_CODES.has(code) || CONTENT_POLICY_MESSAGE.test(message)) return 'content_policy';
  return status;
}

/** OpenAI "maximum context length", Anthropic "prompt is too long", "context window" elsewhere. */
const CONTEXT_MESSAGE = /maximum context length|prompt is too long|context[ _-]window|context length exceeded|exceeds the context/i;
/** OpenAI content_policy_violation / invalid_prompt (flagged), Azure content_filter. */
const CONTENT_POLICY_CODES = new Set(['content_policy_violation', 'content_filter', 'invalid_prompt', 'responsible_ai_policy_violation']);
const CONTENT_POLICY_MESSAGE = /usage polic|content polic|content management policy|safety system/i;

/**
 * How long to wait before retrying the same endpoint, or undefined when the rule does not allow
 * it here: the upstream's Retry-After (retry-after-ms first) when no longer than `maxWait`, else
 * `backoff` doubled per earlier retry, capped by `maxWait`. A longer Retry-After means move on.
 */
export function sameEndpointWait(
  rule: ErrorRule,
  retryAfterMs: number | undefined,
  retriesSoFar: number,
  settings: { retries: number; maxWait: number; backoff: number },
): number | undefined {
  if (!rule.retrySame || retriesSoFar >= settings.retries) return undefined;
  if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs)) return retryAfterMs <= settings.maxWait ? Math.max(0, retryAfterMs) : undefined;
  if (rule.retrySame.retryAfter === 'required') return undefined;
  return Math.min(settings.maxWait, settings.backoff * 2 ** retriesSoFar);
}

/**
 * What an upstream 401/403 is about, from its body: only a problem of the credential itself
 * (invalid, revoked, expired) stays 401/403 and counts toward disabling it.
 *   auth_scope  OpenAI `mismatched_organization`, a project mismatch ("OpenAI-Organization /
 *               OpenAI-Project header should match ... for API key");
 *   auth_model  a 403 for one model (OpenAI `model_not_found` "does not have access to model").
 */
export function authOutcome(status: 401 | 403, error: { type?: string; code?: string | null; message?: string }): Outcome {
  const code = error.code ?? '';
  const message = error.message ?? '';
  if (code === 'mismatched_organization' || code === 'mismatched_project' || /OpenAI-(Organization|Project) header should match/i.test(message)) return 'auth_scope';
  if (status === 403 && (code === 'model_not_found' || /(access to|permission to use|not allowed to (use|sample from)) (the )?model/i.test(message))) return 'auth_model';
  return status;
}

/** Whether an attempt's rule counts toward cooling its whole channel. */
export function countsTowardChannel(rule: ErrorRule): boolean {
  return rule.action !== 'return' && rule.channel === true;
}

/** Milliseconds of cooldown a rule sets, or 0 for none. */
export function cooldownMs(
  rule: ErrorRule,
  cooldowns: ParsedRelayConfig['cooldowns'],
  retryAfterMs: number | undefined,
): number {
  if (!rule.cooldown) return 0;
  if (rule.cooldown.duration === 'retry_after') {
    if (retryAfterMs === undefined || !Number.isFinite(retryAfterMs) || retryAfterMs < 0) return cooldowns.rate_limited;
    return Math.min(retryAfterMs, cooldowns.retry_after_cap);
  }
  return cooldowns[rule.cooldown.duration];
}

/** retry-after-ms wins over retry-after (seconds or an HTTP date). */
export function parseRetryAfter(headers: Record<string, string | string[] | undefined>, now: number): number | undefined {
  const ms = first(headers['retry-after-ms']);
  if (ms !== undefined && ms.trim() !== '' && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const ra = first(headers['retry-after']);
  if (ra === undefined || ra.trim() === '') return undefined;
  if (Number.isFinite(Number(ra))) return Math.max(0, Number(ra) * 1000);
  const date = Date.parse(ra);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
