/**
 * The mutable state of one running upstream: accepted tokens, rules, pacing, counters, caches,
 * ChatGPT tokens and custom-pass tasks. The server reads it per request; the control API edits it.
 */
import type { Clock } from '../lib/clock.js';
import type { UpstreamKind, Usage } from '../protocols/types.js';
import { ChatgptTokens } from './chatgpt-tokens.js';
import type { ResolvedFaultRule, ResolvedUpstreamConfig } from './config.js';
import { TaskStore } from './custom-pass-tasks.js';
import { FaultRules } from './faults.js';
import { KINDS } from './kinds.js';
import type { Pacing } from './stream-writer.js';
import type { ToolCallPolicy } from './tool-calls.js';
import { CacheMemory } from './usage.js';

const MAX_TEMPLATES = 4096;
/**
 * The templates' keys hold the request body: with agents' ~100 kB bodies, 4096 of them were
 * ~500 MB before the map cleared (the mock's RSS climbed 8 MB/s under 40 req/s of them). Bounded
 * by bytes as well; a benchmark's small fixed bodies still fit thousands.
 */
const MAX_TEMPLATE_BYTES = 16 * 1024 * 1024;

export interface UpstreamSettings {
  latency: number;
  pacing: Pacing;
  outputTokens: number;
  /** Reasoning tokens at medium effort, for requests that ask for reasoning. */
  reasoningTokens: number;
  toolCalls: ToolCallPolicy;
}

export class MockUpstream {
  readonly name: string;
  readonly kind: UpstreamKind;
  readonly seed: number;
  url = '';
  port = 0;
  tokens: Set<string>;
  models: string[];
  settings: UpstreamSettings;
  readonly rules: FaultRules;
  readonly cache = new CacheMemory();
  readonly chatgpt: ChatgptTokens;
  readonly tasks: TaskStore;
  /** Generation requests served (content seed); 1-based for the next one after increment. */
  requestCount = 0;
  /** Rendered non-stream answers with marker id/timestamp (see generate.ts), bounded. */
  readonly templates = new Map<string, { text: string; usage: Usage; textTokens: readonly string[] }>();
  /** Characters held by the templates' keys, texts and text tokens. */
  private templateChars = 0;

  constructor(
    readonly config: ResolvedUpstreamConfig,
    readonly clock: Clock,
  ) {
    this.name = config.name;
    this.kind = config.kind;
    this.seed = config.seed;
    this.tokens = new Set(config.tokens);
    this.models = config.models.length > 0 ? config.models : KINDS[config.kind].defaultModels;
    this.settings = settingsOf(config);
    this.rules = new FaultRules(config.seed, config.rules);
    const c = config.chatgpt;
    this.chatgpt = new ChatgptTokens(c.jwt_secret, clock, c.access_ttl, c.refresh_tokens);
    this.tasks = new TaskStore(clock, config.custom_pass, config.seed);
  }

  /** Empty token list = any credential is accepted. */
  accepts(token: string | undefined): boolean {
    if (this.tokens.size === 0) return true;
    return token !== undefined && this.tokens.has(token);
  }

  setTokens(tokens: string[]): void {
    this.tokens = new Set(tokens);
  }

  setRules(rules: ResolvedFaultRule[]): void {
    this.rules.set(rules);
  }

  remember(key: string, template: { text: string; usage: Usage; textTokens: readonly string[] }): void {
    // The text tokens hold the text a second time.
    const chars = key.length + 2 * template.text.length;
    // Two bytes a character at worst (a body with non-Latin-1 text is a two-byte string).
    if (this.templates.size >= MAX_TEMPLATES || 2 * (this.templateChars + chars) > MAX_TEMPLATE_BYTES) this.clearTemplates();
    this.templates.set(key, template);
    this.templateChars += chars;
  }

  private clearTemplates(): void {
    this.templates.clear();
    this.templateChars = 0;
  }

  /** Back to the state at start: config rules (counters at zero), tokens, settings, request numbers, caches. */
  reset(): void {
    this.setRules(this.config.rules);
    this.setTokens(this.config.tokens);
    this.settings = settingsOf(this.config);
    this.requestCount = 0;
    this.cache.clear();
    this.clearTemplates();
  }
}

function settingsOf(config: ResolvedUpstreamConfig): UpstreamSettings {
  return { latency: config.latency, pacing: { ...config.stream }, outputTokens: config.output.tokens, reasoningTokens: config.output.reasoning_tokens, toolCalls: { ...config.tool_calls } };
}
