/**
 * Test helper process for crash.test.ts: opens billing on a data dir (or MySQL), reserves for
 * the request ids given, prints "reserved", then waits to be killed with SIGKILL mid-request.
 * Args: <config-json> <dataDir|-> <mysqlUrl|-> <tablePrefix> <requestId...>
 */
import { SystemClock } from '../../lib/clock.js';
import { openBilling } from './index.js';

const [configJson, dataDir, mysqlUrl, tablePrefix, ...ids] = process.argv.slice(2);
const opened = await openBilling({
  config: JSON.parse(configJson),
  clock: new SystemClock(),
  dataDir: dataDir === '-' ? undefined : dataDir,
  mysqlUrl: mysqlUrl === '-' ? undefined : mysqlUrl,
  tablePrefix,
  // No fdatasync can happen before the kill: what the next process reads is what write() left in
  // the page cache, which a killed process does not take with it.
  syncEveryMs: 600_000,
});
for (const requestId of ids) {
  const r = await opened.billing.precharge({
    requestId, keyName: 'alice', model: 'claude-sonnet-4-5', protocol: 'anthropic',
    info: { model: 'claude-sonnet-4-5', stream: true, maxOutputTokens: 100, estimatedInputTokens: 1000, includeUsage: false, hasTools: false },
  });
  if (!r.ok) throw new Error(r.message);
}
process.stdout.write('reserved\n');
setInterval(() => undefined, 1000);
