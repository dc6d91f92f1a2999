/**
 * The scenario / conformance report: one self-contained HTML page. Summary first, then each
 * scenario with its steps; a failed check shows expected and actual side by side; each distinct
 * attempt chain is drawn as a sequence (client → relay → upstream A 429 → upstream B 200); the
 * credentials each upstream saw are listed masked (the runner already masked every secret).
 */
import type { Check } from '../scenarios/engine/expect.js';
import type { LevelVerdict, RequestView, ScenarioResult, StepResult } from '../scenarios/engine/result.js';
import { LEVELS } from '../scenarios/engine/schema.js';
import { badge, barChart, details, el, esc, html, page, pre, raw, table, tiles, type Content, type Raw, type Verdict } from './html.js';

const VERDICT: Record<ScenarioResult['status'], Verdict> = { pass: 'pass', fail: 'fail', error: 'error', not_applicable: 'skip', skipped: 'skip' };
const LABEL: Record<ScenarioResult['status'], string> = { pass: 'PASS', fail: 'FAIL', error: 'ERROR', not_applicable: 'N/A', skipped: 'SKIPPED' };
const LEVEL_VERDICT: Record<LevelVerdict, Verdict> = { pass: 'pass', fail: 'fail', skipped: 'skip', none: 'info' };

/** `protocol PASS · resilience FAIL · reference SKIPPED` for the levels a scenario has checks in. */
function levelBadges(levels: ScenarioResult['levels'] | undefined): Content[] {
  if (!levels) return [];
  return LEVELS.filter((l) => levels[l] !== 'none').map((l) => badge(LEVEL_VERDICT[levels[l]], `${l} ${levels[l].toUpperCase()}`));
}

function ms(v: number | undefined): string {
  if (v === undefined) return '';
  return v >= 1000 ? `${(v / 1000).toFixed(2)}s` : `${Math.round(v)}ms`;
}

function show(v: unknown): string {
  if (typeof v === 'string') return v;
  return JSON.stringify(v, null, 2) ?? String(v);
}

function checkRow(c: Check): Content[] {
  return [
    c.skipped ? badge('skip', 'SKIP') : badge(c.pass ? 'pass' : 'fail'),
    c.level ?? 'protocol',
    c.name,
    el('code', {}, show(c.expected)),
    c.skipped ? el('span', { class: 'muted' }, c.reason ?? 'skipped') : el('code', {}, show(c.actual)),
  ];
}

function failedChecks(checks: Check[]): Raw {
  const failed = checks.filter((c) => !c.pass && !c.skipped);
  if (!failed.length) return raw('');
  return el(
    'div',
    {},
    failed.map((c) =>
      el('div', { class: 'card mismatch' }, el('div', { class: 'mismatch-title' }, badge('fail'), ' ', el('span', { class: 'muted' }, `[${c.level ?? 'protocol'}]`), ' ', c.name), el('div', { class: 'grid2' }, el('div', {}, el('div', { class: 'muted small' }, 'expected'), pre(show(c.expected))), el('div', {}, el('div', { class: 'muted small' }, 'actual'), pre(show(c.actual))))),
    ),
  );
}

interface Hop {
  lane: string;
  label: string;
  result: string;
  ok: boolean;
}

function hopsOf(r: RequestView): Hop[] {
  if (r.attempts?.length) {
    return r.attempts.map((a) => ({
      lane: a.endpoint,
      label: a.token ?? '',
      result: a.status !== undefined ? String(a.status) : (a.errorClass ?? '?'),
      ok: a.status !== undefined && a.status < 400 && !a.errorClass,
    }));
  }
  return r.upstreamHits.map((h) => ({
    lane: h.upstream,
    label: h.token,
    result: h.status === null ? (h.disconnect ?? 'no answer') : String(h.status) + (h.disconnect ? ` ${h.disconnect}` : ''),
    ok: h.status !== null && h.status < 400 && !h.disconnect,
  }));
}

function clientOutcome(r: RequestView): { text: string; ok: boolean } {
  if (r.aborted) return { text: 'client left', ok: true };
  if (r.status === 0) return { text: r.transportError ? 'no answer' : '?', ok: false };
  const end = r.streamEnd === 'n/a' ? '' : ` ${r.streamEnd === 'terminal' ? 'stream ✓' : r.streamEnd === 'error' ? 'stream error event' : 'stream cut'}`;
  return { text: `${r.status}${end}`, ok: r.status < 400 && r.streamEnd !== 'none' && r.streamEnd !== 'error' };
}

/** A sequence diagram of one client request: client, relay, one lane per upstream endpoint. */
export function sequenceDiagram(r: RequestView, times = 1): Raw {
  const hops = hopsOf(r);
  const lanes = ['client', 'relay', ...[...new Set(hops.map((h) => h.lane))]];
  const laneW = 150;
  const W = 70 + laneW * (lanes.length - 1) + 70;
  const rowH = 30;
  const H = 46 + rowH * (2 + hops.length * 2) + 6;
  const x = (lane: string) => 70 + lanes.indexOf(lane) * laneW;
  const parts: string[] = [];
  lanes.forEach((l) => {
    const cx = x(l);
    parts.push(`<rect x="${cx - 55}" y="6" width="110" height="24" rx="5" fill="${l === 'client' || l === 'relay' ? '#1d2330' : '#475467'}"/>`);
    parts.push(`<text x="${cx}" y="22" text-anchor="middle" fill="#fff" style="fill:#fff;font-weight:600">${esc(l === 'client' || l === 'relay' ? l : `upstream ${l}`)}</text>`);
    parts.push(`<line x1="${cx}" x2="${cx}" y1="30" y2="${H - 4}" stroke="#d0d5dd" stroke-dasharray="3 3"/>`);
  });
  let y = 50;
  const arrow = (from: string, to: string, label: string, color: string) => {
    const x1 = x(from);
    const x2 = x(to);
    const dir = x2 > x1 ? -1 : 1;
    parts.push(`<line x1="${x1}" x2="${x2 + dir * 2}" y1="${y}" y2="${y}" stroke="${color}" stroke-width="1.6"/>`);
    parts.push(`<path d="M${x2},${y} l${dir * 8},-4 l0,8 z" fill="${color}"/>`);
    parts.push(`<text x="${(x1 + x2) / 2}" y="${y - 5}" text-anchor="middle" style="fill:${color}">${esc(label)}</text>`);
    y += rowH;
  };
  arrow('client', 'relay', `${r.method} ${r.path}${r.stream ? ' (stream)' : ''}`, '#344054');
  for (const h of hops) {
    arrow('relay', h.lane, h.label, '#175cd3');
    arrow(h.lane, 'relay', h.result, h.ok ? '#12805c' : '#c4320a');
  }
  const out = clientOutcome(r);
  arrow('relay', 'client', out.text, out.ok ? '#12805c' : '#c4320a');
  const caption = `${times > 1 ? `×${times} requests like this` : `request ${r.index + 1}`} · ${ms(r.durationMs)}${r.ttfbMs !== undefined ? ` · first byte ${ms(r.ttfbMs)}` : ''}${r.requestId ? ` · ${r.requestId}` : ''}`;
  return raw(
    `<figure class="seq"><svg viewBox="0 0 ${W} ${H}" width="${W}" role="img">${parts.join('')}</svg><figcaption class="muted small">${esc(caption)}</figcaption></figure>`,
  );
}

function chainKey(r: RequestView): string {
  return `${hopsOf(r).map((h) => `${h.lane}:${h.result}`).join('>')}|${clientOutcome(r).text}`;
}

function requestDiagrams(step: StepResult): Raw {
  if (!step.requests.length) return raw('');
  const groups = new Map<string, RequestView[]>();
  for (const r of step.requests) {
    const k = chainKey(r);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const shown = [...groups.values()].slice(0, 6);
  return el('div', { class: 'seqs' }, shown.map((g) => sequenceDiagram(g[0], g.length)), groups.size > 6 ? el('div', { class: 'muted small' }, `${groups.size - 6} more distinct chains not drawn`) : '');
}

function requestTable(step: StepResult): Raw {
  if (!step.requests.length) return raw('');
  const rows = step.requests.slice(0, 20).map((r) => [
    String(r.index + 1),
    String(r.status || '—'),
    r.streamEnd,
    r.attempts?.length ? r.attempts.map((a) => `${a.endpoint}:${a.status ?? a.errorClass ?? '?'}`).join(' → ') : r.upstreamHits.map((h) => `${h.upstream}:${h.status ?? '—'}`).join(' → '),
    r.text ? (r.text.length > 60 ? `${r.text.slice(0, 60)}…` : r.text) : r.error ? `${r.error.type ?? ''} ${r.error.message ?? ''}` : (r.streamError?.type ?? r.transportError ?? ''),
    r.usage ? `in ${r.usage.inputTokens} / out ${r.usage.outputTokens}${r.usage.cacheReadTokens ? ` / cache ${r.usage.cacheReadTokens}` : ''}` : '',
    ms(r.durationMs),
  ]);
  return el(
    'div',
    {},
    table(['#', 'status', 'stream end', 'attempts', 'text / error', 'usage', 'time'], rows, { class: 'compact' }),
    step.requests.length > 20 ? el('div', { class: 'muted small' }, `${step.requests.length - 20} more requests`) : '',
  );
}

function stepBlock(s: StepResult, expanded: boolean): Raw {
  const verdict: Verdict = s.status === 'pass' ? 'pass' : s.status === 'fail' ? 'fail' : s.status === 'skipped' ? 'skip' : 'error';
  const passed = s.checks.filter((c) => c.pass && !c.skipped).length;
  const skipped = s.checks.filter((c) => c.skipped).length;
  const summary = [
    badge(verdict, s.status === 'skipped' ? 'SKIPPED' : undefined),
    el('strong', {}, `${s.index + 1}. ${s.name}`),
    s.name !== s.action ? el('span', { class: 'muted' }, s.action) : '',
    el('span', { class: 'muted small' }, `${passed}/${s.checks.length} checks${skipped ? ` (${skipped} skipped)` : ''} · ${ms(s.durationMs)}`),
  ];
  const body = [
    s.error ? el('div', { class: 'card mismatch' }, badge('error'), ' ', s.error) : '',
    s.status === 'skipped' && s.reason ? el('div', { class: 'card' }, badge('skip', 'SKIPPED'), ' ', s.reason) : '',
    failedChecks(s.checks),
    requestDiagrams(s),
    requestTable(s),
    s.checks.length ? details('all checks', table(['', 'level', 'check', 'expected', 'actual'], s.checks.map(checkRow))) : '',
    s.upstreamHits.length && !s.requests.length
      ? table(['seq', 'upstream', 'request', 'status', 'token'], s.upstreamHits.slice(0, 20).map((h) => [String(h.seq), h.route ? `${h.upstream} /_r/${h.route}` : h.upstream, `${h.method} ${h.path}`, String(h.status ?? '—'), el('code', {}, h.token)]))
      : '',
  ];
  // Failures are open; in a one-scenario report, so are the steps whose requests failed over.
  const failover = s.requests.some((r) => (r.attempts?.length ?? r.upstreamHits.length) > 1);
  return details(summary, body, s.status === 'fail' || s.status === 'error' || (expanded && failover));
}

const BAR_COLOR: Record<string, string> = { pass: '#12805c', fail: '#c4320a', error: '#9f1ab1', not_applicable: '#98a2b3', skipped: '#98a2b3' };

function stepTimings(r: ScenarioResult): Raw {
  return barChart(
    r.steps.map((s) => ({ label: `${s.index + 1}. ${s.name.length > 20 ? `${s.name.slice(0, 19)}…` : s.name}`, value: s.durationMs, color: BAR_COLOR[s.status], note: ms(s.durationMs) })),
    { width: 760 },
  );
}

function scenarioBlock(r: ScenarioResult, expanded: boolean): Raw {
  const steps = r.steps.length;
  const ok = r.steps.filter((s) => s.status === 'pass').length;
  const summary = [
    badge(VERDICT[r.status], LABEL[r.status]),
    el('strong', {}, r.name),
    ...levelBadges(r.levels),
    el('span', { class: 'muted' }, r.description),
    el('span', { class: 'muted small' }, `${ok}/${steps} steps · ${ms(r.durationMs)}`),
  ];
  const tokenRows = r.tokensSeen.map((u) => [u.upstream, u.kind, el('code', {}, u.url), u.tokens.length ? raw(u.tokens.map((t) => html(el('code', {}, `${t.token} ×${t.count}`))).join(' ')) : el('span', { class: 'muted' }, 'no requests')]);
  const body = [
    el('div', { class: 'muted small' }, `suites: ${r.suites.join(', ')} · seed ${r.seed} · adapter ${r.adapter}${r.target ? ` · ${r.target}` : ''} · ${r.file}`),
    r.reason ? el('div', { class: `card ${r.status === 'error' ? 'mismatch' : ''}` }, badge(VERDICT[r.status], LABEL[r.status]), ' ', r.reason) : '',
    el('div', { class: 'muted small' }, 'levels: protocol = every relay must; resilience = a relay that claims failover should; reference = the reference relay\u2019s own policy'),
    r.steps.length ? el('h3', {}, 'Steps') : '',
    r.steps.map((s) => stepBlock(s, expanded)),
    expanded && r.steps.length > 1 ? [el('h3', {}, 'Step timings'), stepTimings(r)] : '',
    r.invariants.length ? [el('h3', {}, 'Invariants'), failedChecks(r.invariants), table(['', 'level', 'invariant', 'expected', 'actual'], r.invariants.map(checkRow))] : '',
    tokenRows.length ? [el('h3', {}, 'Credentials each upstream saw (masked)'), table(['upstream', 'kind', 'url', 'tokens'], tokenRows)] : '',
  ];
  return el('section', { id: `scenario-${r.name}`, class: 'scenario' }, details(summary, body, expanded || r.status === 'fail' || r.status === 'error'));
}

export interface ReportMeta {
  title?: string;
  target?: string;
  startedAt?: string;
  durationMs?: number;
}

export function renderScenarioReport(results: ScenarioResult[], meta: ReportMeta = {}): string {
  const n = (s: ScenarioResult['status']) => results.filter((r) => r.status === s).length;
  const total = meta.durationMs ?? results.reduce((t, r) => t + r.durationMs, 0);
  const overall: Verdict = n('error') ? 'error' : n('fail') ? 'fail' : 'pass';
  const body = [
    el('section', { id: 'summary' }, [
      el('h2', {}, 'Summary ', badge(overall, overall === 'pass' ? 'ALL PASSED' : overall === 'fail' ? 'FAILED' : 'ERRORS')),
      tiles([
        { label: 'scenarios', value: results.length },
        { label: 'passed', value: n('pass'), verdict: 'pass' },
        { label: 'failed', value: n('fail'), verdict: n('fail') ? 'fail' : undefined },
        { label: 'could not run', value: n('error'), verdict: n('error') ? 'error' : undefined },
        { label: 'skipped (nothing observable)', value: n('skipped'), verdict: 'skip' },
        { label: 'not applicable', value: n('not_applicable'), verdict: 'skip' },
        { label: 'duration', value: ms(total) },
      ]),
      table(
        ['scenario', 'suites', 'result', ...LEVELS, 'steps', 'checks', 'time'],
        results.map((r) => {
          const checks = r.steps.flatMap((s) => s.checks).concat(r.invariants);
          const skipped = checks.filter((c) => c.skipped).length;
          return [
            el('a', { href: `#scenario-${r.name}` }, r.name),
            r.suites.join(', '),
            badge(VERDICT[r.status], LABEL[r.status]),
            ...LEVELS.map((l) => (r.levels && r.levels[l] !== 'none' ? badge(LEVEL_VERDICT[r.levels[l]], r.levels[l].toUpperCase()) : el('span', { class: 'muted' }, '—'))),
            `${r.steps.filter((s) => s.status === 'pass').length}/${r.steps.length}`,
            `${checks.filter((c) => c.pass && !c.skipped).length}/${checks.length}${skipped ? ` (${skipped} skipped)` : ''}`,
            ms(r.durationMs),
          ];
        }),
      ),
    ]),
    results.length > 1
      ? details(
          'scenario timings',
          barChart(
            results.map((r) => ({ label: r.name.length > 24 ? `${r.name.slice(0, 23)}…` : r.name, value: r.durationMs, color: BAR_COLOR[r.status], note: ms(r.durationMs) })),
            { width: 760 },
          ),
        )
      : '',
    el('h2', {}, 'Scenarios'),
    results.map((r) => scenarioBlock(r, results.length === 1)),
  ];
  const title = meta.title ?? (results.length === 1 ? `relaylab scenario: ${results[0].name}` : 'relaylab conformance report');
  const subtitle = [meta.target ?? results[0]?.target, meta.startedAt ?? results[0]?.startedAt].filter(Boolean).join(' · ');
  return page({
    title,
    subtitle,
    body,
    css: `
.mismatch { border-color:#f4c6b8; background:#fffaf8; }
.mismatch-title { margin-bottom:6px; font-weight:600; }
.seqs { display:flex; flex-wrap:wrap; gap:12px; margin:8px 0; }
figure.seq { margin:0; background:#fff; border:1px solid var(--line); border-radius:8px; padding:6px 8px; overflow-x:auto; }
figure.seq text { font-size:11px; font-family:system-ui,sans-serif; }
table.compact td, table.compact th { padding:4px 6px; }
section.scenario > details > summary { font-size:14px; }
`,
    script: `document.querySelectorAll('a[href^="#scenario-"]').forEach(function (a) {
  a.addEventListener('click', function () {
    var s = document.querySelector(a.getAttribute('href'));
    var d = s && s.querySelector('details'); if (d) d.open = true;
  });
});`,
  });
}
