/**
 * Outgoing events (the envelope published to Kafka). They are written to the outbox in the same
 * transaction as the change they describe, with their id fixed at that moment, so a republish is
 * recognisable downstream.
 */
import type { Payment } from "./payment.js";

export const EVENT_TYPES = [
  "payment.initiated",
  "payment.authorized",
  "payment.failed",
  "payment.captured",
  "payment.refunded",
  "payment.disputed",
  "payment.dispute_closed",
] as const;
export type PaymentEventType = (typeof EVENT_TYPES)[number];

export interface PaymentEventData {
  readonly paymentId: string;
  readonly orderId: string;
  readonly customerId: string;
  readonly amount: number;
  readonly currency: string;
  readonly status: string;
  readonly failureCode?: string;
  readonly failureMessage?: string;
  readonly amountRefunded?: number;
  readonly refundId?: string;
  /** payment.disputed and payment.dispute_closed: the dispute as it stood. */
  readonly dispute?: {
    readonly id: string;
    readonly status: string;
    readonly reason: string;
    readonly amount: number;
  };
}

export interface OutboxEvent {
  readonly id: string;
  readonly type: PaymentEventType;
  readonly version: 1;
  readonly occurredAt: string;
  readonly source: "payment-service";
  readonly data: PaymentEventData;
}

/** The event describing `payment` as it now is. */
export function paymentEvent(
  type: PaymentEventType,
  payment: Payment,
  id: string,
  occurredAt: string,
  extra: Partial<Pick<PaymentEventData, "amountRefunded" | "refundId">> = {},
): OutboxEvent {
  return {
    id,
    type,
    version: 1,
    occurredAt,
    source: "payment-service",
    data: {
      paymentId: payment.id,
      orderId: payment.orderId,
      customerId: payment.customerId,
      amount: payment.amount,
      currency: payment.currency,
      status: payment.status,
      ...(type === "payment.failed"
        ? {
            failureCode: payment.failureCode ?? "unknown",
            failureMessage: payment.failureMessage ?? "",
          }
        : {}),
      ...((type === "payment.disputed" || type === "payment.dispute_closed") &&
      payment.dispute !== undefined
        ? {
            dispute: {
              id: payment.dispute.id,
              status: payment.dispute.status,
              reason: payment.dispute.reason,
              amount: payment.dispute.amount,
            },
          }
        : {}),
      ...extra,
    },
  };
}
