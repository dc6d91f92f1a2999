/**
 * What a scenario run produced: plain JSON (written as the .json report, rendered as HTML).
 * Every secret in it is already masked.
 */
import type { RelayAttempt } from '../adapters/api.js';
import type { Capability } from './schema.js';
import type { ClientResult } from './clients.js';
import type { Check } from './expect.js';

export type Verdict = 'pass' | 'fail' | 'error' | 'not_applicable';

export interface UpstreamHit {
  seq: number;
  upstream: string;
  method: string;
  path: string;
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
  status: 'pass' | 'fail' | 'error';
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
  /** Why the scenario errored or is not applicable. */
  reason?: string;
  missingCapabilities?: Capability[];
  startedAt: string;
  durationMs: number;
  steps: StepResult[];
  invariants: Check[];
  /** Per upstream: the (masked) credentials it saw and how often. */
  tokensSeen: Array<{ upstream: string; kind: string; url: string; tokens: Array<{ token: string; count: number }> }>;
}

