import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CURRENCIES,
  checkChargeAmount,
  currencyRule,
  formatMinor,
  MAX_AMOUNT,
} from "../../lib/domain/money.js";

describe("currency rules", () => {
  it.each([
    ["usd", 2, 50],
    ["USD", 2, 50],
    ["eur", 2, 50],
    ["gbp", 2, 30],
    ["jpy", 0, 50],
    ["czk", 2, 1500],
    ["mxn", 2, 1000],
    ["hkd", 2, 400],
  ])("%s has %i decimals and a minimum of %i minor units", (code, decimals, minimum) => {
    expect(currencyRule(code)).toEqual({ decimals, minimum });
  });

  it.each(["xyz", "constructor", "__proto__", "toString", "huf", "kwd", ""])(
    "refuses %j",
    (code) => {
      expect(currencyRule(code)).toBeUndefined();
      expect(checkChargeAmount(100, code)).toEqual({ kind: "unsupported_currency" });
    },
  );
});

describe("checkChargeAmount", () => {
  it.each([
    [50, "usd", undefined],
    [49, "usd", { kind: "below_minimum", minimum: 50 }],
    [29, "gbp", { kind: "below_minimum", minimum: 30 }],
    [50, "jpy", undefined],
    [49, "jpy", { kind: "below_minimum", minimum: 50 }],
    [MAX_AMOUNT, "usd", undefined],
    [MAX_AMOUNT + 1, "usd", { kind: "above_maximum", maximum: MAX_AMOUNT }],
    [10.5, "usd", { kind: "not_integer" }],
    [Number.NaN, "usd", { kind: "not_integer" }],
  ])("%d %s -> %j", (amount, currency, expected) => {
    expect(checkChargeAmount(amount, currency)).toEqual(expected);
  });

  it("accepts exactly the integers between the currency minimum and the maximum", () => {
    const codes = Object.keys(CURRENCIES);
    fc.assert(
      fc.property(
        fc.constantFrom(...codes),
        fc.integer({ min: -10, max: MAX_AMOUNT + 10 }),
        (code, amount) => {
          const rule = CURRENCIES[code];
          if (rule === undefined) throw new Error("unreachable");
          const ok = checkChargeAmount(amount, code) === undefined;
          expect(ok).toBe(amount >= rule.minimum && amount <= MAX_AMOUNT);
        },
      ),
    );
  });
});

describe("formatMinor", () => {
  it.each([
    [1050, "usd", "10.50 USD"],
    [5, "eur", "0.05 EUR"],
    [-1050, "usd", "-10.50 USD"],
    [500, "jpy", "500 JPY"],
    [0, "gbp", "0.00 GBP"],
  ])("%d %s is %s", (amount, currency, text) => {
    expect(formatMinor(amount, currency)).toBe(text);
  });
});
