/**
 * Items of the payments table ⇄ the domain: what each item kind stores and how it reads back.
 * Items are our own writes, but a corrupt one must fail loudly, not propagate: every decoder of
 * an item that must be there throws an error naming the item (its pk) and what is wrong.
 * Keys come from dynamo-keys.ts.
 */
import type { Dispute } from "../domain/disputes.js";
import { EVENT_TYPES, type OutboxEvent } from "../domain/events.js";
import type { OutboxItem } from "../domain/outbox.js";
import {
  isPaymentStatus,
  type Lifecycle,
  NO_LIFECYCLE,
  type Payment,
  type StatusChange,
} from "../domain/payment.js";
import { isRefundStatus, type Refund } from "../domain/refunds.js";
import * as z from "../zod.js";
import {
  ORDER_SK,
  OUTBOX_WATCH,
  orderPk,
  outboxExpiresAt,
  outboxIdOf,
  outboxSk,
  paymentPk,
  refundSk,
} from "./dynamo-keys.js";

/** An item as the document client reads and writes it. */
export type Item = Record<string, unknown>;

// ---- encoders

/** The one-payment-per-order lock of `payment`'s order. */
export function orderItem(payment: Payment): Item {
  return {
    pk: orderPk(payment.orderId),
    sk: ORDER_SK,
    type: "order",
    paymentId: payment.id,
    createdAt: payment.createdAt,
  };
}

/** A refund as its item holds it, under its payment. */
export function refundItem(paymentId: string, refund: Refund): Item {
  return { ...refund, pk: paymentPk(paymentId), sk: refundSk(refund.id), type: "refund" };
}

/** One history entry as the payment item's `history` list holds it. */
export function storedChange(change: StatusChange): Item {
  return {
    status: change.status,
    at: change.at,
    source: change.source,
    ...(change.actor === undefined ? {} : { actor: change.actor }),
    ...(change.dispute === undefined ? {} : { dispute: change.dispute }),
  };
}

/**
 * The outgoing events of one change, in order. The table's stream hands the item to the
 * publisher, which sends them and writes nothing back: the item is in no index and expires a week
 * after the change. Only an item the publisher could not send is parked (`byWatch`, watch =
 * "outbox") for the sweeper. Each event is kept as its envelope only: ids, types and times are
 * read from it.
 */
export function outboxItem(
  payment: Payment,
  version: number,
  events: readonly OutboxEvent[],
): Item {
  const first = events[0];
  if (first === undefined) throw new Error("an outbox item needs an event");
  return {
    pk: paymentPk(payment.id),
    sk: outboxSk(version, 0, first.id),
    type: "outbox",
    partitionKey: payment.orderId,
    events,
    expiresAt: outboxExpiresAt(first.occurredAt),
  };
}

// ---- decoders

export function str(item: Item, key: string): string {
  const v = item[key];
  if (typeof v !== "string") throw new Error(`stored item ${String(item.pk)} has no string ${key}`);
  return v;
}
export function num(item: Item, key: string): number {
  const v = item[key];
  if (typeof v !== "number") throw new Error(`stored item ${String(item.pk)} has no number ${key}`);
  return v;
}
export function optStr(item: Item, key: string): string | undefined {
  const v = item[key];
  return typeof v === "string" ? v : undefined;
}
function strings(value: unknown): Record<string, string> | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === "string") out[k] = v;
  return out;
}

/** The payment a payment item holds (its history is `toHistory`'s). */
export function toPayment(item: Item): Payment {
  const status = str(item, "status");
  const captureMethod = str(item, "captureMethod");
  const description = optStr(item, "description");
  const metadata = strings(item.metadata);
  const failureCode = optStr(item, "failureCode");
  const failureMessage = optStr(item, "failureMessage");
  return {
    id: str(item, "id"),
    orderId: str(item, "orderId"),
    customerId: str(item, "customerId"),
    status: asStatus(status),
    amount: num(item, "amount"),
    currency: str(item, "currency"),
    captureMethod: captureMethod === "manual" ? "manual" : "automatic",
    ...(description === undefined ? {} : { description }),
    ...(metadata === undefined ? {} : { metadata }),
    stripePaymentIntentId: str(item, "stripePaymentIntentId"),
    amountCaptured: num(item, "amountCaptured"),
    amountRefunded: num(item, "amountRefunded"),
    amountRefundPending: num(item, "amountRefundPending"),
    ...(failureCode === undefined ? {} : { failureCode }),
    ...(failureMessage === undefined ? {} : { failureMessage }),
    lifecycle: toLifecycle(item.lifecycle),
    ...(item.dispute === undefined ? {} : { dispute: toDispute(item) }),
    version: num(item, "version"),
    createdAt: str(item, "createdAt"),
    updatedAt: str(item, "updatedAt"),
    ...(typeof item.statusSince === "string" ? { statusSince: item.statusSince } : {}),
    ...(item.appliedStripeEvents === undefined
      ? {}
      : { appliedStripeEvents: stringList(item, "appliedStripeEvents") }),
  };
}

/** A list of strings; anything else stored there is corrupt. */
function stringList(item: Item, key: string): string[] {
  const v = item[key];
  if (!Array.isArray(v) || !v.every((e) => typeof e === "string")) {
    throw new Error(`stored item ${String(item.pk)} has a ${key} that is not a list of strings`);
  }
  return v;
}

/** The history entries a payment item holds (none in an item written before they moved there). */
export function toHistory(item: Item): StatusChange[] {
  const v = item.history;
  if (v === undefined) return [];
  if (!Array.isArray(v))
    throw new Error(`stored item ${String(item.pk)} has a history that is not a list`);
  return v.map((entry: unknown) => {
    if (typeof entry !== "object" || entry === null) {
      throw new Error(`stored item ${String(item.pk)} has a history entry that is not a map`);
    }
    return toStatusChange({ ...Object.fromEntries(Object.entries(entry)), pk: item.pk });
  });
}

/** The stored dispute; a payment item with a dispute that is not one is corrupt. */
function toDispute(item: Item): Dispute {
  const value = item.dispute;
  if (typeof value !== "object" || value === null) {
    throw new Error(`stored item ${String(item.pk)} has a dispute that is not a map`);
  }
  const d: Item = { ...Object.fromEntries(Object.entries(value)), pk: item.pk };
  return {
    id: str(d, "id"),
    status: str(d, "status"),
    reason: str(d, "reason"),
    amount: num(d, "amount"),
    at: num(d, "at"),
    closed: d.closed === true,
  };
}

function toLifecycle(value: unknown): Lifecycle {
  if (typeof value !== "object" || value === null) return NO_LIFECYCLE;
  const v: Item = Object.fromEntries(Object.entries(value));
  const outcome = v.attemptOutcome;
  return {
    authorized: v.authorized === true,
    canceled: v.canceled === true,
    amountCapturable: typeof v.amountCapturable === "number" ? v.amountCapturable : 0,
    attemptAt: typeof v.attemptAt === "number" ? v.attemptAt : 0,
    attemptOutcome:
      outcome === "processing" || outcome === "failed" || outcome === "requires_action"
        ? outcome
        : "none",
    ...(typeof v.attemptId === "string" ? { attemptId: v.attemptId } : {}),
  };
}

function asStatus(value: string): Payment["status"] {
  if (!isPaymentStatus(value)) throw new Error(`unknown stored payment status ${value}`);
  return value;
}

/** A history entry: one of the payment item's `history`, or a legacy history item. */
export function toStatusChange(item: Item): StatusChange {
  const source = str(item, "source");
  const actor = optStr(item, "actor");
  const dispute = optStr(item, "dispute");
  return {
    ...(actor === undefined ? {} : { actor }),
    ...(dispute === undefined ? {} : { dispute }),
    status: asStatus(str(item, "status")),
    at: str(item, "at"),
    source:
      source === "order.placed" || source === "stripe" || source === "reconciliation"
        ? source
        : "api",
  };
}

export function toRefund(item: Item): Refund {
  const status = str(item, "status");
  if (!isRefundStatus(status)) throw new Error(`unknown stored refund status ${status}`);
  const reservation = str(item, "reservation");
  const reason = optStr(item, "reason");
  const stripeRefundId = optStr(item, "stripeRefundId");
  return {
    id: str(item, "id"),
    paymentId: str(item, "paymentId"),
    amount: num(item, "amount"),
    ...(reason === "duplicate" || reason === "fraudulent" || reason === "requested_by_customer"
      ? { reason }
      : {}),
    status,
    ...(stripeRefundId === undefined ? {} : { stripeRefundId }),
    reservation: reservation === "released" || reservation === "settled" ? reservation : "held",
    createdAt: str(item, "createdAt"),
    updatedAt: str(item, "updatedAt"),
  };
}

// ---- outbox items

const storedEvent = z.looseObject({
  id: z.string(),
  type: z.enum(EVENT_TYPES),
  occurredAt: z.string(),
});

/**
 * An outbox item as stored (and as the table's stream shows it): the events of one change of the
 * payment, in order (`events`). Items written before one item held a change's events hold one
 * event (`event`); both read the same.
 */
const storedOutboxItem = z.object({
  pk: z.string(),
  sk: z.string(),
  type: z.literal("outbox"),
  partitionKey: z.string(),
  events: z.optional(z.array(storedEvent).check(z.minLength(1))),
  event: z.optional(storedEvent),
  publishedAt: z.optional(z.string()),
  watch: z.optional(z.string()),
});

/**
 * The outbox item `value` is, if it is one (anything else, an item of another kind or one without
 * an outbox item's keys or events, is not an outbox item).
 */
export function readOutboxItem(value: unknown): OutboxItem | undefined {
  const parsed = storedOutboxItem.safeParse(value);
  if (!parsed.success) return undefined;
  const { pk, sk, partitionKey, publishedAt, watch } = parsed.data;
  const id = outboxIdOf(pk, sk);
  if (id === undefined) return undefined;
  const events = parsed.data.events ?? (parsed.data.event === undefined ? [] : [parsed.data.event]);
  if (events.length === 0) return undefined;
  return {
    ...id,
    partitionKey,
    events,
    ...(publishedAt === undefined ? {} : { publishedAt }),
    ...(watch === OUTBOX_WATCH && publishedAt === undefined ? { parked: true } : {}),
  };
}

/** The outbox item a stored item that must be one holds; anything else is corrupt. */
export function toOutboxItem(item: Item): OutboxItem {
  const parsed = readOutboxItem(item);
  if (parsed === undefined) {
    throw new Error(`stored item ${String(item.pk)} ${String(item.sk)} is no outbox item`);
  }
  return parsed;
}
