/**
 * A benchmark file (`bench/<name>.yaml`): the mock upstreams it needs, whether the reference
 * relay runs, and its phases. A phase is one load shape (closed, open fixed-rate or streaming)
 * sent to several targets (`bare` = the bare node:http server, `direct` = the upstream itself,
 * `proxy` = the bare undici proxy in front of that upstream, the ceiling for a relay, `twin` = a
 * second process of that same proxy, `relay` = every relay under test); the first target of a
 * phase is its baseline, the others are reported relative to it, and relays and the twin also
 * relative to the proxy when the phase has one. The twin is the ceiling measured against itself:
 * what its ratios read is how far two identical proxies drift apart in the same run, the
 * resolution of every ratio check beside it.
 * List-valued `request`, `connections` and `rate` expand into one phase per combination.
 */
import { z } from 'zod';
import { durationSchema as duration } from '../lib/schema.js';
import { loadYamlConfig } from '../lib/yaml-config.js';
import { upstreamConfigSchema } from '../mocks/config.js';
import type { RequestName } from './requests.js';


const name = z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'use lower-case letters, digits and . _ - only');
const requestName = z.enum(['chat', 'chat-stream', 'messages', 'messages-stream', 'agent']);
const listOf = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]) as z.output<T>[]);
export const TARGET_KINDS = ['bare', 'direct', 'proxy', 'twin', 'relay'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

/** Mock upstreams are validated by the mocks' own schema but kept as written for the child. */
const upstream = z
  .looseObject({ name: z.string(), kind: z.string() })
  .superRefine((value, ctx) => {
    const r = upstreamConfigSchema.safeParse(value);
    if (!r.success) for (const issue of r.error.issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  });

const faultSet = z.object({ upstream: z.string(), rules: z.array(z.record(z.string(), z.unknown())) }).strict();

export const phaseSchema = z
  .object({
    name,
    load: z.enum(['closed', 'open', 'stream']),
    request: listOf(requestName),
    targets: z.array(z.enum(TARGET_KINDS)).min(1).default(['direct', 'relay']),
    /** closed: concurrent connections. */
    connections: listOf(z.number().int().positive()).optional(),
    /** open: requests per second. */
    rate: listOf(z.number().positive()).optional(),
    /** open: socket limit (a request waiting for a socket is still on the clock). */
    max_connections: z.number().int().positive().default(256),
    /** stream: concurrent streams, started over `ramp`. */
    streams: z.number().int().positive().optional(),
    ramp: duration.default(1000),
    /** stream: silence after which a stream counts as stalled. */
    stall: duration.default(5000),
    /** stream: the programmed inter-chunk delay, for the schedule check. */
    expected_gap: duration.optional(),
    max_tokens: z.number().int().positive().optional(),
    /** Fault rules set on mock upstreams (control API) for this phase, cleared after it. */
    faults: z.array(faultSet).default([]),
    duration: duration.optional(),
    warmup: duration.optional(),
    /**
     * open: run every target at the same time, each at the full rate, instead of one after the
     * other. Added latency is a difference of two percentiles (target minus direct); measured
     * seconds apart on a shared machine, the drift between the two windows is larger than what a
     * relay adds at p99. Measured together, what the machine does to one it does to all.
     */
    side_by_side: z.boolean().default(false),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.load === 'closed' && !p.connections) ctx.addIssue({ code: 'custom', path: ['connections'], message: 'a closed-model phase needs connections' });
    if (p.load === 'open' && !p.rate) ctx.addIssue({ code: 'custom', path: ['rate'], message: 'an open-model phase needs rate' });
    if (p.side_by_side && p.load !== 'open') ctx.addIssue({ code: 'custom', path: ['side_by_side'], message: 'only open-model phases run their targets side by side (closed ones would split the CPU, streams the event budget)' });
    if (p.load === 'stream' && !p.streams) ctx.addIssue({ code: 'custom', path: ['streams'], message: 'a stream phase needs streams' });
    const streaming = p.request.map((r) => r.endsWith('-stream'));
    if (p.load === 'stream' && streaming.includes(false)) ctx.addIssue({ code: 'custom', path: ['request'], message: 'a stream phase sends *-stream requests' });
    if (p.load !== 'stream' && streaming.includes(true)) ctx.addIssue({ code: 'custom', path: ['request'], message: 'closed/open phases send non-stream requests (use load: stream)' });
    // The agent mix speaks two protocols to two upstreams, each request its own body: only a relay routes it, only the open model varies it.
    if (p.request.includes('agent') && (p.load !== 'open' || p.targets.some((t) => t !== 'relay'))) {
      ctx.addIssue({ code: 'custom', path: ['request'], message: 'agent requests go to relay targets only, under load: open' });
    }
  });

export const checkSchema = z
  .object({
    /** Metric name, `<phase>/<target>/<metric>`; `relay` stands for every relay target. */
    metric: z.string().min(3),
    op: z.enum(['<', '<=', '>', '>=']),
    value: z.number(),
    label: z.string().optional(),
  })
  .strict();

export const benchConfigSchema = z
  .object({
    name,
    description: z.string().default(''),
    rounds: z.number().int().positive().default(3),
    duration: duration.default(3000),
    warmup: duration.default(1000),
    upstreams: z.array(upstream).min(1),
    /** Start the reference relay (unless --target names other relays). */
    relay: z.boolean().default(true),
    /**
     * How the reference relay runs: `shipped` as `pnpm relay` starts it (access log at info,
     * request records in a data dir, metrics), `quiet` the same with the log at warn. One relay
     * process per entry, columns `relay` and `relay-quiet`.
     */
    relay_variants: z.array(z.enum(['shipped', 'quiet'])).min(1).default(['shipped']),
    /**
     * What answers the relay, the proxy and `direct`: the mock upstreams, or the bare node:http
     * server standing in for every one of them (cheaper than a mock, and no relaylab code, so a
     * relay's cost is not hidden behind a slow upstream).
     */
    upstream: z.enum(['mock', 'bare']).default('mock'),
    /** Extra reference relay settings merged over the generated config (snake_case, as relay YAML). */
    relay_config: z.record(z.string(), z.unknown()).default({}),
    /** Per-metric minimum effect (%) for bench:compare, e.g. { "overhead-rate/relay/p99_ms": 10 }. */
    thresholds: z.record(z.string(), z.number().nonnegative()).default({}),
    phases: z.array(phaseSchema).min(1),
    checks: z.array(checkSchema).default([]),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const names = new Set<string>();
    cfg.phases.forEach((p, i) => {
      if (names.has(p.name)) ctx.addIssue({ code: 'custom', path: ['phases', i, 'name'], message: `duplicate phase "${p.name}"` });
      names.add(p.name);
      const ups = new Set(cfg.upstreams.map((u) => u.name));
      p.faults.forEach((f, j) => {
        if (!ups.has(f.upstream)) ctx.addIssue({ code: 'custom', path: ['phases', i, 'faults', j, 'upstream'], message: `no upstream "${f.upstream}"` });
      });
    });
  });

export type BenchConfig = z.output<typeof benchConfigSchema>;
export type PhaseConfig = z.output<typeof phaseSchema>;

export function loadBenchConfig(path: string): BenchConfig {
  return loadYamlConfig(path, benchConfigSchema);
}

/** One concrete phase after list expansion. */
export interface PhaseInstance {
  /** e.g. `sweep-chat-c50`. */
  id: string;
  phase: PhaseConfig;
  load: PhaseConfig['load'];
  request: RequestName;
  connections?: number;
  rate?: number;
}

export function expandPhases(phases: readonly PhaseConfig[]): PhaseInstance[] {
  const out: PhaseInstance[] = [];
  for (const phase of phases) {
    const conns = phase.connections ?? [undefined];
    const rates = phase.rate ?? [undefined];
    for (const request of phase.request) {
      for (const connections of conns) {
        for (const rate of rates) {
          let id = phase.name;
          if (phase.request.length > 1) id += `-${request}`;
          if (conns.length > 1) id += `-c${connections}`;
          if (rates.length > 1) id += `-r${rate}`;
          out.push({ id, phase, load: phase.load, request, connections, rate });
        }
      }
    }
  }
  return out;
}
