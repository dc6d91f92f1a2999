/**
 * What a custom-pass call costs, by its channel's billing strategy:
 *   free  - nothing (still recorded with its usage, for statistics)
 *   call  - the channel's per_call price, else the model's per-call price from the price table
 *   usage - the model's price from the billing price table
 * and what to reserve before the call.
 */
import type { Usage } from '../../protocols/types.js';
import type { Micros } from '../billing/money.js';
import { reservationFor, type ModelPrice } from '../billing/prices.js';
import type { LedgerBilling } from '../billing/service.js';
import type { PassBilling, PassSettings } from './config.js';

export type PassPrice = { ok: true; strategy: PassBilling; price: ModelPrice } | { ok: false; message: string };

export function passPrice(settings: PassSettings, billing: LedgerBilling, channel: string, model: string): PassPrice {
  const ch = settings.channels[channel];
  const strategy = ch?.billing ?? settings.defaultBilling;
  if (strategy === 'free') return { ok: true, strategy, price: { kind: 'free' } };
  const table = billing.priceFor(model);
  if (strategy === 'call') {
    const perCall = ch?.perCall ?? (table?.kind === 'call' ? table.perCall : undefined);
    if (perCall === undefined) return { ok: false, message: `channel "${channel}" bills per call but has no per_call price for model "${model}"` };
    return { ok: true, strategy, price: { kind: 'call', perCall } };
  }
  if (!table) return { ok: false, message: `model "${model}" has no price on this relay` };
  return { ok: true, strategy, price: table };
}

/** The reservation for an estimated usage (input incl. cache tokens, output as the maximum). */
export function passReservation(price: ModelPrice, estimate: Usage): Micros {
  return reservationFor(
    price,
    { estimatedInputTokens: estimate.inputTokens + estimate.cacheWriteTokens + estimate.cacheReadTokens, maxOutputTokens: estimate.outputTokens },
    estimate.outputTokens,
  );
}
