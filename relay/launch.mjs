#!/usr/bin/env node
/**
 * `pnpm relay [--prod] [relay options]`: starts the reference relay in this very process.
 *
 *   --prod   runs the compiled relay (dist/relay/cli.js, from `pnpm build`) with plain node;
 *   without  runs relay/cli.ts from the sources (tsx registered in this process, not the tsx CLI,
 *            which would start the relay as a child of its own).
 *
 * Why in this process: a wrapper between whoever supervises the relay and the relay itself
 * (the tsx CLI, a shell, a launcher that spawns node) is a process that can die alone. Killed
 * with SIGKILL it cannot pass the signal on, and the relay goes on, orphaned, holding its port
 * and its data dir. The `relay` script is `exec node <flags> relay/launch.mjs`, so the shell pnpm
 * starts becomes this node, and this node becomes the relay: pnpm's child is the relay. Its node
 * flags (V8's young generation at full size, see the README's "Memory") are the one list the
 * Dockerfile and the benchmarks follow.
 *
 * pnpm itself still stands between a supervisor and the relay when one runs `pnpm relay`; a
 * SIGKILL of pnpm cannot be passed on either. So the relay watches the process that started it
 * and, once that one is gone (the relay is re-parented), shuts down as on SIGTERM (it stops
 * listening at once, drains, exits). Run the relay as a service with `node <flags>
 * dist/relay/cli.js` (the Docker image does), where no such watch applies: a service may outlive
 * its starter.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** How often the starter's presence is checked: the longest an orphan keeps the port. */
const PARENT_POLL_MS = 500;

const args = process.argv.slice(2);
const prod = args.includes('--prod');
const rest = args.filter((a) => a !== '--prod');

let entry;
if (prod) {
  entry = join(ROOT, 'dist', 'relay', 'cli.js');
  if (!existsSync(entry)) {
    console.error(`relay --prod: ${entry} is missing; run pnpm build first`);
    process.exit(2);
  }
  // Stack traces name the TypeScript sources (esbuild writes the source maps beside the bundle).
  process.setSourceMapsEnabled(true);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  entry = join(ROOT, 'relay', 'cli.ts');
}

watchStarter();
process.argv = [process.argv[0], entry, ...rest];
await import(pathToFileURL(entry).href);

/** SIGTERM to this process once the process that started it has died (see the header). */
function watchStarter() {
  const starter = process.ppid;
  if (starter <= 1) return; // started by init or a container runtime: nothing above to lose
  const timer = setInterval(() => {
    if (process.ppid === starter) return;
    clearInterval(timer);
    console.error(`relay: the process that started it (pid ${starter}) is gone; shutting down`);
    process.kill(process.pid, 'SIGTERM');
  }, PARENT_POLL_MS);
  timer.unref();
}
