/**
 * What the API shows of payments and refunds. Only these shapes leave the service.
 */
import { disputeBlocksRefunds } from "../domain/disputes.js";
import type { Payment, StatusChange } from "../domain/payment.js";
import type { Refund } from "../domain/refunds.js";
import type { OutboxSummary, StoredDeadLetter } from "../ports.js";

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
    ...(p.dispute === undefined
      ? {}
      : {
          dispute: {
            id: p.dispute.id,
            status: p.dispute.status,
            reason: p.dispute.reason,
            amount: p.dispute.amount,
            blocksRefunds: disputeBlocksRefunds(p.dispute),
          },
        }),
    createdAt,
    updatedAt,
    history: history.map((h) => ({
      status: h.status,
      at: h.at,
      source: h.source,
      actor: h.actor ?? h.source,
      ...(h.dispute === undefined ? {} : { dispute: h.dispute }),
    })),
  };
}

/** Where Stripe's Dashboard shows a PaymentIntent (test mode unless the key is live). */
export const stripeDashboardUrl = (paymentIntentId: string, live: boolean): string =>
  `https://dashboard.stripe.com/${live ? "" : "test/"}payments/${encodeURIComponent(paymentIntentId)}`;

/** A read payment; admins also see its refunds, its events and a Dashboard link. */
export function readoutView(
  readout: {
    readonly payment: Payment;
    readonly history: readonly StatusChange[];
    readonly clientSecret?: string;
    readonly admin?: {
      readonly refunds: readonly Refund[];
      readonly events: readonly OutboxSummary[];
    };
  },
  liveMode: boolean,
): Record<string, unknown> {
  const view = paymentView(readout.payment, readout.history, readout.clientSecret);
  if (readout.admin === undefined) return view;
  return {
    ...view,
    refunds: readout.admin.refunds.map((r) => ({
      id: r.id,
      amount: r.amount,
      status: r.status,
      ...(r.reason === undefined ? {} : { reason: r.reason }),
      ...(r.stripeRefundId === undefined ? {} : { stripeRefundId: r.stripeRefundId }),
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
    })),
    events: readout.admin.events,
    stripeDashboardUrl: stripeDashboardUrl(readout.payment.stripePaymentIntentId, liveMode),
  };
}

/** A dead letter as support sees it (the version stays inside). */
export function deadLetterView(letter: StoredDeadLetter): Record<string, unknown> {
  const { version: _version, ...shown } = letter;
  return shown;
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
