/**
 * The small interfaces the use cases take as parameters. Adapters in lib/adapters implement them;
 * nothing here imports an adapter.
 */

import type { Actor, AuditEntry } from "./domain/audit.js";
import type { OutboxEvent } from "./domain/events.js";
import type { IntentFact, RefundFact, RefundRecordState, StripeFact } from "./domain/lifecycle.js";
import type { OutboxItem, OutboxItemId, OutboxMessage } from "./domain/outbox.js";
import type { CaptureMethod, Payment, PaymentStatus, StatusChange } from "./domain/payment.js";
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

/** One page of a listing; `nextCursor` is absent on the last page. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly nextCursor?: string;
}

export interface PageRequest {
  /** A cursor this service handed out (opaque to callers; checked, never trusted). */
  readonly cursor?: string | undefined;
  readonly limit: number;
}

/** Payments by the time they entered their status, newest first, within [from, to]. */
export interface RecentQuery extends PageRequest {
  readonly statuses: readonly PaymentStatus[];
  readonly from?: string | undefined;
  readonly to?: string | undefined;
}

/**
 * An event of the payment's outbox and how it goes to Kafka: `stream`, handed to the table's
 * stream, whose publisher sends it and records nothing (unless it fails: then it is parked);
 * `parked`, could not be sent, the sweeper retries; `published`, sent after all and marked (by the
 * sweeper, or by an earlier version that marked every event).
 */
export interface OutboxSummary {
  readonly id: string;
  readonly type: string;
  readonly occurredAt: string;
  readonly delivery: "stream" | "parked" | "published";
  readonly publishedAt?: string;
}

/** A change to a payment computed from `before`; written only if `before` is still current. */
export interface ChangePlan {
  readonly before: Payment;
  readonly after: Payment;
  readonly history: readonly StatusChange[];
  readonly events: readonly OutboxEvent[];
  readonly refunds: readonly RefundRecordWrite[];
  /** The audit entry of the operation that made the change, written with it. */
  readonly audit?: AuditEntry;
}

export type ApplyChangeResult = "applied" | "conflict";

export interface PaymentRepository {
  /**
   * Writes a new payment, its first history entry, its outbox event and the order lock, all or
   * nothing. Fails softly when the order already has a payment.
   */
  insertNew(
    payment: Payment,
    actor: Actor,
    event: OutboxEvent,
    audit: AuditEntry,
  ): Promise<InsertPaymentResult>;
  get(paymentId: string): Promise<Payment | undefined>;
  getWithHistory(paymentId: string): Promise<PaymentWithHistory | undefined>;
  paymentIdForOrder(orderId: string): Promise<string | undefined>;
  getRefund(paymentId: string, refundId: string): Promise<Refund | undefined>;
  /** Holds `refund.amount` against `payment` if the payment is still at `payment.version`. */
  reserveRefund(payment: Payment, refund: Refund, audit: AuditEntry): Promise<ReserveRefundResult>;
  /** Gives a held amount back to the payment's remainder and marks the refund failed. Once only. */
  releaseRefund(refund: Refund, status: RefundStatus, now: string): Promise<void>;
  /**
   * The payment a Stripe PaymentIntent belongs to, by its legacy mapping item: read, no longer
   * written (since 2026-12-07), so it answers only for payments created before; a newer payment
   * is named by its PaymentIntent's metadata (`payment_id`) instead. The caller checks what it is
   * told (lib/use-cases/handle-stripe-event.ts, read-payments.ts).
   */
  paymentIdForIntent(paymentIntentId: string): Promise<string | undefined>;
  getRefundRecord(paymentId: string, key: string): Promise<RefundRecordState | undefined>;
  /** Ids of payments whose reconciliation look is due at `now`, oldest due first. */
  dueForReconciliation(now: string, limit: number): Promise<string[]>;
  /** Schedules the next reconciliation look at `nextAt`, or takes the payment off the list. */
  setWatch(paymentId: string, nextAt: string | undefined, readVersion: number): Promise<void>;
  listRefunds(paymentId: string): Promise<Refund[]>;
  /** Writes a change (payment with its history and applied event ids, outbox, refund records, audit), all or nothing. */
  applyChange(plan: ChangePlan): Promise<ApplyChangeResult>;
  /** Whether `applyChange` can write this plan in one transaction (the store's limits). */
  changeFits(plan: ChangePlan): boolean;
  /** Writes an audit entry of `paymentId` (again: the same id replaces it, e.g. its outcome). */
  recordAudit(paymentId: string, entry: AuditEntry): Promise<void>;
  /** The payment's audit trail, newest first. */
  listAudit(paymentId: string, page: PageRequest): Promise<Page<AuditEntry>>;
  /** The payment's outgoing events, oldest first. */
  listOutbox(paymentId: string): Promise<OutboxSummary[]>;
  /** Ids of a customer's payments, newest first. */
  paymentIdsForCustomer(customerId: string, page: PageRequest): Promise<Page<string>>;
  /** Ids of payments by the time they entered their status, newest first. */
  recentPaymentIds(query: RecentQuery): Promise<Page<string>>;
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
  /** When Stripe created it (epoch seconds). */
  readonly created: number;
  readonly fact: IntentFact;
  readonly metadata: Readonly<Record<string, string>>;
}

export interface ProviderRefund {
  readonly id: string;
  readonly status: RefundStatus;
}

/** The payment provider (Stripe). Every write takes our idempotency key. */
/**
 * A verified notice from the payment provider (a Stripe webhook event, translated by
 * lib/adapters/stripe-events.ts): what it is about and what it says, in the domain's terms.
 */
export interface PaymentNotice {
  /** The provider's event id: a notice is applied at most once. */
  readonly eventId: string;
  /** The provider's name for it (for the audit trail and logs; nothing decides on it). */
  readonly kind: string;
  readonly paymentIntentId: string;
  readonly facts: readonly StripeFact[];
  /** The notice says a refund happened but not which: read the PaymentIntent's refunds too. */
  readonly refetchRefunds: boolean;
  /** The PaymentIntent's creation: nothing the record will not hold once written. */
  readonly creation: boolean;
  /**
   * The payment the notice's own object names in its metadata (`payment_id`): the
   * PaymentIntent's (set at creation), or a refund's (set on the refunds this service makes).
   * A claim, not a fact: believed only when that payment's PaymentIntent is this notice's.
   */
  readonly claimedPaymentId?: string;
  /** The PaymentIntent's metadata and creation time, when the notice carries the PaymentIntent. */
  readonly intent?: {
    readonly metadata: Readonly<Record<string, string>>;
    readonly created: number;
  };
}

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
  /**
   * The PaymentIntent as Stripe shows it now, with its metadata (whose `payment_id` names the
   * payment it was made for: how a payment without a legacy mapping item is found from it).
   */
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

/** The outbox: the outgoing events of each change, kept with it a week; failures parked. */
export interface DueOutbox {
  readonly items: readonly OutboxItem[];
  /** Stored items that could not be read as outbox items, set aside (their keys, for people). */
  readonly unreadable: readonly string[];
}

export interface OutboxStore {
  /** Marks a parked item published at `now`: out of the sweeper's index (a gone item is left alone). */
  markPublished(item: OutboxItemId, now: string): Promise<void>;
  /**
   * Parks the item for the sweeper (the publisher could not send it, or the stream gave up on it):
   * it is kept until published. An item published since is left alone; one gone is written back.
   */
  park(item: OutboxItem, now: string): Promise<void>;
  /**
   * Parked items whose sweep time has come, oldest first; and the names of those among them that
   * are no outbox item (corrupt), which it sets aside so they do not take the places of readable
   * ones at every sweep.
   */
  due(now: string, limit: number): Promise<DueOutbox>;
  /**
   * The same payment's parked items up to and including `item`, oldest first (`item` is among
   * them only if it is parked itself).
   */
  parkedUpTo(item: OutboxItemId): Promise<OutboxItem[]>;
}

/** A record of `order.placed` that could not become a payment, and why. */
export interface DeadLetter {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key?: string | undefined;
  /** The record's value, decoded to text. */
  readonly value: string;
  readonly reason: string;
}

export type DeadLetterStatus = "open" | "redriven" | "discarded";

export interface StoredDeadLetter extends DeadLetter {
  /** Derived from topic, partition and offset: a record set aside twice is one dead letter. */
  readonly id: string;
  readonly status: DeadLetterStatus;
  /** Times it was processed: 1 when set aside, one more per redrive. */
  readonly attempts: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Who closed it (redrive or discard), when, why and with what result. */
  readonly resolution?: {
    readonly actor: string;
    readonly at: string;
    readonly reason?: string;
    readonly outcome: string;
    readonly paymentId?: string;
  };
  /** Optimistic-concurrency counter. */
  readonly version: number;
}

export interface DeadLetterStore {
  /** Sets a record aside (once: the same record again changes nothing). */
  send(letter: DeadLetter): Promise<void>;
  get(id: string): Promise<StoredDeadLetter | undefined>;
  list(status: DeadLetterStatus, page: PageRequest): Promise<Page<StoredDeadLetter>>;
  /** Writes `next` if `before` is still current, with its audit entry; false on a conflict. */
  update(before: StoredDeadLetter, next: StoredDeadLetter, audit: AuditEntry): Promise<boolean>;
  listAudit(id: string, page: PageRequest): Promise<Page<AuditEntry>>;
}
