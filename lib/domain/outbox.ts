/**
 * Outgoing events as Kafka messages (CONTRACT section 5): one topic per event type (with the
 * stage's prefix), keyed by the order id so an order's events stay in order on one partition,
 * with the event id and type in headers.
 */
import * as z from "../zod.js";
import { EVENT_TYPES } from "./events.js";

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

export function toMessage(item: OutboxItem, topicPrefix: string): OutboxMessage {
  return {
    topic: `${topicPrefix}${item.eventType}`,
    key: item.partitionKey,
    headers: {
      "event-id": item.eventId,
      "event-type": item.eventType,
      "content-type": "application/json",
    },
    value: JSON.stringify(item.event),
  };
}
