/**
 * Which Kafka topic an event goes to (`KAFKA_TOPIC_PREFIX`, `KAFKA_TOPIC_MODE`); see outbox.ts
 * for the ordering each mode gives. Its own module, importing nothing, because the config of
 * every function reads TOPIC_MODES at cold start.
 */

/** How events map to topics (`KAFKA_TOPIC_PREFIX`, `KAFKA_TOPIC_MODE`). */
export interface TopicNaming {
  readonly prefix: string;
  readonly mode: TopicMode;
}
export const TOPIC_MODES = ["per-type", "single"] as const;
export type TopicMode = (typeof TOPIC_MODES)[number];

/** The one topic of `single` mode, before the prefix. */
export const SINGLE_TOPIC = "payment.events";

export function topicOf(eventType: string, naming: TopicNaming): string {
  return `${naming.prefix}${naming.mode === "single" ? SINGLE_TOPIC : eventType}`;
}
