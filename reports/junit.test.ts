import { describe, expect, it } from 'vitest';
import { renderJUnit } from './junit.js';

describe('renderJUnit', () => {
  const xml = renderJUnit([
    {
      name: 'routing',
      cases: [
        { name: 'failover-tokens', classname: 'routing', timeMs: 1234, status: 'pass' },
        { name: 'sticky <x>', classname: 'routing', timeMs: 10, status: 'fail', message: 'attempts: expected ["A:200"]', details: 'expected "A" & got "B"' },
      ],
    },
    {
      name: 'health',
      cases: [
        { name: 'health-checks', classname: 'health', timeMs: 5, status: 'error', message: 'relay did not start' },
        { name: 'fastest', classname: 'health', timeMs: 0, status: 'skip', message: 'target lacks: clock' },
      ],
    },
  ]);

  it('counts tests, failures, errors and skips at both levels', () => {
    expect(xml).toMatch(/<testsuites name="relaylab" tests="4" failures="1" errors="1" skipped="1" time="1\.249">/);
    expect(xml).toMatch(/<testsuite name="routing" tests="2" failures="1" errors="0" skipped="0" time="1\.244">/);
    expect(xml).toMatch(/<testsuite name="health" tests="2" failures="0" errors="1" skipped="1"/);
  });

  it('uses failure for a broken expectation, error for a scenario that could not run, skipped for not applicable', () => {
    expect(xml).toContain('<testcase name="failover-tokens" classname="routing" time="1.234"/>');
    expect(xml).toMatch(/<testcase name="sticky &lt;x&gt;"[^>]*>\s*<failure message="attempts: expected \[&quot;A:200&quot;\]" type="expectation">expected &quot;A&quot; &amp; got &quot;B&quot;<\/failure>/);
    expect(xml).toMatch(/<error message="relay did not start" type="could_not_run">/);
    expect(xml).toContain('<skipped message="target lacks: clock"/>');
  });

  it('is balanced XML', () => {
    const opens = (xml.match(/<(testsuites|testsuite|testcase|failure|error)[\s>]/g) ?? []).length;
    const selfClosed = (xml.match(/<testcase [^>]*\/>/g) ?? []).length;
    const closes = (xml.match(/<\/(testsuites|testsuite|testcase|failure|error)>/g) ?? []).length;
    expect(opens - selfClosed).toBe(closes);
  });
});
