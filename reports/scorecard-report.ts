/**
 * The cross-relay scorecard: one self-contained page with a matrix of scenario × relay. Each cell
 * says whether the scenario ran and, when checks failed, at which level: a `protocol` failure
 * (every relay must), a `resilience` failure (a relay that claims failover should), or only a
 * `reference` difference (the reference relay's own policy: durations, counts, attempt chains).
 * Every failing cell links to its evidence below: the step, the check, expected and actual, what
 * the client got and what each upstream received (the mocks' journal, tokens masked).
 */
import type { Check } from '../scenarios/engine/expect.js';
import type { ScenarioResult, StepResult } from '../scenarios/engine/result.js';
import { LEVELS, type Level } from '../scenarios/engine/schema.js';
import { badge, details, el, page, pre, table, tiles, type Content, type Raw, type Verdict } from './html.js';

export interface ScorecardTarget {
  /** Column name: reference, portkey, ccr ... */
  name: string;
  /** What it is: "reference relay (in process)", "@portkey-ai/gateway 1.15.2" ... */
  description: string;
  url: string;
  adapter: string;
  durationMs: number;
  /** Set when the relay could not be started or its adapter not loaded: the column is empty. */
  error?: string;
  results: ScenarioResult[];
}

export interface Scorecard {
  title: string;
  startedAt: string;
  durationMs: number;
  machine: string;
  targets: ScorecardTarget[];
}

/** A check's level (the engine labels every check; one without a label is a protocol check, its default). */
export function levelOf(c: Check): Level {
  return c.level ?? 'protocol';
}

export type CellKind = 'pass' | 'protocol' | 'resilience' | 'reference' | 'skipped' | 'error' | 'missing';

export interface Cell {
  kind: CellKind;
  /** Checks that ran (not skipped) and of those, failed, per level. */
  ran: Record<Level, number>;
  failed: Record<Level, number>;
  skipped: number;
  reason?: string;
}

const zero = (): Record<Level, number> => ({ protocol: 0, resilience: 0, reference: 0 });

function allChecks(r: ScenarioResult): Check[] {
  return [...r.steps.flatMap((s) => s.checks), ...r.invariants];
}

/** What one scenario on one relay comes to. */
export function cellOf(r: ScenarioResult | undefined): Cell {
  const cell: Cell = { kind: 'pass', ran: zero(), failed: zero(), skipped: 0 };
  if (!r) return { ...cell, kind: 'missing' };
  for (const c of allChecks(r)) {
    if (c.skipped) {
      cell.skipped++;
      continue;
    }
    cell.ran[levelOf(c)]++;
    if (!c.pass) cell.failed[levelOf(c)]++;
  }
  const ran = LEVELS.reduce((n, l) => n + cell.ran[l], 0);
  if (r.status === 'error') return { ...cell, kind: 'error', reason: r.reason };
  if (r.status === 'not_applicable' || r.status === 'skipped' || ran === 0) return { ...cell, kind: 'skipped', reason: r.reason ?? 'every check was skipped' };
  const worst = LEVELS.find((l) => cell.failed[l] > 0);
  // A failed step with no failed check (it could not be played) is the relay's, not a policy difference.
  if (!worst && r.status === 'fail') return { ...cell, kind: 'protocol' };
  return { ...cell, kind: worst ?? 'pass' };
}

const CELL_LABEL: Record<CellKind, string> = {
  pass: 'PASS',
  protocol: 'PROTOCOL',
  resilience: 'RESILIENCE',
  reference: 'POLICY',
  skipped: 'SKIPPED',
  error: 'COULD NOT RUN',
  missing: '–',
};

const CELL_TITLE: Record<CellKind, string> = {
  pass: 'every check that ran held',
  protocol: 'a protocol check failed: every relay must pass it',
  resilience: 'a resilience check failed: a relay that claims failover should pass it',
  reference: 'only the reference relay\u2019s own policy differs (durations, counts, attempt chains)',
  skipped: 'nothing this relay can play or show: the scenario was skipped whole',
  error: 'the scenario could not run',
  missing: 'not run',
};

export interface TargetSummary {
  name: string;
  scenarios: number;
  /** Scenarios that ran at least one check. */
  ranChecks: number;
  byKind: Record<CellKind, number>;
  checksRan: number;
  checksPassed: number;
}

export function summarize(t: ScorecardTarget): TargetSummary {
  const byKind: Record<CellKind, number> = { pass: 0, protocol: 0, resilience: 0, reference: 0, skipped: 0, error: 0, missing: 0 };
  let checksRan = 0;
  let checksPassed = 0;
  for (const r of t.results) {
    const cell = cellOf(r);
    byKind[cell.kind]++;
    for (const c of allChecks(r)) {
      if (c.skipped) continue;
      checksRan++;
      if (c.pass) checksPassed++;
    }
  }
  const ranChecks = t.results.length - byKind.skipped - byKind.error;
  return { name: t.name, scenarios: t.results.length, ranChecks, byKind, checksRan, checksPassed };
}

function pct(n: number, of: number): string {
  return of ? `${Math.round((100 * n) / of)}%` : '–';
}

const SHORT: Record<Level, string> = { protocol: 'prot', resilience: 'res', reference: 'ref' };

function anchor(scenario: string, target: string): string {
  return `f-${scenario}-${target}`.replace(/[^a-zA-Z0-9_-]/g, '_');
}

function cellContent(cell: Cell, scenario: string, target: string): Raw {
  // A scenario skipped whole ran at most its invariants over nothing: no counts to show.
  const counts = ['skipped', 'missing'].includes(cell.kind) ? '' : LEVELS.filter((l) => cell.ran[l] > 0)
    .map((l) => `${SHORT[l]} ${cell.ran[l] - cell.failed[l]}/${cell.ran[l]}`)
    .join(' · ');
  const label = el('span', { class: `cell-label ${cell.kind}` }, CELL_LABEL[cell.kind]);
  const hasDetail = cell.kind !== 'pass' && cell.kind !== 'missing';
  return el(
    'div',
    { class: `cell ${cell.kind}`, title: `${CELL_TITLE[cell.kind]}${cell.reason ? `: ${cell.reason}` : ''}` },
    hasDetail ? el('a', { href: `#${anchor(scenario, target)}` }, label) : label,
    counts ? el('div', { class: 'counts' }, counts) : '',
    cell.skipped && cell.kind !== 'skipped' ? el('div', { class: 'counts' }, `${cell.skipped} skipped`) : '',
    // Why a scenario was skipped whole is what a reader asks first: say it in the cell.
    cell.kind === 'skipped' && cell.reason ? el('div', { class: 'why' }, shortReason(cell.reason)) : '',
  );
}

/** A skip reason short enough for a cell ("target lacks: sticky" -> "lacks sticky"); the whole one is in the title. */
export function shortReason(reason: string): string {
  const lacks = /^target lacks: (.*)$/.exec(reason);
  if (lacks) return `not applicable: lacks ${lacks[1]}`;
  const text = reason.replace(/^every check was skipped: /, '');
  return text.length > 90 ? `${text.slice(0, 89)}\u2026` : text;
}

/** Real time the relay's column spent waiting out `advance` steps (a relay without a virtual clock). */
export function realTimeWaitMs(t: ScorecardTarget): number {
  return t.results.flatMap((r) => r.steps).filter((st) => st.action.startsWith('wait ') && st.action.includes('in real time')).reduce((sum, st) => sum + st.durationMs, 0);
}

function show(v: unknown): string {
  if (typeof v === 'string') return v;
  return JSON.stringify(v, null, 2) ?? String(v);
}

function evidence(step: StepResult | undefined): Content {
  if (!step) return '';
  const clients = step.requests.map((r) => [
    String(r.index + 1),
    `${r.method} ${r.path}`,
    r.status === 0 ? (r.transportError ?? 'no answer') : String(r.status),
    r.streamEnd === 'n/a' ? '' : r.streamEnd,
    r.error?.type ?? r.streamError?.type ?? '',
    `${Math.round(r.durationMs)} ms`,
  ]);
  const hits = step.upstreamHits.map((h) => [String(h.seq), h.upstream, `${h.method} ${h.path}`, h.status === null ? 'no answer' : String(h.status), el('code', {}, h.token), h.disconnect ?? (h.clientAborted ? 'client left' : '')]);
  return [
    clients.length ? [el('div', { class: 'muted small' }, 'what the client got'), table(['#', 'request', 'status', 'stream end', 'error', 'time'], clients)] : '',
    el('div', { class: 'muted small' }, `what the upstreams received (mocks\u2019 journal, ${hits.length} request${hits.length === 1 ? '' : 's'})`),
    hits.length ? table(['seq', 'upstream', 'request', 'status', 'token', 'cut'], hits) : el('div', { class: 'small' }, 'nothing reached an upstream'),
  ];
}

function failureCard(c: Check, where: string, step: StepResult | undefined): Raw {
  const level = levelOf(c);
  return el(
    'div',
    { class: 'card failure' },
    el('div', { class: 'failure-title' }, el('span', { class: `cell-label ${level}` }, level), ' ', el('b', {}, where), ' — ', c.name),
    el('div', { class: 'grid2' }, el('div', {}, el('div', { class: 'muted small' }, 'expected'), pre(show(c.expected))), el('div', {}, el('div', { class: 'muted small' }, 'actual'), pre(show(c.actual)))),
    details('journal evidence', evidence(step)),
  );
}

function failuresOf(r: ScenarioResult, target: string): Raw {
  const cards: Raw[] = [];
  for (const s of r.steps) {
    const where = `step ${s.index + 1}. ${s.name}`;
    if (s.error) cards.push(el('div', { class: 'card failure' }, el('div', { class: 'failure-title' }, badge('error', 'ERROR'), ' ', el('b', {}, where), ' — ', s.error)));
    for (const c of s.checks.filter((c) => !c.pass && !c.skipped)) cards.push(failureCard(c, where, s));
  }
  for (const c of r.invariants.filter((c) => !c.pass && !c.skipped)) cards.push(failureCard(c, 'invariant (whole scenario)', undefined));
  const cell = cellOf(r);
  return el(
    'div',
    { id: anchor(r.name, target), class: 'target-failures' },
    el('h4', {}, el('span', { class: `cell-label ${cell.kind}` }, CELL_LABEL[cell.kind]), ' ', target),
    cell.reason ? el('p', { class: 'small muted' }, cell.reason) : '',
    cards,
  );
}

const LEGEND: Array<[CellKind, string]> = [
  ['pass', 'every check that ran held'],
  ['protocol', 'a protocol-level check failed (every relay must)'],
  ['resilience', 'a resilience-level check failed (a relay that claims failover should)'],
  ['reference', 'only the reference relay\u2019s policy differs'],
  ['skipped', 'skipped whole: nothing the relay can play'],
  ['error', 'could not run'],
];

export function renderScorecard(s: Scorecard): string {
  const scenarios = [...new Set(s.targets.flatMap((t) => t.results.map((r) => r.name)))].sort();
  const byTarget = new Map(s.targets.map((t) => [t.name, new Map(t.results.map((r) => [r.name, r]))]));
  const summaries = s.targets.map(summarize);
  const suitesOf = new Map(s.targets.flatMap((t) => t.results.map((r) => [r.name, r.suites] as const)));

  const head = ['scenario', ...s.targets.map((t) => el('div', {}, el('div', {}, t.name), el('div', { class: 'muted small' }, t.description)))];
  const rows = scenarios.map((name) => [
    el('div', {}, el('div', { class: 'scn' }, name), el('div', { class: 'muted small' }, (suitesOf.get(name) ?? []).join(', '))),
    ...s.targets.map((t) => cellContent(cellOf(byTarget.get(t.name)?.get(name)), name, t.name)),
  ]);
  const totals = [
    el('b', {}, 'ran checks (not skipped whole)'),
    ...summaries.map((m) => el('b', {}, `${m.ranChecks}/${m.scenarios} (${pct(m.ranChecks, m.scenarios)})`)),
  ];
  const failing = scenarios
    .map((name) => ({ name, cells: s.targets.map((t) => ({ t: t.name, r: byTarget.get(t.name)?.get(name) })).filter((x) => x.r && !['pass', 'missing'].includes(cellOf(x.r).kind)) }))
    .filter((x) => x.cells.length);

  return page({
    title: s.title,
    subtitle: `${s.targets.map((t) => t.name).join(' · ')} · ${s.machine} · started ${s.startedAt} · ${(s.durationMs / 1000).toFixed(0)} s`,
    body: [
      el('div', { id: 'summary' }, tiles(summaries.flatMap((m) => [
        { label: `${m.name}: scenarios that ran checks (not skipped whole)`, value: `${m.ranChecks}/${m.scenarios} (${pct(m.ranChecks, m.scenarios)})`, verdict: (m.ranChecks / Math.max(1, m.scenarios) >= 0.8 ? 'pass' : 'skip') as Verdict },
        {
          label: `${m.name}: scenarios by their worst failing level`,
          value: el('span', { class: 'kinds' }, `${m.byKind.pass} pass · ${m.byKind.protocol} protocol · ${m.byKind.resilience} resilience · ${m.byKind.reference} policy`),
          verdict: (m.byKind.protocol ? 'fail' : 'pass') as Verdict,
        },
      ]))),
      s.targets.filter((t) => t.error).map((t) => el('p', {}, badge('error', 'ERROR'), ' ', `${t.name}: ${t.error}`)),
      el('div', { class: 'legend-row' }, LEGEND.map(([k, text]) => el('span', { class: 'legend-item' }, el('span', { class: `cell-label ${k}` }, CELL_LABEL[k]), ' ', text))),
      el(
        'p',
        { class: 'muted small' },
        'Each cell: checks passed/ran per level (prot = protocol, res = resilience, ref = the reference relay\u2019s policy) and the checks skipped because the relay cannot play or show them. A label links to the failing checks with expected, actual and the journal evidence.',
      ),
      table(head, [...rows, totals], { class: 'matrix' }),
      el('h2', {}, `Failures and skips (${failing.length} scenarios)`),
      failing.map((f) => details(el('span', {}, el('b', {}, f.name), ' ', f.cells.map((c) => el('span', { class: `cell-label ${cellOf(c.r).kind}` }, `${c.t}: ${CELL_LABEL[cellOf(c.r).kind]}`))), f.cells.map((c) => failuresOf(c.r!, c.t)))),
      el('h2', {}, 'Relays'),
      table(
        ['relay', 'what', 'url', 'adapter', 'time', 'of it waited in real time', 'checks passed'],
        s.targets.map((t, i) => [
          t.name,
          t.description,
          el('code', {}, t.url),
          el('code', {}, t.adapter),
          `${(t.durationMs / 1000).toFixed(0)} s`,
          realTimeWaitMs(t) > 0 ? `${(realTimeWaitMs(t) / 1000).toFixed(0)} s (no virtual clock: policy durations shortened, see each step)` : 'none (virtual clock)',
          `${summaries[i].checksPassed}/${summaries[i].checksRan}`,
        ]),
      ),
    ],
    css: SCORECARD_CSS,
    script: OPEN_TARGET,
  });
}

/** The failures are folded per scenario; a cell's link opens the fold it points into. */
const OPEN_TARGET = `
function openTarget() {
  var el = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
  for (var d = el; d; d = d.parentElement) if (d.tagName === 'DETAILS') d.open = true;
  if (el) el.scrollIntoView();
}
window.addEventListener('hashchange', openTarget);
openTarget();
`;

const SCORECARD_CSS = `
table.matrix td, table.matrix th { padding:5px 8px; }
table.matrix td:first-child { white-space:nowrap; }
.scn { font-weight:600; }
.cell { border-radius:6px; padding:4px 8px; min-width:120px; }
.cell a { text-decoration:none; }
.cell .counts { font-size:11px; color:#475467; margin-top:2px; white-space:nowrap; }
.cell .why { font-size:11px; color:#475467; margin-top:2px; max-width:260px; }
.tile-value .kinds { font-size:18px; }
.cell.pass { background:#e6f6ef; } .cell.protocol { background:#fdeee9; } .cell.resilience { background:#fef0c7; }
.cell.reference { background:#eff4ff; } .cell.skipped, .cell.missing { background:#f2f4f7; } .cell.error { background:#f9edfb; }
.cell-label { display:inline-block; padding:1px 8px; border-radius:10px; font-size:11px; font-weight:700; letter-spacing:.03em; }
.cell-label.pass { color:#12805c; background:#d1fadf; } .cell-label.protocol { color:#fff; background:#c4320a; }
.cell-label.resilience { color:#fff; background:#dc6803; } .cell-label.reference { color:#175cd3; background:#d1e0ff; }
.cell-label.skipped, .cell-label.missing { color:#475467; background:#eaecf0; } .cell-label.error { color:#fff; background:#9f1ab1; }
.legend-row { display:flex; gap:14px; flex-wrap:wrap; margin:6px 0 10px; font-size:12px; }
.failure-title { margin-bottom:6px; }
.target-failures { margin:6px 0 14px; }
.target-failures h4 { margin:10px 0 6px; font-size:14px; }
details > summary .cell-label { margin-left:6px; }
`;
