/**
 * The manual adapter, for a relay relaylab cannot configure itself: the mocks run on fixed ports,
 * and the layout (adapters/layout.ts, JSON) goes to whoever configures the relay, a person or a
 * script, before the scenario and again with each change:
 *
 * - `--layout-out http://127.0.0.1:7000/relaylab` POSTs `{ event, seq, scenario, layout, change? }`
 *   and goes on when that endpoint answers 2xx (answer once the relay is configured);
 * - otherwise the same document is written to a file (`--layout-out file.json`, by default
 *   reports/out/manual-layout.json, replaced atomically) and the engine waits for Enter or SIGUSR2.
 *
 * The SIGUSR2 listener is installed when the adapter is created and stays until it is closed, so a
 * signal sent the moment a prompt appears is never lost and never kills the process.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { request } from 'undici';
import { REPORT_DIR } from '../engine/output.js';
import { PROTOCOLS } from '../engine/schema.js';
import type { AdapterCapabilities, AdapterContext, Layout, LayoutChange, RelayAdapter } from './api.js';

export const MANUAL_CAPABILITIES: AdapterCapabilities = {
  inbound: PROTOCOLS,
  keys: 'layout',
  clock: 'none',
  restart: false,
  records: false,
  features: ['admin_tokens', 'pause', 'sticky', 'cross_channel', 'fastest', 'oauth_refresh', 'custom_pass'],
};

/** Waits for Enter on stdin or SIGUSR2, with the signal listener installed before any prompt. */
export class GoSignal {
  private waiter: (() => void) | undefined;
  private readonly onSignal = () => this.waiter?.();

  constructor() {
    process.on('SIGUSR2', this.onSignal);
  }

  /** Resolves on the first Enter or SIGUSR2 after `prompt` is shown; a signal between waits is ignored. */
  wait(prompt: string, log: (s: string) => void): Promise<void> {
    return new Promise((resolveWait) => {
      const rl = createInterface({ input: process.stdin });
      // A signal listener does not keep the process alive; with stdin closed nothing else may.
      const keepAlive = setInterval(() => undefined, 60_000);
      let done = false;
      const go = () => {
        if (done) return;
        done = true;
        this.waiter = undefined;
        clearInterval(keepAlive);
        rl.close();
        resolveWait();
      };
      this.waiter = go;
      rl.once('line', go);
      // A closed stdin (a script, /dev/null) is not a "go": keep waiting for the signal.
      rl.once('close', () => {
        if (!done) log(`  (stdin closed: waiting for SIGUSR2 to pid ${process.pid})`);
      });
      log(prompt);
    });
  }

  close(): void {
    process.off('SIGUSR2', this.onSignal);
  }
}

/** What the driver receives, in the file or the POST body. */
export interface ManualDocument {
  event: 'configure' | 'change';
  /** Increases with every document of the run. */
  seq: number;
  scenario: string;
  /** The process to send SIGUSR2 to (file mode). */
  pid: number;
  layout: Layout;
  change?: LayoutChange;
}

/** The layout for a person: channels, endpoints and keys in the order that matters. */
export function describeLayout(l: Layout): string[] {
  const lines = [`strategy ${l.strategy}, cross-channel failover ${l.cross_channel_failover ? 'on' : 'off'}; fallback order: ${l.fallback_chain.join(' → ') || '(none)'}`];
  for (const c of l.channels) {
    lines.push(`channel ${c.name} (priority ${c.priority}${c.paused ? ', PAUSED' : ''}${c.cross_channel ? '' : ', no failover into it'})`);
    for (const e of c.endpoints) {
      lines.push(`  ${e.name.padEnd(8)} ${e.kind.padEnd(16)} ${e.base_url}  token ${e.token}  priority ${e.priority}${e.failover ? '' : '  (no failover)'}${e.models.length ? `  models ${e.models.join(',')}` : ''}`);
    }
  }
  for (const k of l.keys) lines.push(`client key ${k.name}: ${k.key}`);
  return lines;
}

export interface ManualAdapterOptions {
  target: string;
  /** First mock port; upstreams get consecutive ports. */
  portBase?: number;
  /** An http(s) URL to POST each document to, or a file to write it to. */
  layoutOut?: string;
  /** How long a POST may take to be answered (the driver configures the relay meanwhile). */
  postTimeoutMs?: number;
}

export function manualAdapter(opts: ManualAdapterOptions): RelayAdapter {
  const out = opts.layoutOut ?? join(REPORT_DIR, 'manual-layout.json');
  const viaHttp = /^https?:\/\//.test(out);
  const go = viaHttp ? undefined : new GoSignal();
  let seq = 0;

  const deliver = async (doc: Omit<ManualDocument, 'seq' | 'pid'>, prompt: string, ctx: AdapterContext) => {
    const full: ManualDocument = { ...doc, seq: ++seq, pid: process.pid };
    if (viaHttp) {
      ctx.log(`  ${prompt} (POST ${out})`);
      const timeout = opts.postTimeoutMs ?? 600_000;
      const res = await request(out, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(full), headersTimeout: timeout, bodyTimeout: timeout });
      const text = await res.body.text();
      if (res.statusCode >= 300) throw new Error(`${out} answered ${res.statusCode}: ${text.slice(0, 300)}`);
      return;
    }
    const file = resolve(out);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(`${file}.tmp`, JSON.stringify(full, null, 2));
    renameSync(`${file}.tmp`, file);
    await go!.wait(`  ${prompt}\n  (layout JSON: ${file}, seq ${full.seq}) Press Enter or send SIGUSR2 to pid ${process.pid} when done.`, ctx.log);
  };

  return {
    name: 'manual',
    capabilities: MANUAL_CAPABILITIES,
    mockPortBase: opts.portBase ?? 18_600,
    async configure(layout, ctx) {
      ctx.log('');
      ctx.log(`Scenario ${ctx.scenario}: configure your relay at ${opts.target} like this (mock upstreams are running now).`);
      for (const line of describeLayout(layout)) ctx.log(`  ${line}`);
      await deliver({ event: 'configure', scenario: ctx.scenario, layout }, 'Configure the relay with this layout.', ctx);
    },
    async apply(change, ctx) {
      await deliver({ event: 'change', scenario: ctx.scenario, layout: change.layout, change }, `Relay change: ${change.description}.`, ctx);
    },
    async close() {
      go?.close();
    },
  };
}
