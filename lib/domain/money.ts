/**
 * Money rules. Amounts are integers in the currency's minor unit (cents for `usd`, whole yen for
 * `jpy`), exactly as Stripe takes them. No floats anywhere.
 */

/** Largest amount Stripe accepts for a single charge (eight digits of minor units). */
export const MAX_AMOUNT = 99_999_999;

export interface CurrencyRule {
  /** Digits after the decimal point in the currency's usual display (0 for zero-decimal). */
  readonly decimals: 0 | 2;
  /** Stripe's minimum charge amount, in minor units. */
  readonly minimum: number;
}

/**
 * The currencies this service accepts: those for which Stripe publishes a fixed minimum charge
 * amount. Other presentment currencies have a minimum that depends on the day's exchange rate,
 * which cannot be checked before Stripe is called, so they are refused up front rather than failing
 * later at Stripe. Three-decimal currencies (bhd, kwd, ...) and the special cases huf/twd/isk
 * (zero-decimal at payout, two-decimal in the API) are left out on purpose.
 */
export const CURRENCIES: Readonly<Record<string, CurrencyRule>> = {
  aed: { decimals: 2, minimum: 200 },
  aud: { decimals: 2, minimum: 50 },
  bgn: { decimals: 2, minimum: 100 },
  brl: { decimals: 2, minimum: 50 },
  cad: { decimals: 2, minimum: 50 },
  chf: { decimals: 2, minimum: 50 },
  czk: { decimals: 2, minimum: 1500 },
  dkk: { decimals: 2, minimum: 250 },
  eur: { decimals: 2, minimum: 50 },
  gbp: { decimals: 2, minimum: 30 },
  hkd: { decimals: 2, minimum: 400 },
  inr: { decimals: 2, minimum: 50 },
  jpy: { decimals: 0, minimum: 50 },
  mxn: { decimals: 2, minimum: 1000 },
  myr: { decimals: 2, minimum: 200 },
  nok: { decimals: 2, minimum: 300 },
  nzd: { decimals: 2, minimum: 50 },
  pln: { decimals: 2, minimum: 200 },
  ron: { decimals: 2, minimum: 200 },
  sek: { decimals: 2, minimum: 300 },
  sgd: { decimals: 2, minimum: 50 },
  thb: { decimals: 2, minimum: 1000 },
  usd: { decimals: 2, minimum: 50 },
};

/** Lower-cases an ISO 4217 code and returns its rule, or undefined when not supported. */
export function currencyRule(code: string): CurrencyRule | undefined {
  const lower = code.toLowerCase();
  return Object.hasOwn(CURRENCIES, lower) ? CURRENCIES[lower] : undefined;
}

export type AmountProblem =
  | { kind: "not_integer" }
  | { kind: "below_minimum"; minimum: number }
  | { kind: "above_maximum"; maximum: number }
  | { kind: "unsupported_currency" };

/** Checks a charge amount against the currency's Stripe minimum and the global maximum. */
export function checkChargeAmount(amount: number, currency: string): AmountProblem | undefined {
  const rule = currencyRule(currency);
  if (rule === undefined) return { kind: "unsupported_currency" };
  if (!Number.isSafeInteger(amount)) return { kind: "not_integer" };
  if (amount < rule.minimum) return { kind: "below_minimum", minimum: rule.minimum };
  if (amount > MAX_AMOUNT) return { kind: "above_maximum", maximum: MAX_AMOUNT };
  return undefined;
}

/** Renders minor units for people (logs, messages): `formatMinor(1050, "usd")` is `10.50 USD`. */
export function formatMinor(amount: number, currency: string): string {
  const decimals = currencyRule(currency)?.decimals ?? 2;
  const sign = amount < 0 ? "-" : "";
  const abs = Math.abs(amount);
  if (decimals === 0) return `${sign}${abs} ${currency.toUpperCase()}`;
  const major = Math.trunc(abs / 100);
  const minor = String(abs % 100).padStart(2, "0");
  return `${sign}${major}.${minor} ${currency.toUpperCase()}`;
}
