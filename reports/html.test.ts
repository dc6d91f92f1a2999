import { describe, expect, it } from 'vitest';
import { barChart, el, esc, html, lineChart, page, raw, ticks } from './html.js';

describe('reports/html', () => {
  it('escapes text but passes marked markup through', () => {
    expect(esc(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    expect(html(['<b>', raw('<i>ok</i>'), 3])).toBe('&lt;b&gt;<i>ok</i>3');
    expect(el('td', { title: '"q"' }, '<x>').__html).toBe('<td title="&quot;q&quot;">&lt;x&gt;</td>');
  });

  it('builds a self-contained page with no external resources', () => {
    const out = page({ title: 'T <1>', body: raw('<p>hi</p>'), script: 'var a = "</script>";' });
    expect(out).toContain('<title>T &lt;1&gt;</title>');
    expect(out).not.toMatch(/<(script|link)[^>]+(src|href)=/);
    expect(out).toContain('<\\/script>";');
  });

  it('draws charts as inline SVG with one path per series and one bar per value', () => {
    const line = lineChart([{ name: 'a', points: [[0, 1], [1, 3]] }, { name: 'b', points: [[0, 2], [1, 2]] }]).__html;
    expect(line.match(/<path /g)).toHaveLength(2);
    const bars = barChart([{ label: 'x<y', value: 10 }, { label: 'z', value: 5 }]).__html;
    expect(bars.match(/<rect /g)).toHaveLength(2);
    expect(bars).toContain('x&lt;y');
  });

  it('chooses nice ticks covering the range', () => {
    expect(ticks(0, 97)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(ticks(0, 0)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
  });
});
