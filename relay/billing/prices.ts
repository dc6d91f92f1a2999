/**
 * Price table: per model, token prices (input, output, cache write, cache read per million
 * tokens), or a price per call, or free. A table has a version, recorded on every ledger row, so
 * a settlement is always priced by the version its pre-charge saw.
 */
import { createHash } from 'node:crypto';
import type { RequestInfo, Usage } from '../../protocols/types.js';
import { tokenLineCost, type Micros } from './money.js';

export type ModelPrice =
  | { kind: 'tokens'; input: Micros; output: Micros; cacheWrite: Micros; cacheRead: Micros }
  | { kind: 'call'; perCall: Micros }
  | { kind: 'free' };

export interface PriceTable {
  version: string;
  /** Exact model names and `prefix*` patterns (longest prefix wins). */
  models: Record<string, ModelPrice>;
}

export interface CostLine {
  item: 'input' | 'output' | 'cache_write' | 'cache_read' | 'call';
  units: number;
  /** Micro-dollars per million tokens, or per call. */
  unitPrice: Micros;
  cost: Micros;
}

export interface Cost {
  total: Micros;
  lines: CostLine[];
}

/** A version derived from the content, so two processes with the same table agree on it. */
export function priceTableVersion(models: Record<string, ModelPrice>): string {
  const canonical = JSON.stringify(Object.keys(models).sort().map((k) => [k, models[k]]));
  return `p-${createHash('sha256').update(canonical).digest('hex').slice(0, 10)}`;
}

/** The model's price: exact name, then the longest matching `prefix*`; a `type,` routing prefix is ignored. */
export function findPrice(table: PriceTable, model: string): ModelPrice | undefined {
  const name = model.includes(',') ? model.slice(model.indexOf(',') + 1) : model;
  const exact = table.models[name];
  if (exact) return exact;
  let best: { len: number; price: ModelPrice } | undefined;
  for (const [pattern, price] of Object.entries(table.models)) {
    if (!pattern.endsWith('*')) continue;
    const prefix = pattern.slice(0, -1);
    if (name.startsWith(prefix) && (!best || prefix.length > best.len)) best = { len: prefix.length, price };
  }
  return best?.price;
}

/** What a usage costs; each line rounded half up on its own (see money.ts). */
export function costOf(price: ModelPrice, usage: Usage, calls = 1): Cost {
  if (price.kind === 'free') return { total: 0, lines: [] };
  if (price.kind === 'call') {
    const cost = price.perCall * calls;
    return { total: cost, lines: [{ item: 'call', units: calls, unitPrice: price.perCall, cost }] };
  }
  const lines: CostLine[] = [
    line('input', usage.inputTokens, price.input),
    line('output', usage.outputTokens, price.output),
    line('cache_write', usage.cacheWriteTokens, price.cacheWrite),
    line('cache_read', usage.cacheReadTokens, price.cacheRead),
  ].filter((l) => l.units > 0);
  return { total: lines.reduce((s, l) => s + l.cost, 0), lines };
}

function line(item: CostLine['item'], units: number, unitPrice: Micros): CostLine {
  return { item, units, unitPrice, cost: tokenLineCost(units, unitPrice) };
}

/**
 * The reservation for a request before it runs: estimated input at the dearer of the input and
 * cache-write prices plus max output tokens at the output price, so that an honest upstream's
 * settlement never exceeds it unless the input estimate was low.
 */
export function reservationFor(price: ModelPrice, info: Pick<RequestInfo, 'estimatedInputTokens' | 'maxOutputTokens'>, defaultMaxOutput: number): Micros {
  if (price.kind !== 'tokens') return costOf(price, { inputTokens: 0, outputTokens: 0, cacheWriteTokens: 0, cacheReadTokens: 0 }).total;
  const inputPrice = Math.max(price.input, price.cacheWrite);
  return tokenLineCost(Math.max(0, Math.ceil(info.estimatedInputTokens)), inputPrice) + tokenLineCost(info.maxOutputTokens ?? defaultMaxOutput, price.output);
}
