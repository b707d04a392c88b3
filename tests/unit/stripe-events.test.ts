/**
 * The Stripe adapter's translation of webhook events into neutral notices: which PaymentIntent,
 * which facts, whether refunds must be re-read. Events are built with the simulator's own
 * builders, typed with the `stripe` package's types.
 */
import type Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { noticeOf } from "../../lib/adapters/stripe-events.js";
import {
  checkEvent,
  intentFact,
  UnreadableStripeObjectError,
} from "../../lib/adapters/stripe-facts.js";
import { applyFact } from "../../lib/domain/lifecycle.js";
import { newPayment, type Payment } from "../../lib/domain/payment.js";
import { findTestCard } from "../../local/stripe-simulator/cards.js";
import {
  chargeEvent,
  disputeEvent,
  NO_REQUEST,
  paymentIntentEvent,
  refundEvent,
} from "../../local/stripe-simulator/events.js";
import {
  buildCharge,
  buildDispute,
  buildPaymentIntent,
  buildRefund,
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

  it("the payment the object names itself: a PaymentIntent's metadata, a refund's own; none for charges and disputes", () => {
    expect(
      noticeOf(paymentIntentEvent("payment_intent.succeeded", pi, NO_REQUEST, 1))?.claimedPaymentId,
    ).toBe("pay_1");
    const refund = (metadata: Stripe.Metadata) =>
      buildRefund({
        amount: 500,
        charge,
        paymentIntentId: pi.id,
        reason: null,
        metadata,
        pending: false,
      });
    // A refund this service made carries its payment next to our refund id.
    const ours = noticeOf(
      refundEvent(
        "refund.updated",
        refund({ payment_id: "pay_2", refund_id: "r1" }),
        NO_REQUEST,
        1,
      ),
    );
    expect(ours).toMatchObject({
      paymentIntentId: pi.id,
      claimedPaymentId: "pay_2",
      facts: [{ kind: "refund", refundId: "r1", amount: 500 }],
    });
    // One made in the Dashboard names none.
    const dashboard = noticeOf(refundEvent("refund.updated", refund({}), NO_REQUEST, 1));
    expect(dashboard).toMatchObject({ paymentIntentId: pi.id });
    expect(dashboard).not.toHaveProperty("claimedPaymentId");
    expect(noticeOf(chargeEvent("charge.refunded", charge, NO_REQUEST, 1))).not.toHaveProperty(
      "claimedPaymentId",
    );
    const dispute = buildDispute(charge, pi.id);
    expect(
      noticeOf(disputeEvent("charge.dispute.created", dispute, NO_REQUEST, 1)),
    ).not.toHaveProperty("claimedPaymentId");
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

  it("a PaymentIntent with null metadata (one made elsewhere) gives empty metadata, not a failure", () => {
    const body = JSON.stringify(paymentIntentEvent("payment_intent.succeeded", pi, NO_REQUEST, 1));
    const parsed: unknown = JSON.parse(body.replace(/"metadata":\{[^}]*\}/, '"metadata":null'));
    checkEvent(parsed);
    expect(noticeOf(parsed)).toMatchObject({ intent: { metadata: {} } });
  });
});

describe("intentFact: which attempt a PaymentIntent shows", () => {
  const declined: Stripe.PaymentIntent = {
    ...pi,
    status: "requires_payment_method",
    latest_charge: "ch_declined",
    last_payment_error: {
      type: "card_error",
      code: "card_declined",
      decline_code: "insufficient_funds",
      message: "Your card has insufficient funds.",
      charge: "ch_declined",
    },
  };

  const waiting: Stripe.PaymentIntent = {
    ...declined,
    status: "requires_action",
    last_payment_error: null,
  };
  const authFailed: Stripe.PaymentIntent = {
    ...declined,
    last_payment_error: {
      type: "invalid_request_error",
      code: "payment_intent_authentication_failure",
      message: "The provided PaymentMethod has failed authentication.",
    },
  };

  it("a decline is named by the charge its error names; processing by its latest charge", () => {
    expect(intentFact(declined, 10)).toMatchObject({
      attemptId: "ch_declined",
      failure: { code: "insufficient_funds" },
    });
    expect(
      intentFact({ ...pi, status: "processing", latest_charge: { ...charge, id: "ch_p" } }, 10),
    ).toMatchObject({ attemptId: "ch_p" });
  });

  it("a 3-D Secure attempt has no id, though latest_charge still names the earlier decline", () => {
    expect(intentFact(waiting, 20).attemptId).toBe(undefined);
    expect(intentFact(authFailed, 30)).toMatchObject({
      failure: { code: "payment_intent_authentication_failure" },
    });
    expect(intentFact(authFailed, 30).attemptId).toBe(undefined);
  });

  it("an API read is marked as one; an event is not", () => {
    expect(intentFact(declined, 10, "read").reread).toBe(true);
    expect(intentFact(declined, 10).reread).toBe(undefined);
  });

  it("a decline, then a 3-D Secure attempt that fails: failed with the authentication's code in every delivery order", () => {
    const facts = [intentFact(declined, 1), intentFact(waiting, 2), intentFact(authFailed, 3)];
    const orders = [
      [0, 1, 2],
      [0, 2, 1],
      [1, 0, 2],
      [1, 2, 0],
      [2, 0, 1],
      [2, 1, 0],
    ];
    for (const order of orders) {
      let payment: Payment = newPayment({
        id: "pay_1",
        orderId: "o1",
        customerId: "c1",
        amount: 2_000,
        currency: "eur",
        captureMethod: "automatic",
        stripePaymentIntentId: pi.id,
        now: "2026-01-01T00:00:00.000Z",
      });
      for (const i of order) {
        const fact = facts[i];
        if (fact !== undefined) payment = applyFact(payment, fact).payment;
      }
      expect({ order, status: payment.status, code: payment.failureCode }).toEqual({
        order,
        status: "failed",
        code: "payment_intent_authentication_failure",
      });
    }
  });
});
