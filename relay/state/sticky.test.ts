import { afterEach, describe, expect, it } from 'vitest';
import { TestClock } from '../../lib/clock.js';
import { bindingAfterSuccess, decideSticky, needsRenewal, stickyKeyHash, StickySessions } from './sticky.js';
import { liveStateBackends } from './test-backends.js';

const DAY = 86_400_000;
const SEED = { ttlMs: 15 * DAY, renewBelowMs: 14 * DAY };

describe('sticky rules', () => {
  it('hashes protocol, source and value apart', () => {
    const h = stickyKeyHash('anthropic', 'x-claude-code-session-id', 'abc');
    expect(h).toMatch(/^[0-9a-f]{32}$/);
    expect(stickyKeyHash('anthropic', 'x-claude-code-session-id', 'abc')).toBe(h);
    expect(stickyKeyHash('openai-responses', 'x-claude-code-session-id', 'abc')).not.toBe(h);
    expect(stickyKeyHash('anthropic', 'first_message', 'abc')).not.toBe(h);
    expect(stickyKeyHash('anthropic', 'x-claude-code-session-id', 'abd')).not.toBe(h);
    // No separator ambiguity: ("a", "bc") and ("ab", "c") differ.
    expect(stickyKeyHash('p', 'a', 'bc')).not.toBe(stickyKeyHash('p', 'ab', 'c'));
  });

  it('renews only when less than renew_below remains (the 14-day rule)', () => {
    const b = { endpoint: 'A', expiresAt: 15 * DAY };
    expect(needsRenewal(b, 0, SEED)).toBe(false);
    expect(needsRenewal(b, DAY, SEED)).toBe(false);
    expect(needsRenewal(b, DAY + 1, SEED)).toBe(true);
  });

  it('follows a usable binding and replaces one to an unusable endpoint', () => {
    const b = { endpoint: 'A', expiresAt: DAY };
    expect(decideSticky(undefined, () => true)).toEqual({ outcome: 'miss', endpoint: undefined });
    expect(decideSticky(b, (e) => e === 'A')).toEqual({ outcome: 'hit', endpoint: 'A' });
    expect(decideSticky(b, (e) => e !== 'A')).toEqual({ outcome: 'rebind', endpoint: undefined });
  });

  it('writes a binding only when new, moved or running low', () => {
    const fresh = { endpoint: 'A', expiresAt: 15 * DAY };
    expect(bindingAfterSuccess(undefined, 'A', 0, SEED)).toEqual({ endpoint: 'A', expiresAt: 15 * DAY });
    expect(bindingAfterSuccess(fresh, 'A', DAY / 2, SEED)).toBeUndefined();
    expect(bindingAfterSuccess(fresh, 'B', DAY / 2, SEED)).toEqual({ endpoint: 'B', expiresAt: DAY / 2 + 15 * DAY });
    expect(bindingAfterSuccess(fresh, 'A', 2 * DAY, SEED)).toEqual({ endpoint: 'A', expiresAt: 17 * DAY });
  });
});

describe.each(liveStateBackends())('StickySessions over $name', (backend) => {
  const disposers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const d of disposers.splice(0)) await d();
  });

  it('keeps a daily-used session bound for months, and lets an idle one expire after 15 days', async () => {
    const opened = await backend.open();
    disposers.push(opened.dispose);
    const clock = new TestClock();
    const sticky = new StickySessions(opened.store, () => SEED);
    const usable = () => true;
    const key = stickyKeyHash('anthropic', 'x-claude-code-session-id', 'conv-1');

    let r = await sticky.lookup(key, clock.now(), usable);
    expect(r.outcome).toBe('miss');
    expect(await sticky.afterSuccess(key, 'A', clock.now(), r.binding)).toBe(true);

    const writes: boolean[] = [];
    for (let day = 1; day <= 60; day++) {
      await clock.advance(DAY);
      r = await sticky.lookup(key, clock.now(), usable);
      expect(r, `day ${day}`).toMatchObject({ outcome: 'hit', endpoint: 'A' });
      writes.push(await sticky.afterSuccess(key, 'A', clock.now(), r.binding));
    }
    // Renewed only when under 14 days remain (here every other day), never on every request.
    const hitsWithinADay = await sticky.lookup(key, clock.now() + 1000, usable);
    expect(await sticky.afterSuccess(key, 'A', clock.now() + 1000, hitsWithinADay.binding)).toBe(false);
    expect(writes.filter(Boolean).length).toBeGreaterThanOrEqual(29);

    await clock.advance(15 * DAY - 1);
    expect((await sticky.lookup(key, clock.now(), usable)).outcome).toBe('hit');
    await clock.advance(1);
    expect((await sticky.lookup(key, clock.now(), usable)).outcome).toBe('miss');
  });

  it('replaces a binding to an endpoint that is down with the one that served', async () => {
    const opened = await backend.open();
    disposers.push(opened.dispose);
    const clock = new TestClock();
    const sticky = new StickySessions(opened.store, () => SEED);
    const key = stickyKeyHash('openai-responses', 'session-id', 's-9');
    await sticky.afterSuccess(key, 'A', clock.now(), undefined);
    await clock.advance(DAY / 24);

    const r = await sticky.lookup(key, clock.now(), (e) => e !== 'A');
    expect(r.outcome).toBe('rebind');
    expect(await sticky.afterSuccess(key, 'B', clock.now(), r.binding)).toBe(true);
    expect(await opened.store.getBinding(key, clock.now())).toEqual({ endpoint: 'B', expiresAt: clock.now() + 15 * DAY });
    expect((await sticky.lookup(key, clock.now(), () => true)).endpoint).toBe('B');

    await sticky.forget(key);
    expect((await sticky.lookup(key, clock.now(), () => true)).outcome).toBe('miss');
  });
});
