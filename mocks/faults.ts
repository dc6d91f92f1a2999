/**
 * The fault-rule engine of one upstream. Every rule whose filters match a request counts it
 * (per upstream, or per credential with `per_credential`), so rules compose into sequences:
 * `{first: 2, status: 429}` then `{nth: 3, status: 500}` gives 429, 429, 500, OK. The first rule
 * (in order) that fires and still has `times` left is applied; the rest only count.
 */
import type { FaultAction, ResolvedFaultRule } from './config.js';
import { hashString, mixSeed, seededRandom, type Random } from './random.js';

export interface RequestFacts {
  method: string;
  path: string;
  model: string | undefined;
  credential: string | undefined;
  session: string | undefined;
  stream: boolean;
  headers: Record<string, string | string[] | undefined>;
}

export interface FiredRule {
  name: string;
  action: FaultAction;
}

interface Counter {
  matched: number;
  fired: number;
  random?: Random;
}

interface CompiledRule {
  rule: ResolvedFaultRule;
  name: string;
  paths: RegExp[] | undefined;
  counters: Map<string, Counter>;
  seed: number;
}

export class FaultRules {
  private compiled: CompiledRule[] = [];
  private added = 0;

  constructor(
    private readonly upstreamSeed: number,
    rules: ResolvedFaultRule[] = [],
  ) {
    this.set(rules);
  }

  get rules(): ResolvedFaultRule[] {
    return this.compiled.map((c) => c.rule);
  }

  get size(): number {
    return this.compiled.length;
  }

  /** Whether any rule matches on the session key (computing it costs a hash per request). */
  get needsSession(): boolean {
    return this.compiled.some((c) => c.rule.match.session !== undefined);
  }

  /** Replaces all rules; their counters start from zero. */
  set(rules: ResolvedFaultRule[]): void {
    this.compiled = [];
    for (const r of rules) this.add(r);
  }

  add(rule: ResolvedFaultRule): void {
    const index = this.added++;
    this.compiled.push({
      rule,
      name: rule.name ?? `#${this.compiled.length}`,
      paths: rule.match.path?.map(globToRegExp),
      counters: new Map(),
      seed: rule.match.seed ?? mixSeed(this.upstreamSeed, index + 1),
    });
  }

  clear(): void {
    this.compiled = [];
  }

  /** Counts the request against every matching rule; returns the rule to apply, if any. */
  decide(facts: RequestFacts): FiredRule | undefined {
    let chosen: FiredRule | undefined;
    for (const c of this.compiled) {
      if (!filtersMatch(c, facts)) continue;
      const key = c.rule.per_credential ? (facts.credential ?? '') : '';
      let counter = c.counters.get(key);
      if (!counter) c.counters.set(key, (counter = { matched: 0, fired: 0 }));
      counter.matched++;
      if (!selected(c, counter, key)) continue;
      if (chosen || counter.fired >= c.rule.times) continue;
      counter.fired++;
      chosen = { name: c.name, action: c.rule.action };
    }
    return chosen;
  }
}

function filtersMatch(c: CompiledRule, f: RequestFacts): boolean {
  const m = c.rule.match;
  if (m.method !== undefined && m.method.toUpperCase() !== f.method) return false;
  if (c.paths && !c.paths.some((re) => re.test(f.path))) return false;
  if (m.model && (f.model === undefined || !m.model.includes(f.model))) return false;
  if (m.token && (f.credential === undefined || !m.token.includes(f.credential))) return false;
  if (m.session && (f.session === undefined || !m.session.includes(f.session))) return false;
  if (m.stream !== undefined && m.stream !== f.stream) return false;
  if (m.headers) {
    for (const name in m.headers) {
      const got = f.headers[name];
      const value = Array.isArray(got) ? got.join(', ') : got;
      if (value === undefined || (m.headers[name] !== '*' && m.headers[name] !== value)) return false;
    }
  }
  return true;
}

function selected(c: CompiledRule, counter: Counter, key: string): boolean {
  const m = c.rule.match;
  const n = counter.matched;
  if (m.nth !== undefined && n !== m.nth) return false;
  if (m.first !== undefined && n > m.first) return false;
  if (m.every !== undefined && n % m.every !== 0) return false;
  if (m.probability !== undefined) {
    // One generator per rule and credential: reproducible however credentials interleave.
    counter.random ??= seededRandom(key ? mixSeed(c.seed, hashString(key)) : c.seed);
    if (!(counter.random() < m.probability)) return false;
  }
  return true;
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}
