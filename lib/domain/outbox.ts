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
import * as z from "../zod.js";
import { EVENT_TYPES } from "./events.js";
import { type TopicNaming, topicOf } from "./topics.js";

export { SINGLE_TOPIC, TOPIC_MODES, type TopicMode, type TopicNaming, topicOf } from "./topics.js";

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
const storedItem = z.object({
  pk: z.string(),
  sk: z.string(),
  type: z.literal("outbox"),
  partitionKey: z.string(),
  events: z.optional(z.array(storedEvent).check(z.minLength(1))),
  event: z.optional(storedEvent),
  publishedAt: z.optional(z.string()),
});

export type OutboxEventRecord = z.infer<typeof storedEvent>;

export interface OutboxItem {
  readonly pk: string;
  readonly sk: string;
  /** The Kafka key of every event of the item: the order id. */
  readonly partitionKey: string;
  /** The change's events, in the order they happened (at least one). */
  readonly events: readonly OutboxEventRecord[];
  readonly publishedAt?: string;
}

/** The outbox item `value` is, if it is one (anything else is not an outbox item). */
export function parseOutboxItem(value: unknown): OutboxItem | undefined {
  const parsed = storedItem.safeParse(value);
  if (!parsed.success) return undefined;
  const { pk, sk, partitionKey, publishedAt } = parsed.data;
  const events = parsed.data.events ?? (parsed.data.event === undefined ? [] : [parsed.data.event]);
  if (events.length === 0) return undefined;
  return { pk, sk, partitionKey, events, ...(publishedAt === undefined ? {} : { publishedAt }) };
}

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
