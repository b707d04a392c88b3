import { describe, expect, it } from "vitest";
import { stripeBudget } from "../../lib/adapters/stripe-payment-provider.js";
import { ProviderUnavailableError } from "../../lib/domain/errors.js";

describe("the Stripe budget from the invocation's remaining time", () => {
  it("outside an invocation: the client's defaults, with the key", () => {
    expect(stripeBudget("k", undefined)).toEqual({ idempotencyKey: "k" });
    expect(stripeBudget(undefined, undefined)).toEqual({});
  });

  it("fits every attempt and backoff before the cut-off, keeping 1.5 s back", () => {
    // A fresh 20 s invocation: two attempts of 8 s and a backoff fit in 18.5 s, three would not.
    expect(stripeBudget("k", 20_000)).toEqual({
      idempotencyKey: "k",
      timeout: 8_000,
      maxNetworkRetries: 1,
    });
    expect(stripeBudget("k", 60_000)).toMatchObject({ timeout: 8_000, maxNetworkRetries: 2 });
    // Little time left: one shorter attempt.
    expect(stripeBudget("k", 6_000)).toMatchObject({ timeout: 4_500, maxNetworkRetries: 0 });
    for (const left of [20_000, 12_000, 6_000, 2_100]) {
      const { timeout = 0, maxNetworkRetries = 0 } = stripeBudget("k", left);
      expect((maxNetworkRetries + 1) * timeout + maxNetworkRetries * 1_000).toBeLessThanOrEqual(
        left - 1_500,
      );
    }
  });

  it("no time left: a 503 that says nothing was sent", () => {
    let thrown: unknown;
    try {
      stripeBudget("k", 1_800);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ProviderUnavailableError);
    expect(thrown).toMatchObject({ mayHaveExecuted: false });
  });
});
