/**
 * The journal's bounds: entry count and bytes (the oldest entries go first), bodies over the
 * body limit kept truncated with their size, and session keys derived before truncation.
 */
import { describe, expect, it } from 'vitest';
import type { SessionKey } from '../protocols/types.js';
import { ENTRY_OVERHEAD_BYTES, Journal, truncateText, type JournalEntry } from './journal.js';

function entry(seq: number, bodyBytes: number): JournalEntry {
  return {
    seq,
    time: seq,
    upstream: 'u',
    kind: 'claude',
    method: 'POST',
    path: '/v1/messages',
    query: {},
    headers: {},
    credential: 'k',
    body: null,
    bodyBytes,
    model: 'm',
    stream: false,
    sessionKeys: [],
    rule: null,
    status: 200,
    eventsSent: 0,
    bytesSent: 0,
    disconnect: null,
    clientAborted: false,
    usage: null,
    durationMs: 1,
  };
}

const body = (n: number) => JSON.stringify({ messages: [{ role: 'user', content: 'x'.repeat(n) }] });

describe('journal bounds', () => {
  it('drops the oldest entries once the kept bytes pass the budget', () => {
    const text = body(10_000);
    const weight = ENTRY_OVERHEAD_BYTES + text.length;
    const journal = new Journal({ maxBytes: 5 * weight });
    for (let i = 1; i <= 20; i++) journal.append(entry(journal.nextSeq(), text.length), text);
    expect(journal.size).toBe(5);
    expect(journal.bytes).toBe(5 * weight);
    expect(journal.list().map((e) => e.seq)).toEqual([16, 17, 18, 19, 20]);
    expect(journal.list()[0].body).toEqual(JSON.parse(text));
    journal.reset();
    expect(journal.bytes).toBe(0);
  });

  it('counts a body as V8 holds it: one byte a character when ASCII, two when any character is not Latin-1', () => {
    const ascii = body(10_000);
    const wide = JSON.stringify({ messages: [{ role: 'user', content: `${'x'.repeat(10_000)} \u2014 done` }] });
    const journal = new Journal();
    journal.append(entry(journal.nextSeq(), Buffer.byteLength(ascii)), ascii);
    expect(journal.bytes).toBe(ENTRY_OVERHEAD_BYTES + ascii.length);
    journal.reset();
    journal.append(entry(journal.nextSeq(), Buffer.byteLength(wide)), wide);
    expect(journal.bytes).toBe(ENTRY_OVERHEAD_BYTES + 2 * wide.length);
  });

  it('still bounds by entry count', () => {
    const journal = new Journal({ max: 3 });
    for (let i = 1; i <= 7; i++) journal.append(entry(journal.nextSeq(), 2), '{}');
    expect(journal.list().map((e) => e.seq)).toEqual([5, 6, 7]);
    expect(journal.bytes).toBe(3 * (ENTRY_OVERHEAD_BYTES + 2));
  });

  it('keeps a body over the body limit truncated, with its full size and the session keys it had', () => {
    const text = body(50_000);
    const keys: SessionKey[] = [{ source: 'body:metadata.user_id', value: 'from-the-whole-body' }];
    let seen: unknown;
    const journal = new Journal({ maxBodyBytes: 1000 });
    journal.append(entry(journal.nextSeq(), text.length), text, (b) => {
      seen = b;
      return keys;
    });
    // Keys came from the parsed whole body, at append time.
    expect(seen).toEqual(JSON.parse(text));
    const [e] = journal.list();
    expect(e.bodyTruncated).toBe(true);
    expect(e.bodyBytes).toBe(text.length);
    expect(e.body).toBe(text.slice(0, 1000));
    expect(e.sessionKeys).toEqual(keys);
    expect(journal.bytes).toBe(ENTRY_OVERHEAD_BYTES + 1000);
  });

  it('derives session keys on first read only, and every read parses its own copy of the body', () => {
    let calls = 0;
    const journal = new Journal();
    journal.append(entry(journal.nextSeq(), 2), '{"a":1}', () => {
      calls++;
      return [{ source: 'header:x', value: 'v' }];
    });
    expect(calls).toBe(0);
    const [first] = journal.list();
    (first.body as { a: number }).a = 2;
    const [second] = journal.list();
    expect(calls).toBe(1);
    expect(second.body).toEqual({ a: 1 });
    expect(second.sessionKeys).toEqual([{ source: 'header:x', value: 'v' }]);
  });

  it('truncates text on a character boundary, to a string of its own', () => {
    expect(truncateText('aé', 2)).toBe('a');
    expect(truncateText('abc', 2)).toBe('ab');
  });
});

describe('journal of a running mock', () => {
  it('journals a big body truncated with its size, configured per fleet', async () => {
    const { startMocks } = await import('./index.js');
    const fleet = await startMocks({ journal: { max_body_bytes: 4096 }, upstreams: [{ name: 'c', kind: 'claude', tokens: ['k'] }] });
    try {
      const big = { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'y'.repeat(100_000) }], metadata: { user_id: 'user_abc_account__session_1234' } };
      const res = await fetch(`${fleet.get('c').url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': 'k', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
        body: JSON.stringify(big),
      });
      expect(res.status).toBe(200);
      const [e] = await fleet.control.journal();
      expect(e.bodyBytes).toBe(JSON.stringify(big).length);
      expect(e.bodyTruncated).toBe(true);
      expect(typeof e.body).toBe('string');
      expect((e.body as string).length).toBe(4096);
      expect(e.sessionKeys.length).toBe(1);
    } finally {
      await fleet.close();
    }
  });
});
