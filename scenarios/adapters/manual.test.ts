/** The manual adapter hands the layout over as JSON and waits without a race. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { portableChange, portableLayout } from '../engine/portable-layout.js';
import { manualAdapter, type ManualDocument } from './manual.js';

const layout = portableLayout('manual', { channels: [{ name: 'main', endpoints: [{ name: 'A', type: 'claude', base_url: 'http://127.0.0.1:9', token: 'sk-ant-manual' }] }] }, []);
const ctx = { scenario: 'manual', log: () => undefined };

let server: Server | undefined;
afterEach(() => server?.close());

describe('manual adapter', () => {
  it('survives SIGUSR2 sent the instant each prompt appears, and the file holds the layout of that moment', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'relaylab-manual-')), 'layout.json');
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'manual-child.ts'), file], { stdio: ['ignore', 'pipe', 'pipe'] });
    const seen: ManualDocument[] = [];
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      // Signal on the very line that asks for it, before anything else happens.
      const prompts = out.match(/send SIGUSR2 to pid \d+/g)?.length ?? 0;
      while (seen.length < prompts) {
        seen.push(JSON.parse(readFileSync(file, 'utf8')) as ManualDocument);
        child.kill('SIGUSR2');
      }
    });
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
    expect({ code, signal }, out).toEqual({ code: 0, signal: null });
    expect(out).toContain('done 3');
    expect(seen.map((d) => [d.seq, d.event, d.change?.kind])).toEqual([
      [1, 'configure', undefined],
      [2, 'change', 'pause'],
      [3, 'change', 'resume'],
    ]);
    expect(seen[0].layout.channels[0].endpoints[0].token).toBe('sk-ant-child');
  }, 30_000);

  it('POSTs each document to an HTTP driver and goes on when it answers; an error answer fails the step', async () => {
    const got: ManualDocument[] = [];
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const doc = JSON.parse(body) as ManualDocument;
        got.push(doc);
        res.statusCode = doc.change?.kind === 'restart' ? 501 : 204;
        res.end(doc.change?.kind === 'restart' ? 'cannot restart' : undefined);
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const address = server.address() as { port: number };
    const adapter = manualAdapter({ target: 'http://127.0.0.1:9', layoutOut: `http://127.0.0.1:${address.port}/relaylab` });
    await adapter.configure(layout, ctx);
    await adapter.apply(portableChange({ kind: 'token', endpoint: 'A', value: 'sk-ant-new' }, layout, layout), ctx);
    await expect(adapter.apply(portableChange({ kind: 'restart' }, layout, layout), ctx)).rejects.toThrow(/answered 501: cannot restart/);
    expect(got.map((d) => [d.seq, d.event, d.change?.kind])).toEqual([
      [1, 'configure', undefined],
      [2, 'change', 'token'],
      [3, 'change', 'restart'],
    ]);
    expect(got[1].change).toMatchObject({ endpoint: 'A', token: 'sk-ant-new' });
  });
});
