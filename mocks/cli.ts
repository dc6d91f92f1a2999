/**
 * `pnpm mocks --config <file> [--host 127.0.0.1]`: starts the upstreams of a YAML file and prints
 * each one's name, kind, URL and (masked) tokens. Runs until interrupted.
 */
import { parseArgs } from 'node:util';
import { maskToken } from '../lib/mask.js';
import { ConfigError } from '../lib/yaml-config.js';
import { startMocks } from './fleet.js';
import { runMain } from '../lib/main.js';
import { tuneV8ForServing } from '../lib/v8-flags.js';

const USAGE = 'usage: pnpm mocks --config <file.yaml> [--host 127.0.0.1]';

async function main(): Promise<number> {
  let values: { config?: string; host?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ options: { config: { type: 'string', short: 'c' }, host: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.config) {
    console.error(USAGE);
    return 2;
  }
  tuneV8ForServing();
  let fleet;
  try {
    fleet = await startMocks(values.config, { host: values.host });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }
  const tokensOf = (kind: string, tokens: string[]) => {
    const listed = tokens.map(maskToken).join(', ');
    if (kind === 'chatgpt-oauth') return listed ? `${listed} + issued JWTs` : 'issued JWTs (POST /oauth/token, control API)';
    return listed || '(any token)';
  };
  const rows = fleet.upstreams.map((u) => [u.name, u.kind, u.url, tokensOf(u.kind, u.tokens)]);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length), ['name', 'kind', 'url'][i].length));
  const line = (r: string[]) => r.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c)).join('  ');
  console.log(line(['name', 'kind', 'url', 'tokens']));
  for (const r of rows) console.log(line(r));
  console.log(`control API: ${fleet.upstreams[0].url}/__mock/ (journal, rules, tokens, jwt)`);
  // A long-running mock outlives any one bad request: report, keep serving.
  process.on('uncaughtException', (err) => console.error('mock: uncaught error (still serving):', err));
  const stop = () => void fleet.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return -1;
}

runMain(main);
