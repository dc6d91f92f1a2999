/**
 * Billing expectations (`expect.billing` in a scenario step), checked against the relay's ledger
 * (admin API `GET /admin/billing/ledger`, `/balances`) and the mocks' journal of the whole run.
 * Each check carries the expected and the actual value per key, so the report shows the charges
 * side by side.
 *
 * ```yaml
 * expect:
 *   billing:
 *     reconcile: true            # per key: ledger total == journal usage x price; nothing settled
 *                                #   twice; nothing pending; balance == start - ledger total
 *     pending: 0                 # reservations still open
 *     non_negative: true         # no balance below zero
 *     rows: { alice: { settle: ">0", refund: 2 } }   # ledger rows per key and kind
 *     balances: { alice: "9.5" }                     # exact balances, decimal dollars
 * ```
 * The expectation's schema lives with the others in schema.ts (which this file does not feed).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { JournalEntry } from '../../mocks/journal.js';
import { parseBillingConfig } from '../../relay/billing/config.js';
import type { Balance, LedgerRow } from '../../relay/billing/ledger.js';
import { formatMoney, parseMoney } from '../../relay/billing/money.js';
import { findPrice } from '../../relay/billing/prices.js';
import { reconcile } from '../../relay/billing/reconcile.js';
import { countMatches, type Check } from './expect.js';
import type { BillingExpectation } from './schema.js';

export interface LedgerView {
  ledger: LedgerRow[];
  balances: Balance[];
}

function openReservations(ledger: LedgerRow[]): number {
  const open = new Set<string>();
  for (const r of ledger) {
    if (r.kind === 'precharge') open.add(r.requestId);
    else if (r.kind === 'settle' || r.kind === 'refund') open.delete(r.requestId);
  }
  return open.size;
}

/** A relay settles just after it answers: give in-flight settlements a moment (real time, I/O). */
async function readSettled(read: () => Promise<LedgerView | undefined>): Promise<LedgerView | undefined> {
  for (let i = 0; ; i++) {
    const view = await read();
    if (!view || openReservations(view.ledger) === 0 || i >= 20) return view;
    await sleep(50);
  }
}

export async function billingChecks(
  expect: BillingExpectation,
  ctx: { read: () => Promise<LedgerView | undefined>; journal: JournalEntry[]; billingConfig: unknown },
): Promise<Check[]> {
  // Only expectations that need every settlement done wait for in-flight ones.
  const settled = expect.reconcile || expect.pending === 0 || expect.pending === '0';
  const view = settled ? await readSettled(ctx.read) : await ctx.read();
  if (!view) return [{ name: 'billing: the relay shows no ledger', pass: true, skipped: true, expected: 'a ledger', actual: '(not visible on this target)' }];
  const { ledger, balances } = view;
  const checks: Check[] = [];
  if (expect.reconcile) {
    const table = parseBillingConfig(ctx.billingConfig ?? {}, {}).prices;
    const rec = reconcile({ journal: ctx.journal, ledger, balances, priceOf: (m) => findPrice(table, m) });
    for (const k of rec.keys) {
      checks.push({
        name: `billing ${k.keyName}: charged what the upstreams delivered (${k.requests} requests)`,
        pass: k.expected === k.actual && k.mismatches.length === 0,
        expected: formatMoney(k.expected),
        actual: k.mismatches.length === 0 ? formatMoney(k.actual) : { total: formatMoney(k.actual), mismatches: k.mismatches.slice(0, 5) },
      });
      if (k.balance !== undefined) {
        checks.push({
          name: `billing ${k.keyName}: balance = start ${formatMoney(k.start)} - ledger total`,
          pass: k.balance === k.expectedBalance,
          expected: formatMoney(k.expectedBalance ?? 0),
          actual: formatMoney(k.balance),
        });
      }
    }
    checks.push({ name: 'billing: no request settled twice', pass: rec.settledTwice.length === 0, expected: [], actual: rec.settledTwice });
    checks.push({ name: 'billing: no reservation left pending', pass: rec.pending.length === 0, expected: [], actual: rec.pending });
    checks.push({ name: 'billing: no upstream usage left unbilled', pass: rec.unbilledUpstream.length === 0, expected: [], actual: rec.unbilledUpstream.slice(0, 5) });
  }
  if (expect.pending !== undefined) {
    const open = openReservations(ledger);
    checks.push({ name: 'billing: pending reservations', pass: countMatches(expect.pending, open), expected: expect.pending, actual: open });
  }
  if (expect.non_negative) {
    const negative = balances.filter((b) => b.balance < 0);
    checks.push({ name: 'billing: no balance below zero', pass: negative.length === 0, expected: [], actual: negative.map((b) => `${b.keyName} ${formatMoney(b.balance)}`) });
  }
  for (const [keyName, kinds] of Object.entries(expect.rows ?? {})) {
    for (const [k, want] of Object.entries(kinds)) {
      const n = ledger.filter((r) => r.keyName === keyName && r.kind === k).length;
      checks.push({ name: `billing ${keyName}: ${k} rows`, pass: countMatches(want, n), expected: want, actual: n });
    }
  }
  for (const [keyName, dollars] of Object.entries(expect.balances ?? {})) {
    const actual = balances.find((b) => b.keyName === keyName)?.balance;
    const want = parseMoney(dollars);
    checks.push({ name: `billing ${keyName}: balance`, pass: actual === want, expected: formatMoney(want), actual: actual === undefined ? 'no account' : formatMoney(actual) });
  }
  return checks;
}
