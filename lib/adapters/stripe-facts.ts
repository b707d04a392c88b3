/**
 * Stripe objects (from webhooks or from the API) as the facts lib/domain/lifecycle.ts merges.
 * The failure code is the card's decline code where Stripe gives one, else the error code.
 */
import type Stripe from "stripe";
import type { ChargeFact, IntentFact, RefundFact } from "../domain/lifecycle.js";
import { isRefundStatus } from "../domain/refunds.js";

function failureOf(
  error: { code?: string; decline_code?: string; message?: string } | null | undefined,
): { code: string; message: string } | undefined {
  if (error === null || error === undefined) return undefined;
  return { code: error.decline_code ?? error.code ?? "unknown", message: error.message ?? "" };
}

export function intentFact(pi: Stripe.PaymentIntent, at: number): IntentFact {
  const failure = failureOf(pi.last_payment_error);
  const charge = pi.latest_charge ?? pi.last_payment_error?.charge;
  const attemptId =
    charge === null || charge === undefined
      ? undefined
      : typeof charge === "string"
        ? charge
        : charge.id;
  return {
    ...(attemptId === undefined ? {} : { attemptId }),
    kind: "intent",
    at,
    status: pi.status,
    amountCapturable: pi.amount_capturable,
    amountReceived: pi.amount_received,
    ...(failure === undefined ? {} : { failure }),
  };
}

export function chargeFact(charge: Stripe.Charge, at: number): ChargeFact {
  const failure =
    charge.failure_code === null
      ? undefined
      : {
          code: charge.outcome?.reason ?? charge.failure_code,
          message: charge.failure_message ?? "",
        };
  return {
    kind: "charge",
    at,
    status: charge.status,
    captured: charge.captured,
    amountCaptured: charge.amount_captured,
    ...(failure === undefined ? {} : { failure }),
  };
}

export function refundFact(refund: Stripe.Refund, at: number): RefundFact {
  const status = refund.status ?? "pending";
  const refundId = refund.metadata?.refund_id;
  return {
    kind: "refund",
    at,
    stripeRefundId: refund.id,
    ...(refundId === undefined ? {} : { refundId }),
    amount: refund.amount,
    status: isRefundStatus(status) ? status : "pending",
  };
}

/** The PaymentIntent id an object belongs to, if any. */
export function paymentIntentIdOf(object: {
  payment_intent?: string | Stripe.PaymentIntent | null;
}): string | undefined {
  const pi = object.payment_intent;
  if (pi === null || pi === undefined) return undefined;
  return typeof pi === "string" ? pi : pi.id;
}
