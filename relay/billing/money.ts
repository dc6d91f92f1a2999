/**
 * Money is an integer number of micro-dollars (1 = $0.000001), never a float. Prices are
 * configured as decimal dollars per million tokens and parsed exactly from their decimal text.
 *
 * Rounding rule (the only one): each line item (input, output, cache write, cache read, per call)
 * is rounded half up to a whole micro-dollar on its own, then line items are summed. Products are
 * computed in BigInt so tokens x price never loses precision.
 */
export type Micros = number;

export const MICROS_PER_DOLLAR = 1_000_000;

/** Decimal dollars ("3", "0.075", 2.5) to micro-dollars, exactly; more than 6 decimals is an error. */
export function parseMoney(value: number | string): Micros {
  const text = typeof value === 'number' ? numberText(value) : value.trim().replace(/^\$/, '');
  const m = /^(-)?(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) throw new Error(`invalid amount "${value}" (expected decimal dollars, e.g. 3 or 0.075)`);
  const [, sign, whole, fraction = ''] = m;
  if (fraction.length > 6) throw new Error(`amount "${value}" is finer than a micro-dollar (max 6 decimals)`);
  const micros = BigInt(whole) * 1_000_000n + BigInt(fraction.padEnd(6, '0'));
  if (micros > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`amount "${value}" is too large`);
  return Number(sign ? -micros : micros);
}

function numberText(n: number): string {
  if (!Number.isFinite(n)) throw new Error(`invalid amount ${n}`);
  // toFixed avoids exponent notation (1e-7); 7 places lets the 6-decimal check catch finer values.
  const fixed = n.toFixed(7).replace(/0+$/, '').replace(/\.$/, '');
  return fixed === '-0' ? '0' : fixed;
}

/** "$1.234567", "-$0.000100". Exact, for reports and API answers. */
export function formatMoney(micros: Micros): string {
  const sign = micros < 0 ? '-' : '';
  const abs = Math.abs(micros);
  return `${sign}$${Math.floor(abs / MICROS_PER_DOLLAR)}.${String(abs % MICROS_PER_DOLLAR).padStart(6, '0')}`;
}

/** Integer division of a non-negative BigInt, rounded half up. */
export function divRoundHalfUp(numerator: bigint, denominator: bigint): bigint {
  if (numerator < 0n || denominator <= 0n) throw new Error('divRoundHalfUp expects numerator >= 0 and denominator > 0');
  return (numerator * 2n + denominator) / (denominator * 2n);
}

/** Cost of `tokens` at `pricePerMillion` micro-dollars per million tokens, rounded half up. */
export function tokenLineCost(tokens: number, pricePerMillion: Micros): Micros {
  if (!Number.isSafeInteger(tokens) || tokens < 0) throw new Error(`invalid token count ${tokens}`);
  if (!Number.isSafeInteger(pricePerMillion) || pricePerMillion < 0) throw new Error(`invalid price ${pricePerMillion}`);
  return Number(divRoundHalfUp(BigInt(tokens) * BigInt(pricePerMillion), 1_000_000n));
}
