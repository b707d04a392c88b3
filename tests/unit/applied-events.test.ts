import { describe, expect, it } from "vitest";
import {
  APPLIED_STRIPE_EVENTS_KEPT,
  hasAppliedStripeEvent,
  newPayment,
  withAppliedStripeEvent,
} from "../../lib/domain/payment.js";

const payment = newPayment({
  id: "pay_x",
  orderId: "o1",
  customerId: "c1",
  amount: 1_000,
  currency: "eur",
  captureMethod: "automatic",
  stripePaymentIntentId: "pi_x",
  now: "2026-12-07T10:00:00.000Z",
});

describe("the Stripe events a payment remembers", () => {
  it("appends the newest, once, and drops the oldest past the limit", () => {
    expect(withAppliedStripeEvent(undefined, "evt_a")).toEqual(["evt_a"]);
    expect(withAppliedStripeEvent(["evt_a", "evt_b"], "evt_a")).toEqual(["evt_b", "evt_a"]);
    let ids: readonly string[] | undefined;
    for (let n = 0; n < APPLIED_STRIPE_EVENTS_KEPT + 3; n++)
      ids = withAppliedStripeEvent(ids, `evt_${n}`);
    expect(ids).toHaveLength(APPLIED_STRIPE_EVENTS_KEPT);
    expect(ids?.[0]).toBe("evt_3");
    expect(ids?.at(-1)).toBe(`evt_${APPLIED_STRIPE_EVENTS_KEPT + 2}`);
  });

  it("knows an event only once it is among them", () => {
    expect(hasAppliedStripeEvent(payment, "evt_a")).toBe(false);
    const applied = { ...payment, appliedStripeEvents: withAppliedStripeEvent(undefined, "evt_a") };
    expect(hasAppliedStripeEvent(applied, "evt_a")).toBe(true);
    expect(hasAppliedStripeEvent(applied, "evt_b")).toBe(false);
  });
});
