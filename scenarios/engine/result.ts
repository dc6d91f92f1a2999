/**
 * What a scenario run produced: plain JSON (written as the .json report, rendered as HTML).
 * Every secret in it is already masked.
 */
import type { RelayAttempt } from '../adapters/api.js';
import type { Capability, Level } from './schema.js';
import type { ClientResult } from './clients.js';
import type { Check } from './expect.js';

/** `skipped`: it ran, but none of its checks could be evaluated on this target (never counted as a pass). */
export type Verdict = 'pass' | 'fail' | 'error' | 'not_applicable' | 'skipped';

/** One level's verdict: `none` when the scenario has no check of that level. */
export type LevelVerdict = 'pass' | 'fail' | 'skipped' | 'none';

export interface UpstreamHit {
  seq: number;
  upstream: string;
  method: string;
  path: string;
  /** The endpoint route it came in on (endpoints sharing an upstream). */
  route?: string;
  status: number | null;
  /** Masked credential. */
  token: string;
  disconnect: 'fin' | 'rst' | null;
  clientAborted: boolean;
  durationMs: number;
}

export interface RequestView extends ClientResult {
  attempts?: RelayAttempt[];
  /** Upstream requests carrying this request's id (when the relay forwards x-request-id). */
  upstreamHits: UpstreamHit[];
}

export interface StepResult {
  index: number;
  name: string;
  action: string;
  /** skipped: the target could not play the step, or every check of it was skipped (`reason` says why). */
  status: 'pass' | 'fail' | 'error' | 'skipped';
  reason?: string;
  durationMs: number;
  checks: Check[];
  requests: RequestView[];
  /** Upstream requests made during the step. */
  upstreamHits: UpstreamHit[];
  error?: string;
}

export interface ScenarioResult {
  name: string;
  description: string;
  file: string;
  suites: string[];
  seed: number;
  adapter: string;
  target: string;
  status: Verdict;
  /** The verdict per level of conformance (steps' checks and invariants). */
  levels: Record<Level, LevelVerdict>;
  /** Why the scenario errored, is not applicable, or was skipped. */
  reason?: string;
  missingCapabilities?: Capability[];
  /** On a target without a virtual clock: what the layout's policy durations were multiplied by (engine/policy-time.ts). */
  timeScale?: number;
  /** Translations the scenario needs that the target does not declare (`anthropic -> openai`). */
  missingTranslations?: string[];
  startedAt: string;
  durationMs: number;
  steps: StepResult[];
  invariants: Check[];
  /** Per upstream: the (masked) credentials it saw and how often. */
  tokensSeen: Array<{ upstream: string; kind: string; url: string; tokens: Array<{ token: string; count: number }> }>;
}

