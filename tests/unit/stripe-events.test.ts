/**
 * The Stripe adapter's translation of webhook events into neutral notices: which PaymentIntent,
 * which facts, whether refunds must be re-read. Events are built with the simulator's own
 * builders, typed with the `stripe` package's types.
 */
import type Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { noticeOf } from "../../lib/adapters/stripe-events.js";
import { UnreadableStripeObjectError } from "../../lib/adapters/stripe-facts.js";
import { findTestCard } from "../../local/stripe-simulator/cards.js";
import {
  chargeEvent,
  disputeEvent,
  NO_REQUEST,
  paymentIntentEvent,
} from "../../local/stripe-simulator/events.js";
import {
  buildCharge,
  buildDispute,
  buildPaymentIntent,
} from "../../local/stripe-simulator/objects.js";

const pi = buildPaymentIntent({
  amount: 2_000,
  currency: "eur",
  captureMethod: "automatic",
  description: null,
  metadata: { payment_id: "pay_1", order_id: "o1" },
  automaticPaymentMethods: true,
  paymentMethodTypes: ["card"],
  receiptEmail: null,
  statementDescriptor: null,
  statementDescriptorSuffix: null,
  customer: null,
  transferGroup: null,
});
const visa = findTestCard("pm_card_visa");
if (visa === undefined) throw new Error("no test card");
const charge = buildCharge(pi, "pm_1", visa, "succeeded");

describe("noticeOf", () => {
  it("a PaymentIntent event: its fact, metadata and creation time; creation is marked", () => {
    const succeeded: Stripe.PaymentIntent = { ...pi, status: "succeeded", amount_received: 2_000 };
    const notice = noticeOf(
      paymentIntentEvent("payment_intent.succeeded", succeeded, NO_REQUEST, 1),
    );
    expect(notice).toMatchObject({
      kind: "payment_intent.succeeded",
      paymentIntentId: pi.id,
      facts: [{ kind: "intent", status: "succeeded", amountReceived: 2_000 }],
      intent: { metadata: { payment_id: "pay_1", order_id: "o1" }, created: pi.created },
      refetchRefunds: false,
      creation: false,
    });
    expect(
      noticeOf(paymentIntentEvent("payment_intent.created", pi, NO_REQUEST, 1))?.creation,
    ).toBe(true);
  });

  it("charge.refunded asks for the refunds to be re-read; other charge events do not", () => {
    const refunded = noticeOf(chargeEvent("charge.refunded", charge, NO_REQUEST, 1));
    expect(refunded).toMatchObject({ paymentIntentId: pi.id, refetchRefunds: true });
    expect(refunded?.facts[0]).toMatchObject({ kind: "charge", status: "succeeded" });
    expect(noticeOf(chargeEvent("charge.succeeded", charge, NO_REQUEST, 1))?.refetchRefunds).toBe(
      false,
    );
    // A charge with no PaymentIntent (a legacy charge) is not ours to apply.
    expect(
      noticeOf(chargeEvent("charge.refunded", { ...charge, payment_intent: null }, NO_REQUEST, 1)),
    ).toBe(undefined);
  });

  it("a dispute event: the dispute fact; funds movements and unknown types give no notice", () => {
    const dispute = buildDispute(charge, pi.id);
    expect(noticeOf(disputeEvent("charge.dispute.created", dispute, NO_REQUEST, 1))).toMatchObject({
      paymentIntentId: pi.id,
      facts: [
        { kind: "dispute", disputeId: dispute.id, status: "needs_response", reason: "fraudulent" },
      ],
    });
    expect(noticeOf(disputeEvent("charge.dispute.funds_withdrawn", dispute, NO_REQUEST, 1))).toBe(
      undefined,
    );
  });

  it("an object missing what we read is refused before any notice", () => {
    const event = paymentIntentEvent(
      "payment_intent.succeeded",
      { ...pi, amount_received: -1 },
      NO_REQUEST,
      1,
    );
    expect(() => noticeOf(event)).toThrow(UnreadableStripeObjectError);
  });
});
