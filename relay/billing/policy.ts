/**
 * What each ending of a request costs, declared as data. The relay core reports an outcome and
 * whether the first token reached the client; the policy names the rule that applies and the
 * charge mode: nothing, only the input, or the usage as reported (or delivered, for a cut stream).
 */
import { ZERO_USAGE, type Usage } from '../../protocols/types.js';
import type { Outcome } from './types.js';

export type ChargeMode = 'zero' | 'input' | 'usage';

export type PolicyRule =
  | 'success'
  | 'upstream_error'
  | 'stream_cut'
  | 'client_abort_before_first_token'
  | 'client_abort_after_first_token'
  | 'empty';

export type EndingPolicy = Record<PolicyRule, ChargeMode>;

export const DEFAULT_POLICY: Readonly<EndingPolicy> = Object.freeze({
  success: 'usage',
  // An upstream error before any output: the client got nothing.
  upstream_error: 'zero',
  // Cut by the upstream after output began: what was delivered (or what response.incomplete reported).
  stream_cut: 'usage',
  // The client left before the first token: the upstream was aborted; at most the input.
  client_abort_before_first_token: 'input',
  client_abort_after_first_token: 'usage',
  // A 200 with no content.
  empty: 'zero',
});

export function ruleFor(outcome: Outcome, firstTokenSent: boolean): PolicyRule {
  switch (outcome) {
    case 'client_abort':
      return firstTokenSent ? 'client_abort_after_first_token' : 'client_abort_before_first_token';
    // An error after output reached the client is a cut stream, whatever the core called it.
    case 'upstream_error':
      return firstTokenSent ? 'stream_cut' : 'upstream_error';
    default:
      return outcome;
  }
}

/** The usage that is charged under a mode. `input` keeps input and cache tokens, drops output. */
export function billableUsage(mode: ChargeMode, usage: Usage | undefined, estimatedInputTokens: number): Usage {
  if (mode === 'zero') return { ...ZERO_USAGE };
  if (mode === 'usage') return usage ? stripFlags(usage) : { ...ZERO_USAGE };
  if (usage) return { ...stripFlags(usage), outputTokens: 0 };
  // No usage came back before the abort: nothing is provably owed (the upstream request was
  // aborted before it reported anything), so "at most the input" is zero here.
  void estimatedInputTokens;
  return { ...ZERO_USAGE };
}

function stripFlags(u: Usage): Usage {
  return { inputTokens: u.inputTokens, outputTokens: u.outputTokens, cacheWriteTokens: u.cacheWriteTokens, cacheReadTokens: u.cacheReadTokens };
}
