/**
 * Key layout of the payments table (documented in infra/tables.ts): the partition and sort keys
 * of every item kind, and the attributes of the sparse indexes (`byWatch`, `byStatus`). Nothing
 * else builds or takes apart a key; the domain and the ports never see one.
 */
import type { OutboxItemId } from "../domain/outbox.js";
import type { Payment } from "../domain/payment.js";
import type { DeadLetterStatus } from "../ports.js";

/** Partition key prefix of a payment and of everything stored with it. */
const PAYMENT_PK_PREFIX = "PAYMENT#";
export const paymentPk = (paymentId: string) => `${PAYMENT_PK_PREFIX}${paymentId}`;
/** The payment id of a payment's partition key (any other value is returned unchanged). */
export const paymentIdOfPk = (pk: string) =>
  pk.startsWith(PAYMENT_PK_PREFIX) ? pk.slice(PAYMENT_PK_PREFIX.length) : pk;
export const isPaymentPk = (pk: string) => pk.startsWith(PAYMENT_PK_PREFIX);

/**
 * Sort key of the payment item. Also the prefix of the history items of payments written before
 * the history moved into the payment item (`PAYMENT#HISTORY#<version>`): one `begins_with` reads
 * both.
 */
export const PAYMENT_SK = "PAYMENT";

/** Every refund item's sort key starts so. */
export const REFUND_SK_PREFIX = "REFUND#";
export const refundSk = (refundId: string) => `${REFUND_SK_PREFIX}${refundId}`;

/** The one-payment-per-order lock. */
export const orderPk = (orderId: string) => `ORDER#${orderId}`;
export const ORDER_SK = "ORDER";

/** Which payment a Stripe PaymentIntent belongs to: legacy items (read, no longer written). */
export const intentPk = (paymentIntentId: string) => `INTENT#${paymentIntentId}`;
export const INTENT_SK = "INTENT";

/** A payment's version, padded so that keys sort by it. */
const seq = (version: number) => String(version).padStart(10, "0");
/** An event's index within its version, padded so that sort keys keep the events' order. */
const padIndex = (index: number) => String(index).padStart(4, "0");

/** Every outbox item's sort key starts so (and sorts by version, then index). */
export const OUTBOX_SK_PREFIX = "OUTBOX#";
export const outboxSk = (version: number, index: number, eventId: string) =>
  `${OUTBOX_SK_PREFIX}${seq(version)}#${padIndex(index)}#${eventId}`;

/**
 * An outbox item's keys from its identity (its payment, and its position: the sort key after the
 * prefix), and back. Keys that are no outbox item's have no identity.
 */
export const outboxKey = (id: OutboxItemId) => ({
  pk: paymentPk(id.paymentId),
  sk: `${OUTBOX_SK_PREFIX}${id.position}`,
});
export function outboxIdOf(pk: string, sk: string): OutboxItemId | undefined {
  if (!isPaymentPk(pk) || !sk.startsWith(OUTBOX_SK_PREFIX)) return undefined;
  return { paymentId: paymentIdOfPk(pk), position: sk.slice(OUTBOX_SK_PREFIX.length) };
}

/** Every audit entry's sort key starts so (under the pk of what it is about). */
export const AUDIT_SK_PREFIX = "AUDIT#";
export const auditSk = (entryId: string) => `${AUDIT_SK_PREFIX}${entryId}`;

/** A dead letter of `order.placed`. */
const DEAD_LETTER_PK_PREFIX = "DEADLETTER#";
export const deadLetterPk = (id: string) => `${DEAD_LETTER_PK_PREFIX}${id}`;
/** The dead letter id of a dead letter's partition key (any other value is returned unchanged). */
export const deadLetterIdOfPk = (pk: string) =>
  pk.startsWith(DEAD_LETTER_PK_PREFIX) ? pk.slice(DEAD_LETTER_PK_PREFIX.length) : pk;
export const isDeadLetterPk = (pk: string) => pk.startsWith(DEAD_LETTER_PK_PREFIX);
export const DEAD_LETTER_SK = "DEADLETTER";

// ---- the `byWatch` index (watch, watchAt): sparse, one partition per kind of work.

/** `watch` value of payments reconciliation must look at (`watchAt`: when the next look is due). */
export const PAYMENT_WATCH = "open";

/**
 * `watch` value of outbox items parked for the sweeper: the publisher could not send them (or an
 * older item of their payment was parked), or the stream gave up on their batch. Items the stream
 * hands over and the publisher sends are never in the index. (Items written before 2026-12-07's
 * evening release entered the index when written, with the same value.)
 */
export const OUTBOX_WATCH = "outbox";
/**
 * `watch` value of an item in the outbox's place that is no outbox item (corrupt): the sweeper
 * sets it aside here, out of its way, for people to look at (`watch = outbox-unreadable`).
 */
export const OUTBOX_UNREADABLE_WATCH = "outbox-unreadable";
/**
 * `watchAt` of a parked outbox item: due at once, and in the order the changes happened (the
 * change's time, then its position among the payment's items), so a sweep takes the oldest first.
 */
export const outboxWatchAt = (firstOccurredAt: string, position: string) =>
  `${firstOccurredAt}#${position}`;
/** Outbox items expire (TTL) this long after their change, or after a parked one is published. */
const OUTBOX_KEEP_SECONDS = 7 * 24 * 3600;
/** The TTL (epoch seconds) of an outbox item whose clock starts at `from`. */
export const outboxExpiresAt = (from: string) =>
  Math.floor(Date.parse(from) / 1000) + OUTBOX_KEEP_SECONDS;

/** `watch` and `watchAt` of a dead letter: listed by status, newest first. */
export const deadLetterWatch = (status: DeadLetterStatus) => `dead_letter:${status}`;
export const deadLetterWatchAt = (createdAt: string, id: string) => `${createdAt}#${id}`;

// ---- the `byStatus` index (listStatus, listAt).

/**
 * The `byStatus` index keys of a payment item (only payment items carry them): its status, and
 * when it entered it with its id (unique, so a cursor is one value). They change with the status
 * only, so the index is rewritten about three times in a payment's life.
 */
export const listKeys = (payment: Payment, statusSince: string) => ({
  statusSince,
  listStatus: payment.status,
  listAt: `${statusSince}#${payment.id}`,
});
/** The payment id of a `listAt` value. */
export const paymentIdOfListAt = (listAt: string) => listAt.slice(listAt.lastIndexOf("#") + 1);
/** Whether a `listAt` value (a cursor's) is one `listKeys` writes. */
export const isListAt = (value: string) => /^[^#]{1,40}#pay_[0-9a-z]{26}$/.test(value);
/** An upper bound of `listAt` at time `to`: after every `<to>#<payment id>`. */
export const listAtUpTo = (to: string) => `${to}#~`;
