/**
 * Runs the reference relay alone in this process, from the public `startRelay` contract, for
 * benchmarks: tsx bench/relay-process.ts --config relay.yaml --port n [--host h] [--log-level l] [--data-dir d].
 * (Used until / unless relay/cli.ts takes the same flags.)
 */
import { parseArgs } from 'node:util';
import { startRelay } from '../relay/index.js';
import { isMain } from '../lib/main.js';

if (isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: { config: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, 'log-level': { type: 'string' }, 'data-dir': { type: 'string' } },
  });
  if (!values.config) {
    process.stderr.write('usage: relay-process --config relay.yaml --port n\n');
    process.exit(2);
  }
  const relay = await startRelay({ config: values.config, port: Number(values.port ?? 0), host: values.host ?? '127.0.0.1', logLevel: values['log-level'] ?? 'info', dataDir: values['data-dir'] });
  process.stdout.write(`relay listening ${relay.url}\n`);
  const stop = () => void relay.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
