import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createRelayLogger } from './logger.js';

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
