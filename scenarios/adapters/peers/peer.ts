/** What starting a third-party relay takes and gives back, the same for every peer. */
import { join } from 'node:path';

/** Preloaded into every peer so that it listens on 127.0.0.1 only (see loopback.mjs). */
export const LOOPBACK_SHIM = join(import.meta.dirname, 'loopback.mjs');

export interface StartPeerOptions {
  /** Port on 127.0.0.1; default a free one. */
  port?: number;
  log?: (line: string) => void;
}

export interface RunningPeer {
  name: string;
  /** http://127.0.0.1:<port> */
  url: string;
  /** The last lines the relay printed, for error messages. */
  output(): string;
  stop(): Promise<void>;
}
