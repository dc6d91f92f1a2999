import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { bufferedDestination, createRelayLogger, createRelayLoggers } from './logger.js';

describe('createRelayLogger', () => {
  it('masks tokens under every usual name and depth', async () => {
    const lines: string[] = [];
    const destination = new Writable({ write: (chunk, _e, cb) => (lines.push(String(chunk)), cb()) });
    const log = createRelayLogger({ level: 'info', destination });
    const secret = 'sk-ant-api03-VERYSECRET-abcdefghijklmnop';
    log.info({ token: secret, headers: { authorization: `Bearer ${secret}`, 'x-api-key': secret }, endpoint: { token: secret, name: 'A' } }, 'hello');
    log.info({ req: { headers: { 'x-api-key': secret, cookie: secret } }, key: secret }, 'nested');
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).not.toContain('VERYSECRET');
    const first = JSON.parse(lines[0]);
    expect(first.token).toBe('sk-ant-…mnop');
    expect(first.headers.authorization).toBe('Bearer sk-ant-…mnop');
    expect(first.endpoint.name).toBe('A');
  });
});

describe('createRelayLoggers', () => {
  it('the access logger writes its fields as they are (no redaction), the operational logger still masks', () => {
    const lines: string[] = [];
    const destination = new Writable({ write: (chunk, _e, cb) => (lines.push(String(chunk)), cb()) });
    const { logger, access } = createRelayLoggers({ level: 'info', destination });
    access.info({ requestId: 'req_1', keyName: 'team-a', attempts: ['ep-1:200'] }, 'request');
    logger.info({ token: 'sk-ant-api03-VERYSECRET-abcdefghijklmnop' }, 'op');
    expect(JSON.parse(lines[0])).toMatchObject({ svc: 'relay', msg: 'request', requestId: 'req_1', keyName: 'team-a', attempts: ['ep-1:200'] });
    expect(lines[1]).not.toContain('VERYSECRET');
  });

  it('buffers lines and writes them in batches, on a timer and on flush, never one write per line', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'relay-log-')), 'relay.log');
    const { destination } = bufferedDestination(file);
    const { access } = createRelayLoggers({ level: 'info', destination });
    await new Promise((ok) => destination.once('ready', ok)); // the file is open
    for (let i = 0; i < 10; i++) access.info({ requestId: `req_${i}`, status: 200 }, 'request');
    // Ten ~100-byte lines are under one batch: nothing written yet.
    expect(readFileSync(file, 'utf8')).toBe('');
    // The timer writes them (every LOG_FLUSH_MS) without anything else happening; polled, since a
    // busy machine runs timers late.
    const lines = () => readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
    for (let waited = 0; lines() < 10 && waited < 5000; waited += 50) await new Promise((ok) => setTimeout(ok, 50));
    expect(lines()).toBe(10);
    for (let i = 0; i < 200; i++) access.info({ requestId: `req_${i}`, status: 200 }, 'request');
    await new Promise<void>((ok, fail) => destination.flush((err) => (err ? fail(err) : ok())));
    // flush hands the buffer to the file; on a machine at load 20 the last write may land a moment
    // after its callback (176 of 210 lines were there), so read until all are, bounded.
    for (let waited = 0; lines() < 210 && waited < 5000; waited += 50) await new Promise((ok) => setTimeout(ok, 50));
    expect(lines()).toBe(210);
    destination.end();
  });
});

describe('bufferedDestination', () => {
  it('takes the strings pino writes and writes them whole, non-ASCII included, in order', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'relay-log-')), 'relay.log');
    const { destination } = bufferedDestination(file);
    const { logger, access } = createRelayLoggers({ level: 'info', destination });
    await new Promise((ok) => destination.once('ready', ok));
    for (let i = 0; i < 300; i++) (i % 2 ? logger : access).info({ requestId: `req_${i}`, model: 'modèle-✓-😀' }, 'request');
    await new Promise<void>((ok, fail) => destination.flush((err) => (err ? fail(err) : ok())));
    const read = () => readFileSync(file, 'utf8').split('\n').filter(Boolean);
    for (let waited = 0; read().length < 300 && waited < 5000; waited += 50) await new Promise((ok) => setTimeout(ok, 50));
    const lines = read().map((l) => JSON.parse(l));
    expect(lines.map((l) => l.requestId)).toEqual(Array.from({ length: 300 }, (_, i) => `req_${i}`));
    expect(lines.every((l) => l.model === 'modèle-✓-😀')).toBe(true);
    destination.end();
  });
});
