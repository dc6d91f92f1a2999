import { afterEach, describe, expect, it } from 'vitest';
import { TestClock } from '../../lib/clock.js';
import { anthropic } from '../../protocols/anthropic.js';
import { openaiResponses } from '../../protocols/openai-responses.js';
import { bindingAfterSuccess, needsRenewal, stickySession, stickyKeyHash } from './sticky.js';
import { liveStateBackends } from './test-backends.js';

const DAY = 86_400_000;
const SEED = { ttlMs: 15 * DAY, renewBelowMs: 14 * DAY };

describe('sticky rules', () => {
  it('hashes protocol, client key, model, source and value apart', () => {
    const h = stickyKeyHash('anthropic', 'alice', 'm', 'x-claude-code-session-id', 'abc');
    expect(h).toMatch(/^[0-9a-f]{32}$/);
    expect(stickyKeyHash('anthropic', 'alice', 'm', 'x-claude-code-session-id', 'abc')).toBe(h);
    expect(stickyKeyHash('openai-responses', 'alice', 'm', 'x-claude-code-session-id', 'abc')).not.toBe(h);
    expect(stickyKeyHash('anthropic', 'bob', 'm', 'x-claude-code-session-id', 'abc')).not.toBe(h);
    expect(stickyKeyHash('anthropic', 'alice', 'm2', 'x-claude-code-session-id', 'abc')).not.toBe(h);
    expect(stickyKeyHash('anthropic', 'alice', 'm', 'first_message', 'abc')).not.toBe(h);
    expect(stickyKeyHash('anthropic', 'alice', 'm', 'x-claude-code-session-id', 'abd')).not.toBe(h);
    // No separator ambiguity: ("a", "bc") and ("ab", "c") differ.
    expect(stickyKeyHash('p', 'k', 'm', 'a', 'bc')).not.toBe(stickyKeyHash('p', 'k', 'm', 'ab', 'c'));
  });

  it('takes explicit session identifiers always and derived keys only where allowed, scoped by client key and model', () => {
    const body = { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'You are a health check. Say OK.' }] };
    const alice = stickySession(anthropic, {}, body, 'alice', 'm', true)!;
    const bob = stickySession(anthropic, {}, body, 'bob', 'm', true)!;
    expect(alice).toMatchObject({ source: 'first-message', derived: true });
    // The same first message from two clients: two sessions.
    expect(bob.stickyKey).not.toBe(alice.stickyKey);
    expect(stickySession(anthropic, {}, body, 'alice', 'other-model', true)!.stickyKey).not.toBe(alice.stickyKey);
    // Derived keys switched off for the protocol: no session at all ...
    expect(stickySession(anthropic, {}, body, 'alice', 'm', false)).toBeUndefined();
    // ... but an identifier the client sent still counts.
    expect(stickySession(anthropic, { 'x-claude-code-session-id': 's1' }, body, 'alice', 'm', false)).toMatchObject({
      source: 'header:x-claude-code-session-id',
      value: 's1',
    });
    const responses = { model: 'm', instructions: 'You are Codex', input: 'fix it', prompt_cache_key: 'pck-1' };
    expect(stickySession(openaiResponses, {}, responses, 'alice', 'm', false)).toMatchObject({ source: 'prompt_cache_key' });
  });

  it('renews only when less than renew_below remains (the 14-day rule)', () => {
    const b = { endpoint: 'A', expiresAt: 15 * DAY };
    expect(needsRenewal(b, 0, SEED)).toBe(false);
    expect(needsRenewal(b, DAY, SEED)).toBe(false);
    expect(needsRenewal(b, DAY + 1, SEED)).toBe(true);
  });

  it('writes a binding only when new, moved or running low', () => {
    const fresh = { endpoint: 'A', expiresAt: 15 * DAY };
    expect(bindingAfterSuccess(undefined, 'A', 'A', 0, SEED)).toEqual({ endpoint: 'A', expiresAt: 15 * DAY });
    expect(bindingAfterSuccess(fresh, 'A', 'A', DAY / 2, SEED)).toBeUndefined();
    // Routing chose B (A could not be used): a plain move, nothing to return to.
    expect(bindingAfterSuccess(fresh, 'B', 'B', DAY / 2, SEED)).toEqual({ endpoint: 'B', expiresAt: DAY / 2 + 15 * DAY });
    expect(bindingAfterSuccess(fresh, 'A', 'A', 2 * DAY, SEED)).toEqual({ endpoint: 'A', expiresAt: 17 * DAY });
  });

  it('makes a binding that a failover moved provisional, keeps its home while it stays, and drops it on return', () => {
    const t = DAY / 2;
    // A was tried first and failed, B served: the session remembers A.
    const moved = bindingAfterSuccess({ endpoint: 'A', expiresAt: 15 * DAY }, 'B', 'A', t, SEED)!;
    expect(moved).toEqual({ endpoint: 'B', expiresAt: t + 15 * DAY, home: 'A' });
    // A new session whose first choice failed is provisional from the start.
    expect(bindingAfterSuccess(undefined, 'B', 'A', t, SEED)).toEqual({ endpoint: 'B', expiresAt: t + 15 * DAY, home: 'A' });
    // While A is still down the session stays on B: nothing to write, home kept.
    expect(bindingAfterSuccess(moved, 'B', 'B', t + 1, SEED)).toBeUndefined();
    // B fails too and C serves: the home is still A, not B.
    expect(bindingAfterSuccess(moved, 'C', 'B', t + 1, SEED)).toEqual({ endpoint: 'C', expiresAt: t + 1 + 15 * DAY, home: 'A' });
    // Back on A: a plain binding again.
    expect(bindingAfterSuccess(moved, 'A', 'A', t + 2, SEED)).toEqual({ endpoint: 'A', expiresAt: t + 2 + 15 * DAY });
    // Sent home, A failed again, B served: still provisional, which is what is stored (no write).
    expect(bindingAfterSuccess(moved, 'B', 'A', t + 3, SEED)).toBeUndefined();
    expect(bindingAfterSuccess({ endpoint: 'A', expiresAt: 15 * DAY }, 'B', 'A', t + 3, SEED)).toEqual({ endpoint: 'B', expiresAt: t + 3 + 15 * DAY, home: 'A' });
  });
});

describe.each(liveStateBackends())('sticky bindings over $name', (backend) => {
  const disposers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const d of disposers.splice(0)) await d();
  });

  it('keeps a daily-used session bound for months, and lets an idle one expire after 15 days', async () => {
    const opened = await backend.open();
    disposers.push(opened.dispose);
    const store = opened.store;
    const clock = new TestClock();
    const key = stickyKeyHash('anthropic', 'alice', 'm', 'x-claude-code-session-id', 'conv-1');
    const use = async (at: number): Promise<boolean> => {
      const existing = await store.getBinding(key, at);
      const next = bindingAfterSuccess(existing, 'A', 'A', at, SEED);
      if (next) await store.setBinding(key, next, at);
      return next !== undefined;
    };

    expect(await store.getBinding(key, clock.now())).toBeUndefined();
    expect(await use(clock.now())).toBe(true);
    const writes: boolean[] = [];
    for (let day = 1; day <= 60; day++) {
      await clock.advance(DAY);
      expect((await store.getBinding(key, clock.now()))?.endpoint, `day ${day}`).toBe('A');
      writes.push(await use(clock.now()));
    }
    // Renewed only when under 14 days remain (here every other day), never on every request.
    expect(await use(clock.now() + 1000)).toBe(false);
    expect(writes.filter(Boolean).length).toBeGreaterThanOrEqual(29);

    await clock.advance(15 * DAY - 1);
    expect(await store.getBinding(key, clock.now())).toBeDefined();
    await clock.advance(1);
    expect(await store.getBinding(key, clock.now())).toBeUndefined();
  });

  it('stores the home of a provisional binding, and forgets it on the way back', async () => {
    const opened = await backend.open();
    disposers.push(opened.dispose);
    const store = opened.store;
    const key = stickyKeyHash('openai-responses', 'alice', 'm', 'session-id', 's-9');
    const t = 1_000;
    await store.setBinding(key, bindingAfterSuccess(undefined, 'B', 'A', t, SEED)!, t);
    expect(await (await opened.reopen()).getBinding(key, t)).toEqual({ endpoint: 'B', expiresAt: t + 15 * DAY, home: 'A' });
    await store.setBinding(key, bindingAfterSuccess(await store.getBinding(key, t), 'A', 'A', t + 1, SEED)!, t + 1);
    expect(await store.getBinding(key, t + 1)).toEqual({ endpoint: 'A', expiresAt: t + 1 + 15 * DAY });
    await store.deleteBinding(key);
    expect(await store.getBinding(key, t + 1)).toBeUndefined();
  });
});
