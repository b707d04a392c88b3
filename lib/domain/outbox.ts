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

/** An outbox item as stored (and as the table's stream shows it). */
export const outboxItemSchema = z.object({
  pk: z.string(),
  sk: z.string(),
  type: z.literal("outbox"),
  eventId: z.string(),
  eventType: z.enum(EVENT_TYPES),
  partitionKey: z.string(),
  event: z.looseObject({ id: z.string(), type: z.enum(EVENT_TYPES) }),
  publishedAt: z.optional(z.string()),
});
export type OutboxItem = z.infer<typeof outboxItemSchema>;

export interface OutboxMessage {
  readonly topic: string;
  readonly key: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly value: string;
}

export function toMessage(item: OutboxItem, naming: TopicNaming): OutboxMessage {
  return {
    topic: topicOf(item.eventType, naming),
    key: item.partitionKey,
    headers: {
      "event-id": item.eventId,
      "event-type": item.eventType,
      "content-type": "application/json",
    },
    value: JSON.stringify(item.event),
  };
}
