/**
 * What the API shows of payments and refunds. Only these shapes leave the service.
 */
import type { Payment, StatusChange } from "../domain/payment.js";
import type { Refund } from "../domain/refunds.js";

/** The 201 answer of POST /api/payments/intents, without the client secret (added per response). */
export interface CreatedPaymentView {
  readonly id: string;
  readonly orderId: string;
  readonly customerId: string;
  readonly status: string;
  readonly amount: number;
  readonly currency: string;
  readonly captureMethod: string;
  readonly stripePaymentIntentId: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export function createdPaymentView(p: Payment): CreatedPaymentView {
  return {
    id: p.id,
    orderId: p.orderId,
    customerId: p.customerId,
    status: p.status,
    amount: p.amount,
    currency: p.currency,
    captureMethod: p.captureMethod,
    stripePaymentIntentId: p.stripePaymentIntentId,
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
  };
}

/** The create answer with the client secret in the contract's place. */
export function withClientSecret(
  view: CreatedPaymentView,
  clientSecret: string,
): Record<string, unknown> {
  const { stripePaymentIntentId, createdAt, updatedAt, ...head } = view;
  return { ...head, clientSecret, stripePaymentIntentId, createdAt, updatedAt };
}

/** GET /api/payments/{id}: the payment, refunds so far, failure and history. */
export function paymentView(
  p: Payment,
  history: readonly StatusChange[],
  clientSecret: string | undefined,
): Record<string, unknown> {
  const { stripePaymentIntentId, createdAt, updatedAt, ...head } = createdPaymentView(p);
  return {
    ...head,
    ...(clientSecret === undefined ? {} : { clientSecret }),
    stripePaymentIntentId,
    amountCaptured: p.amountCaptured,
    amountRefunded: p.amountRefunded,
    ...(p.status === "failed"
      ? { failureCode: p.failureCode ?? "unknown", failureMessage: p.failureMessage ?? "" }
      : {}),
    ...(p.description === undefined ? {} : { description: p.description }),
    ...(p.metadata === undefined ? {} : { metadata: p.metadata }),
    createdAt,
    updatedAt,
    history: history.map((h) => ({ status: h.status, at: h.at, source: h.source })),
  };
}

/** The 202 answer of POST /api/payments/{id}/refund. */
export function refundView(r: Refund): Record<string, unknown> {
  return {
    id: r.id,
    paymentId: r.paymentId,
    amount: r.amount,
    status: r.status,
    createdAt: r.createdAt,
  };
}
