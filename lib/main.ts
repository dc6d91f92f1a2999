/**
 * The entry point of every command (`pnpm relay`, `pnpm mocks`, `pnpm scenario`, `pnpm bench` ...):
 * run when the module is the script node was started with, exit with main's code.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** true when the module at `url` is the script node was started with (tsx or node --import tsx). */
export function isMain(url: string): boolean {
  return process.argv[1] !== undefined && fileURLToPath(url) === resolve(process.argv[1]);
}

export interface RunMainOptions {
  /** Exit code when main throws (the commands' "could not run" code). Default 1. */
  crashCode?: number;
  /** What to print for an error main threw; default its stack. */
  describe?: (err: unknown) => string;
}

/**
 * Runs main and exits with the code it returns. A negative code means "keep running": a server
 * that exits on its own signals.
 */
export function runMain(main: () => Promise<number>, opts: RunMainOptions = {}): void {
  main().then(
    (code) => {
      if (code >= 0) process.exit(code);
    },
    (err) => {
      process.stderr.write(`${opts.describe ? opts.describe(err) : ((err as Error)?.stack ?? String(err))}\n`);
      process.exit(opts.crashCode ?? 1);
    },
  );
}
