/**
 * The payment as this service keeps it, and the pure rules over it. No AWS or Stripe imports.
 */
import type { Dispute } from "./disputes.js";

export const PAYMENT_STATUSES = [
  "initiated",
  "requires_action",
  "processing",
  "authorized",
  "captured",
  "failed",
  "canceled",
  "partially_refunded",
  "refunded",
] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

export type CaptureMethod = "automatic" | "manual";

/** Who made a status change: the HTTP API, the order.placed consumer, a Stripe webhook, or reconciliation. */
export type ChangeSource = "api" | "order.placed" | "stripe" | "reconciliation";

export interface StatusChange {
  readonly status: PaymentStatus;
  readonly at: string;
  readonly source: ChangeSource;
  /** The token's `sub` for API calls, else the source (entries written before actors: absent). */
  readonly actor?: string;
  /** For an entry about the payment's dispute (the status stays): the dispute's status then. */
  readonly dispute?: string;
}

/** The latest payment attempt Stripe reported, by Stripe's own clock (epoch seconds). */
export type AttemptOutcome = "none" | "requires_action" | "processing" | "failed";

/**
 * The facts Stripe has reported, each merged so that the order of arrival does not matter: flags
 * only turn on, amounts only grow, and the attempt keeps the newest by Stripe's timestamp.
 */
export interface Lifecycle {
  /** Funds were held (requires_capture) or taken at some point. */
  readonly authorized: boolean;
  readonly canceled: boolean;
  /** Still capturable (manual capture), 0 once captured or canceled. */
  readonly amountCapturable: number;
  readonly attemptAt: number;
  readonly attemptOutcome: AttemptOutcome;
  /** Stripe's charge of the latest attempt, when known. */
  readonly attemptId?: string;
}

export const NO_LIFECYCLE: Lifecycle = {
  authorized: false,
  canceled: false,
  amountCapturable: 0,
  attemptAt: 0,
  attemptOutcome: "none",
};

/** A stored payment. Never carries a client secret or card data. */
export interface Payment {
  readonly id: string;
  readonly orderId: string;
  readonly customerId: string;
  readonly status: PaymentStatus;
  readonly amount: number;
  readonly currency: string;
  readonly captureMethod: CaptureMethod;
  readonly description?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly stripePaymentIntentId: string;
  /** Captured so far (minor units); refunds are taken from this. */
  readonly amountCaptured: number;
  /** Refunds Stripe has confirmed. */
  readonly amountRefunded: number;
  /** Refunds accepted by this service and not yet settled or released. */
  readonly amountRefundPending: number;
  readonly failureCode?: string;
  readonly failureMessage?: string;
  /** What Stripe has told us, merged order-independently (lib/domain/lifecycle.ts). */
  readonly lifecycle: Lifecycle;
  /** The chargeback on the payment's charge, once Stripe reports one (lib/domain/disputes.ts). */
  readonly dispute?: Dispute;
  /** Optimistic-concurrency counter: every write of the payment item bumps it (refund releases too). */
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** When the payment entered its current status (the admin list sorts and filters by it). */
  readonly statusSince?: string;
  /**
   * Ids of the latest Stripe events applied to the payment, oldest first, at most
   * `APPLIED_STRIPE_EVENTS_KEPT`: a redelivery of one is known from the payment's own read. An older
   * event delivered again is merged again, which changes nothing it already holds (the facts merge
   * idempotently; a refund event re-reads Stripe's refunds and may bring newer ones).
   */
  readonly appliedStripeEvents?: readonly string[];
}

/** How many applied Stripe event ids a payment remembers (about 30 bytes each in its item). */
export const APPLIED_STRIPE_EVENTS_KEPT = 8;

/** The applied-event ids after `eventId` is applied: appended, the oldest dropped past the limit. */
export function withAppliedStripeEvent(
  ids: readonly string[] | undefined,
  eventId: string,
): readonly string[] {
  const kept = (ids ?? []).filter((id) => id !== eventId);
  return [...kept, eventId].slice(-APPLIED_STRIPE_EVENTS_KEPT);
}

/** Whether `eventId` is one of the Stripe events last applied to `payment`. */
export function hasAppliedStripeEvent(payment: Payment, eventId: string): boolean {
  return payment.appliedStripeEvents?.includes(eventId) === true;
}

/** Statuses in which the customer still has to act, so the client secret is still useful. */
export function awaitsCustomer(status: PaymentStatus): boolean {
  return status === "initiated" || status === "requires_action" || status === "failed";
}

/** Builds the record of a payment whose PaymentIntent Stripe has just created. */
export function newPayment(input: {
  id: string;
  orderId: string;
  customerId: string;
  amount: number;
  currency: string;
  captureMethod: CaptureMethod;
  description?: string | undefined;
  metadata?: Readonly<Record<string, string>> | undefined;
  stripePaymentIntentId: string;
  now: string;
}): Payment {
  return {
    id: input.id,
    orderId: input.orderId,
    customerId: input.customerId,
    status: "initiated",
    amount: input.amount,
    currency: input.currency,
    captureMethod: input.captureMethod,
    ...(input.description === undefined ? {} : { description: input.description }),
    ...(input.metadata === undefined ? {} : { metadata: input.metadata }),
    stripePaymentIntentId: input.stripePaymentIntentId,
    amountCaptured: 0,
    amountRefunded: 0,
    amountRefundPending: 0,
    lifecycle: NO_LIFECYCLE,
    version: 1,
    createdAt: input.now,
    updatedAt: input.now,
  };
}

export function isPaymentStatus(value: string): value is PaymentStatus {
  return (PAYMENT_STATUSES as readonly string[]).includes(value);
}
