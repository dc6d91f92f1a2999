/** The loopback shim moves every wildcard listener of a relay process to 127.0.0.1. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { LOOPBACK_SHIM } from './peer.js';

const probe = `
import net from 'node:net';
import http from 'node:http';
const where = (s) => new Promise((ok) => s.once('listening', () => { const a = s.address(); s.close(); ok(a.address); }));
const out = [];
let s = net.createServer(); s.listen(0); out.push(await where(s));
s = net.createServer(); s.listen({ port: 0, host: '0.0.0.0' }); out.push(await where(s));
s = http.createServer(); s.listen(0, '::', () => {}); out.push(await where(s));
s = http.createServer(); s.listen(); out.push(await where(s));
s = net.createServer(); s.listen(0, '127.0.0.2'); out.push(await where(s));
console.log(JSON.stringify(out));
`;

describe('peers/loopback.mjs', () => {
  it('binds wildcard listeners to 127.0.0.1 and leaves explicit addresses alone', async () => {
    const run = (imports: string[]) => promisify(execFile)(process.execPath, [...imports, '--input-type=module', '-e', probe]);
    const shimmed = JSON.parse((await run(['--import', LOOPBACK_SHIM])).stdout);
    expect(shimmed).toEqual(['127.0.0.1', '127.0.0.1', '127.0.0.1', '127.0.0.1', '127.0.0.2']);
    // Without the shim the same calls listen on every interface, so the test can tell.
    const plain = JSON.parse((await run([])).stdout);
    expect(plain.slice(0, 4).every((a: string) => a !== '127.0.0.1')).toBe(true);
  });
});
