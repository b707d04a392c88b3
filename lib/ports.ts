/**
 * The small interfaces the use cases take as parameters. Adapters in lib/adapters implement them;
 * nothing here imports an adapter.
 */

import type { OutboxEvent } from "./domain/events.js";
import type { IntentFact, RefundFact, RefundRecordState } from "./domain/lifecycle.js";
import type { OutboxItem, OutboxMessage } from "./domain/outbox.js";
import type { CaptureMethod, ChangeSource, Payment, StatusChange } from "./domain/payment.js";
import type { Refund, RefundReason, RefundStatus } from "./domain/refunds.js";

/** A payment with its history, oldest first. */
export interface PaymentWithHistory {
  readonly payment: Payment;
  readonly history: readonly StatusChange[];
}

export type InsertPaymentResult =
  | { inserted: true }
  /** The order already belongs to a payment (maybe this very one, written by an earlier try). */
  | { inserted: false; reason: "order_taken"; existingPaymentId: string }
  /** A payment with this id exists for another order (an Idempotency-Key reused after its window). */
  | { inserted: false; reason: "payment_id_taken" }
  /** A concurrent transaction got in the way and the order is still free: try again. */
  | { inserted: false; reason: "conflict" };

export type ReserveRefundResult =
  | { outcome: "reserved"; refund: Refund }
  /** A refund with this id already exists (a retry of the same request). */
  | { outcome: "exists"; refund: Refund }
  /** The payment changed since it was read; read again and decide again. */
  | { outcome: "conflict" };

/** One write of a refund record during a change (prior: as read; undefined: not there yet). */
export interface RefundRecordWrite {
  /** Our refund id, or `ext_<stripeRefundId>` for a refund made outside this service. */
  readonly key: string;
  readonly stripeRefundId: string;
  readonly prior: RefundRecordState | undefined;
  readonly next: RefundRecordState;
}

/** A change to a payment computed from `before`; written only if `before` is still current. */
export interface ChangePlan {
  readonly before: Payment;
  readonly after: Payment;
  readonly history: readonly StatusChange[];
  readonly events: readonly OutboxEvent[];
  readonly refunds: readonly RefundRecordWrite[];
  /** The Stripe event this change comes from, recorded with it so it is applied once. */
  readonly stripeEventId?: string;
}

export type ApplyChangeResult = "applied" | "conflict" | "duplicate_event";

export interface PaymentRepository {
  /**
   * Writes a new payment, its first history entry, its outbox event and the order lock, all or
   * nothing. Fails softly when the order already has a payment.
   */
  insertNew(
    payment: Payment,
    source: ChangeSource,
    event: OutboxEvent,
  ): Promise<InsertPaymentResult>;
  get(paymentId: string): Promise<Payment | undefined>;
  getWithHistory(paymentId: string): Promise<PaymentWithHistory | undefined>;
  paymentIdForOrder(orderId: string): Promise<string | undefined>;
  getRefund(paymentId: string, refundId: string): Promise<Refund | undefined>;
  /** Holds `refund.amount` against `payment` if the payment is still at `payment.version`. */
  reserveRefund(payment: Payment, refund: Refund): Promise<ReserveRefundResult>;
  /** Gives a held amount back to the payment's remainder and marks the refund failed. Once only. */
  releaseRefund(refund: Refund, status: RefundStatus, now: string): Promise<void>;
  /** The payment a Stripe PaymentIntent belongs to. */
  paymentIdForIntent(paymentIntentId: string): Promise<string | undefined>;
  hasAppliedStripeEvent(eventId: string): Promise<boolean>;
  getRefundRecord(paymentId: string, key: string): Promise<RefundRecordState | undefined>;
  /** Ids of payments whose reconciliation look is due at `now`, oldest due first. */
  dueForReconciliation(now: string, limit: number): Promise<string[]>;
  /** Schedules the next reconciliation look at `nextAt`, or takes the payment off the list. */
  setWatch(paymentId: string, nextAt: string | undefined, readVersion: number): Promise<void>;
  listRefunds(paymentId: string): Promise<Refund[]>;
  /** Writes a change (payment, history, outbox, refund records, Stripe event id), all or nothing. */
  applyChange(plan: ChangePlan): Promise<ApplyChangeResult>;
  /** Whether `applyChange` can write this plan in one transaction (the store's limits). */
  changeFits(plan: ChangePlan): boolean;
  /** Records what Stripe answered for a held refund (the amount stays held until settled). */
  recordProviderRefund(
    refund: Refund,
    stripeRefundId: string,
    status: RefundStatus,
    now: string,
  ): Promise<Refund>;
}

export interface CreatedPaymentIntent {
  readonly id: string;
  /** Handed to the caller, never stored or logged. */
  readonly clientSecret: string;
}

export interface IntentSnapshot {
  readonly id: string;
  readonly fact: IntentFact;
  readonly metadata: Readonly<Record<string, string>>;
}

export interface ProviderRefund {
  readonly id: string;
  readonly status: RefundStatus;
}

/** The payment provider (Stripe). Every write takes our idempotency key. */
export interface PaymentProvider {
  createPaymentIntent(
    input: {
      amount: number;
      currency: string;
      captureMethod: CaptureMethod;
      description?: string | undefined;
      metadata: Readonly<Record<string, string>>;
    },
    idempotencyKey: string,
  ): Promise<CreatedPaymentIntent>;
  /** The client secret of an existing PaymentIntent, fetched fresh (it is never stored). */
  clientSecret(paymentIntentId: string): Promise<string>;
  /** The PaymentIntent as Stripe shows it now, with its metadata. */
  retrieveIntent(paymentIntentId: string): Promise<IntentSnapshot>;
  cancelPaymentIntent(
    paymentIntentId: string,
    idempotencyKey: string,
    reason: "duplicate" | "requested_by_customer" | "abandoned",
  ): Promise<IntentFact>;
  capturePaymentIntent(
    paymentIntentId: string,
    amount: number | undefined,
    idempotencyKey: string,
  ): Promise<IntentFact>;
  /** Every refund of the PaymentIntent, as Stripe shows them now. */
  listRefunds(paymentIntentId: string): Promise<RefundFact[]>;
  createRefund(
    input: {
      paymentIntentId: string;
      amount: number;
      reason?: RefundReason | undefined;
      metadata: Readonly<Record<string, string>>;
    },
    idempotencyKey: string,
  ): Promise<ProviderRefund>;
}

export interface Clock {
  now(): string;
}

export const systemClock: Clock = { now: () => new Date().toISOString() };

/** Sends one message to the event bus (Kafka); resolves once the broker has it. */
export interface EventPublisher {
  publish(message: OutboxMessage): Promise<void>;
}

/** The outbox items of the payments table. */
export interface OutboxStore {
  markPublished(item: Pick<OutboxItem, "pk" | "sk">, now: string): Promise<void>;
  /** Items still unpublished whose sweep time has come, oldest first. */
  due(now: string, limit: number): Promise<OutboxItem[]>;
  /**
   * The same payment's unpublished items up to and including `item`, oldest first (`item` is
   * missing when it is already published or gone).
   */
  unpublishedUpTo(item: Pick<OutboxItem, "pk" | "sk">): Promise<OutboxItem[]>;
}
