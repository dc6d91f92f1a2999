/**
 * The shared shell for every HTML report (scenarios, conformance, bench): one self-contained
 * file with inline CSS, optional inline JS and inline SVG charts. Nothing is loaded from a CDN,
 * so a report opens offline, attached to a CI run or mailed around.
 *
 * Every helper here returns an HTML string. Text that came from outside (scenario names, bodies,
 * error messages) goes through `esc` before it lands in markup; the helpers escape what they are
 * given, and `raw` marks markup that is already safe.
 */

export interface Raw {
  readonly __html: string;
}

/** Marks a string as ready-made markup (the output of another helper). */
export function raw(html: string): Raw {
  return { __html: html };
}

export type Content = string | number | Raw | null | undefined | Content[];

export function esc(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Renders content: strings and numbers are escaped, Raw passes through, arrays concatenate. */
export function html(content: Content): string {
  if (content === null || content === undefined) return '';
  if (Array.isArray(content)) return content.map(html).join('');
  if (typeof content === 'object') return content.__html;
  return esc(content);
}

/** An element with escaped attributes and rendered children. */
export function el(tag: string, attrs: Record<string, string | number | boolean | undefined>, ...children: Content[]): Raw {
  const a = Object.entries(attrs)
    .filter(([, v]) => v !== undefined && v !== false)
    .map(([k, v]) => (v === true ? ` ${k}` : ` ${k}="${esc(v)}"`))
    .join('');
  return raw(`<${tag}${a}>${html(children)}</${tag}>`);
}

export type Verdict = 'pass' | 'fail' | 'error' | 'skip' | 'info';

export function badge(verdict: Verdict, label: string = verdict.toUpperCase()): Raw {
  return el('span', { class: `badge ${verdict}` }, label);
}

export function table(headers: Content[], rows: Content[][], opts: { class?: string } = {}): Raw {
  return el(
    'table',
    { class: opts.class },
    el('thead', {}, el('tr', {}, headers.map((h) => el('th', {}, h)))),
    el('tbody', {}, rows.map((r) => el('tr', {}, r.map((c) => el('td', {}, c))))),
  );
}

/** A collapsible section; open by default when `open` (failures are shown open). */
export function details(summary: Content, body: Content, open = false): Raw {
  return el('details', { open }, el('summary', {}, summary), el('div', { class: 'details-body' }, body));
}

export function pre(text: string): Raw {
  return el('pre', {}, text);
}

/** Summary tiles: big number with a label. */
export function tiles(items: Array<{ label: string; value: Content; verdict?: Verdict }>): Raw {
  return el(
    'div',
    { class: 'tiles' },
    items.map((t) => el('div', { class: `tile ${t.verdict ?? ''}` }, el('div', { class: 'tile-value' }, t.value), el('div', { class: 'tile-label' }, t.label))),
  );
}

export interface PageOptions {
  title: string;
  subtitle?: string;
  body: Content;
  /** Extra inline script (already trusted code), run at the end of the body. */
  script?: string;
  /** Extra inline CSS. */
  css?: string;
}

const CSS = `
:root { --fg:#1d2330; --muted:#667085; --line:#e4e7ec; --bg:#f8f9fb; --card:#fff;
  --pass:#12805c; --pass-bg:#e6f6ef; --fail:#c4320a; --fail-bg:#fdeee9; --error:#9f1ab1; --error-bg:#f9edfb;
  --skip:#667085; --skip-bg:#f2f4f7; --info:#175cd3; --info-bg:#eff4ff; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--fg); background:var(--bg); }
header.page { background:#1d2330; color:#fff; padding:18px 28px; }
header.page h1 { margin:0; font-size:20px; font-weight:600; }
header.page .sub { color:#c0c6d4; font-size:13px; margin-top:4px; }
main { padding:20px 28px 60px; max-width:1400px; }
h2 { font-size:17px; margin:26px 0 10px; }
h3 { font-size:15px; margin:18px 0 8px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:14px 16px; margin:12px 0; }
table { border-collapse:collapse; width:100%; background:var(--card); font-size:13px; }
th, td { border-bottom:1px solid var(--line); padding:6px 8px; text-align:left; vertical-align:top; }
th { background:#f2f4f7; font-weight:600; color:#344054; }
td code, li code { font-size:12px; }
code, pre { font-family: ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; }
pre { background:#f2f4f7; border:1px solid var(--line); border-radius:6px; padding:8px 10px; margin:4px 0; font-size:12px; white-space:pre-wrap; word-break:break-all; max-height:320px; overflow:auto; }
.badge { display:inline-block; padding:1px 8px; border-radius:10px; font-size:11px; font-weight:700; letter-spacing:.03em; }
.badge.pass { color:var(--pass); background:var(--pass-bg); }
.badge.fail { color:var(--fail); background:var(--fail-bg); }
.badge.error { color:var(--error); background:var(--error-bg); }
.badge.skip { color:var(--skip); background:var(--skip-bg); }
.badge.info { color:var(--info); background:var(--info-bg); }
.tiles { display:flex; gap:12px; flex-wrap:wrap; margin:8px 0 16px; }
.tile { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:10px 16px; min-width:120px; }
.tile-value { font-size:24px; font-weight:700; }
.tile-label { color:var(--muted); font-size:12px; }
.tile.pass .tile-value { color:var(--pass); } .tile.fail .tile-value { color:var(--fail); }
.tile.error .tile-value { color:var(--error); } .tile.skip .tile-value { color:var(--skip); }
details { background:var(--card); border:1px solid var(--line); border-radius:8px; margin:8px 0; }
details > summary { cursor:pointer; padding:8px 12px; list-style:none; display:flex; gap:10px; align-items:center; flex-wrap:wrap; }
details > summary::-webkit-details-marker { display:none; }
details > summary::before { content:'▸'; color:var(--muted); }
details[open] > summary::before { content:'▾'; }
.details-body { padding:4px 14px 12px; border-top:1px solid var(--line); }
.muted { color:var(--muted); }
.small { font-size:12px; }
.grid2 { display:grid; grid-template-columns:1fr 1fr; gap:10px; }
.chart { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:8px; }
.chart text { font-size:11px; fill:#475467; font-family:system-ui,sans-serif; }
.legend { display:flex; gap:14px; flex-wrap:wrap; font-size:12px; margin:4px 8px; }
.legend span::before { content:''; display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:5px; background:var(--c); vertical-align:-1px; }
`;

export function page(opts: PageOptions): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(opts.title)}</title>
<style>${CSS}${opts.css ?? ''}</style>
</head>
<body>
<header class="page"><h1>${esc(opts.title)}</h1>${opts.subtitle ? `<div class="sub">${esc(opts.subtitle)}</div>` : ''}</header>
<main>
${html(opts.body)}
</main>
${opts.script ? `<script>${opts.script.replace(/<\/script/gi, '<\\/script')}</script>` : ''}
</body>
</html>
`;
}

// ---------------------------------------------------------------------------------------------
// Charts: tiny inline SVG, no library. Enough for latency over time and throughput bars.

export const PALETTE = ['#175cd3', '#e04f16', '#12805c', '#9f1ab1', '#ca8504', '#0e9384', '#c01574', '#475467'];

export interface LineSeries {
  name: string;
  points: Array<[number, number]>;
  color?: string;
}

export interface ChartOptions {
  width?: number;
  height?: number;
  title?: string;
  xLabel?: string;
  yLabel?: string;
}

/** "Nice" tick values covering [min, max]. */
export function ticks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0];
  if (max === min) max = min + 1;
  const span = max - min;
  const step0 = span / count;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => span / s <= count) ?? 10 * mag;
  const out: number[] = [];
  const last = Math.ceil(max / step - 1e-9) * step;
  for (let v = Math.floor(min / step) * step; v <= last + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function fmtTick(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toFixed(a >= 1e7 ? 0 : 1)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(0)}k`;
  if (Number.isInteger(v)) return String(v);
  return v.toFixed(a < 1 ? 2 : 1);
}

function legend(items: Array<{ name: string; color: string }>): string {
  return `<div class="legend">${items.map((i) => `<span style="--c:${esc(i.color)}">${esc(i.name)}</span>`).join('')}</div>`;
}

export function lineChart(series: LineSeries[], opts: ChartOptions = {}): Raw {
  const W = opts.width ?? 640;
  const H = opts.height ?? 260;
  const m = { l: 52, r: 14, t: opts.title ? 26 : 12, b: opts.xLabel ? 40 : 26 };
  const all = series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const xt = ticks(xs.length ? Math.min(...xs) : 0, xs.length ? Math.max(...xs) : 1);
  const yt = ticks(0, ys.length ? Math.max(...ys) : 1);
  const [x0, x1] = [xt[0], xt[xt.length - 1]];
  const [y0, y1] = [yt[0], yt[yt.length - 1]];
  const sx = (x: number) => m.l + ((x - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
  const sy = (y: number) => H - m.b - ((y - y0) / (y1 - y0 || 1)) * (H - m.t - m.b);
  const parts: string[] = [];
  if (opts.title) parts.push(`<text x="${m.l}" y="16" style="font-weight:600;font-size:12px">${esc(opts.title)}</text>`);
  for (const v of yt) parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${sy(v)}" y2="${sy(v)}" stroke="#eaecf0"/><text x="${m.l - 6}" y="${sy(v) + 4}" text-anchor="end">${fmtTick(v)}</text>`);
  for (const v of xt) parts.push(`<text x="${sx(v)}" y="${H - m.b + 15}" text-anchor="middle">${fmtTick(v)}</text>`);
  if (opts.xLabel) parts.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 6}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  if (opts.yLabel) parts.push(`<text transform="translate(12 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}</text>`);
  const colored = series.map((s, i) => ({ ...s, color: s.color ?? PALETTE[i % PALETTE.length] }));
  for (const s of colored) {
    if (s.points.length === 0) continue;
    const d = s.points.map((p, i) => `${i ? 'L' : 'M'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join('');
    parts.push(`<path d="${d}" fill="none" stroke="${esc(s.color)}" stroke-width="1.8"/>`);
    if (s.points.length === 1) parts.push(`<circle cx="${sx(s.points[0][0])}" cy="${sy(s.points[0][1])}" r="3" fill="${esc(s.color)}"/>`);
  }
  return raw(`<div class="chart"><svg viewBox="0 0 ${W} ${H}" width="100%" style="max-width:${W}px" role="img">${parts.join('')}</svg>${series.length > 1 ? legend(colored) : ''}</div>`);
}

export interface Bar {
  label: string;
  value: number;
  color?: string;
  /** Text shown at the end of the bar; defaults to the value. */
  note?: string;
}

/** Horizontal bars: labels on the left, one bar per row (comparisons read best this way). */
export function barChart(bars: Bar[], opts: ChartOptions = {}): Raw {
  const W = opts.width ?? 640;
  const row = 24;
  const m = { l: 170, r: 70, t: opts.title ? 26 : 8, b: 8 };
  const H = opts.height ?? m.t + m.b + row * Math.max(1, bars.length);
  const max = Math.max(1e-9, ...bars.map((b) => b.value));
  const parts: string[] = [];
  if (opts.title) parts.push(`<text x="8" y="16" style="font-weight:600;font-size:12px">${esc(opts.title)}</text>`);
  bars.forEach((b, i) => {
    const y = m.t + i * row;
    const w = Math.max(1, (b.value / max) * (W - m.l - m.r));
    const color = b.color ?? PALETTE[i % PALETTE.length];
    parts.push(`<text x="${m.l - 8}" y="${y + 16}" text-anchor="end">${esc(b.label)}</text>`);
    parts.push(`<rect x="${m.l}" y="${y + 4}" width="${w.toFixed(1)}" height="${row - 8}" rx="3" fill="${esc(color)}"/>`);
    parts.push(`<text x="${m.l + w + 6}" y="${y + 16}">${esc(b.note ?? fmtTick(b.value))}</text>`);
  });
  return raw(`<div class="chart"><svg viewBox="0 0 ${W} ${H}" width="100%" style="max-width:${W}px" role="img">${parts.join('')}</svg></div>`);
}
