/**
 * pnpm peer <portkey|ccr> [--port n] [--home dir] [--install-only]
 *
 * Installs a third-party relay on demand (npm registry only, pinned versions) and runs it on
 * 127.0.0.1 until Ctrl-C, for `pnpm scenario ... --target <url> --adapter <peer>`.
 * Exit codes: 0 stopped on a signal (or installed), 2 could not install or start.
 */
import { parse, intOption, UsageError } from '../../engine/args.js';
import { isMain, runMain } from '../../../lib/main.js';
import { ensureInstalled, PEERS, type Peer } from './install.js';
import { startCcr } from './ccr/server.js';
import { startPortkey } from './portkey/server.js';
import type { RunningPeer } from './peer.js';

const USAGE = `usage: pnpm peer <${PEERS.join('|')}> [--port n] [--home dir] [--install-only]

  portkey   Portkey OSS gateway (@portkey-ai/gateway), routing from the x-portkey-config header
  ccr       claude-code-router (@musistudio/claude-code-router 2.0.0), config file + restart;
            --home is its HOME (default .relaylab/peers/ccr/home)`;

export async function main(argv: string[]): Promise<number> {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parse(argv, { port: { type: 'string' }, home: { type: 'string' }, 'install-only': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }));
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (positionals.length !== 1 || !(PEERS as readonly string[]).includes(positionals[0])) throw new UsageError(`expected one of: ${PEERS.join(', ')}`);
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const peer = positionals[0] as Peer;
  const log = (s: string) => console.error(s);
  if (values['install-only']) {
    console.log(await ensureInstalled(peer, log));
    return 0;
  }
  const port = intOption(values.port as string | undefined, 'port');
  const running: RunningPeer = peer === 'portkey' ? await startPortkey({ port, log }) : await startCcr({ port, log, home: values.home as string | undefined });
  console.log(`${peer} listening on ${running.url} (127.0.0.1 only); Ctrl-C stops it`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await running.stop();
  return 0;
}

if (isMain(import.meta.url)) runMain(() => main(process.argv.slice(2)), { crashCode: 2 });
