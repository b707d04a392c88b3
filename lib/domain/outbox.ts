/**
 * Outgoing events as Kafka messages: keyed by the order id, with the event id and type in
 * headers, on one topic per event type (`<prefix>payment.captured`, ...) or, in `single` mode,
 * all on `<prefix>payment.events`.
 *
 * Ordering: Kafka keeps order within a partition, and the key puts one order's messages of one
 * topic on one partition. So per type, an order's events of the same type are in order, but
 * across topics a consumer may see `payment.captured` before `payment.authorized`. In single
 * mode every event of an order is on one partition of one topic, in the order published.
 */
import type { PaymentEventType } from "./events.js";
import { type TopicNaming, topicOf } from "./topics.js";

export { SINGLE_TOPIC, TOPIC_MODES, type TopicMode, type TopicNaming, topicOf } from "./topics.js";

/**
 * An event as its outbox item holds it: the event's envelope (`OutboxEvent`, lib/domain/events.ts).
 * Publishing reads its id, type and time; the rest goes out as it is.
 */
export interface OutboxEventRecord {
  readonly id: string;
  readonly type: PaymentEventType;
  readonly occurredAt: string;
  readonly [field: string]: unknown;
}

/** Which outbox item it is: the payment it belongs to and its place among that payment's items. */
export interface OutboxItemId {
  /** The payment whose change wrote the item. */
  readonly paymentId: string;
  /**
   * The item's position among its payment's outbox items: opaque (the store makes it), unique
   * within the payment, and it sorts (as a string) in the order the payment's changes happened.
   */
  readonly position: string;
}

/** The outgoing events of one change of a payment, and whether they reached the event bus. */
export interface OutboxItem extends OutboxItemId {
  /** The Kafka key of every event of the item: the order id. */
  readonly partitionKey: string;
  /** The change's events, in the order they happened (at least one). */
  readonly events: readonly OutboxEventRecord[];
  /**
   * When the sweeper published the item after it was parked (absent: it was never parked, and the
   * stream's publisher sent it without writing anything back, or it is parked still).
   */
  readonly publishedAt?: string;
  /** Parked for the sweeper: the publisher could not send it, or the stream gave up on it. */
  readonly parked?: boolean;
}

/** Whether `a` and `b` are the same outbox item (maybe read at different times). */
export const sameOutboxItem = (a: OutboxItemId, b: OutboxItemId): boolean =>
  a.paymentId === b.paymentId && a.position === b.position;

export interface OutboxMessage {
  readonly topic: string;
  readonly key: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly value: string;
}

/** The item's events as Kafka messages, in order. */
export function toMessages(item: OutboxItem, naming: TopicNaming): OutboxMessage[] {
  return item.events.map((event) => ({
    topic: topicOf(event.type, naming),
    key: item.partitionKey,
    headers: {
      "event-id": event.id,
      "event-type": event.type,
      "content-type": "application/json",
    },
    value: JSON.stringify(event),
  }));
}
