/**
 * JUnit XML for CI: one <testsuite> per suite, one <testcase> per scenario. A broken expectation
 * is a <failure>, a scenario that could not run is an <error>, a not-applicable one is <skipped>.
 */
export type CaseStatus = 'pass' | 'fail' | 'error' | 'skip';

export interface JUnitCase {
  name: string;
  classname: string;
  timeMs: number;
  status: CaseStatus;
  /** One line: the first failed check or the error. */
  message?: string;
  /** Full text: every failed check with expected and actual. */
  details?: string;
}

export interface JUnitSuite {
  name: string;
  cases: JUnitCase[];
  timestamp?: string;
}

export function xmlEscape(s: string): string {
  // XML 1.0 forbids most control characters even when escaped.
  return s
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const secs = (ms: number) => (ms / 1000).toFixed(3);

function renderCase(c: JUnitCase): string {
  const open = `    <testcase name="${xmlEscape(c.name)}" classname="${xmlEscape(c.classname)}" time="${secs(c.timeMs)}"`;
  const body = xmlEscape(c.details ?? c.message ?? '');
  const msg = xmlEscape(c.message ?? '');
  switch (c.status) {
    case 'pass':
      return `${open}/>`;
    case 'fail':
      return `${open}>\n      <failure message="${msg}" type="expectation">${body}</failure>\n    </testcase>`;
    case 'error':
      return `${open}>\n      <error message="${msg}" type="could_not_run">${body}</error>\n    </testcase>`;
    case 'skip':
      return `${open}>\n      <skipped message="${msg}"/>\n    </testcase>`;
  }
}

export function renderJUnit(suites: JUnitSuite[], name = 'relaylab'): string {
  const count = (cs: JUnitCase[], s: CaseStatus) => cs.filter((c) => c.status === s).length;
  const all = suites.flatMap((s) => s.cases);
  const total = (cs: JUnitCase[]) => cs.reduce((t, c) => t + c.timeMs, 0);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xmlEscape(name)}" tests="${all.length}" failures="${count(all, 'fail')}" errors="${count(all, 'error')}" skipped="${count(all, 'skip')}" time="${secs(total(all))}">`,
  ];
  for (const s of suites) {
    lines.push(
      `  <testsuite name="${xmlEscape(s.name)}" tests="${s.cases.length}" failures="${count(s.cases, 'fail')}" errors="${count(s.cases, 'error')}" skipped="${count(s.cases, 'skip')}" time="${secs(total(s.cases))}"${s.timestamp ? ` timestamp="${xmlEscape(s.timestamp)}"` : ''}>`,
    );
    for (const c of s.cases) lines.push(renderCase(c));
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>', '');
  return lines.join('\n');
}
