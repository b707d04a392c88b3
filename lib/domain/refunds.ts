/**
 * Refund arithmetic. A refund is accepted only if it fits in what remains:
 *
 *   remaining = captured - refunded (settled at Stripe) - pending (accepted here, not settled)
 *
 * The pending part is reserved in the same conditional write that accepts the refund, so two
 * concurrent refunds can never both fit into the same remainder (see DynamoPaymentRepository).
 */
import { disputeBlocksRefunds } from "./disputes.js";
import type { Payment, PaymentStatus } from "./payment.js";

export type RefundReason = "duplicate" | "fraudulent" | "requested_by_customer";

/** Refund states, as Stripe names them. */
export const REFUND_STATUSES = [
  "pending",
  "requires_action",
  "succeeded",
  "failed",
  "canceled",
] as const;
export type RefundStatus = (typeof REFUND_STATUSES)[number];

export function isRefundStatus(value: string): value is RefundStatus {
  return (REFUND_STATUSES as readonly string[]).includes(value);
}

/** A refund as this service keeps it. */
export interface Refund {
  readonly id: string;
  readonly paymentId: string;
  readonly amount: number;
  readonly reason?: RefundReason;
  readonly status: RefundStatus;
  readonly stripeRefundId?: string;
  /** Whether the amount is still held against the payment's remainder. */
  readonly reservation: "held" | "released" | "settled";
  readonly createdAt: string;
  readonly updatedAt: string;
}

const REFUNDABLE: ReadonlySet<PaymentStatus> = new Set(["captured", "partially_refunded"]);

/** What can still be refunded, in minor units. */
export function refundableRemainder(
  p: Pick<Payment, "amountCaptured" | "amountRefunded" | "amountRefundPending">,
): number {
  return Math.max(0, p.amountCaptured - p.amountRefunded - p.amountRefundPending);
}

export type RefundDecision =
  | { ok: true; amount: number }
  | { ok: false; reason: "not_refundable" }
  | { ok: false; reason: "disputed" }
  | { ok: false; reason: "exceeds_remaining"; remaining: number };

/**
 * Decides whether a refund of `requested` (or, when undefined, of all that remains) may be
 * accepted for this payment as it stands.
 */
export function decideRefund(
  payment: Pick<
    Payment,
    "status" | "amountCaptured" | "amountRefunded" | "amountRefundPending" | "dispute"
  >,
  requested: number | undefined,
): RefundDecision {
  if (!REFUNDABLE.has(payment.status)) return { ok: false, reason: "not_refundable" };
  if (disputeBlocksRefunds(payment.dispute)) return { ok: false, reason: "disputed" };
  const remaining = refundableRemainder(payment);
  if (requested === undefined) {
    // Everything already refunded, or held by refunds in flight: nothing left to give back.
    return remaining > 0
      ? { ok: true, amount: remaining }
      : { ok: false, reason: "not_refundable" };
  }
  if (remaining === 0 && payment.amountRefunded >= payment.amountCaptured) {
    return { ok: false, reason: "not_refundable" };
  }
  if (requested > remaining) return { ok: false, reason: "exceeds_remaining", remaining };
  return { ok: true, amount: requested };
}
