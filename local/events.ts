/**
 * The event side of the local service: the stream poller in front of the outbox publisher, and,
 * with a Kafka broker, the `order.placed` consumer in front of the MSK-trigger handler. The
 * handler modules are the real ones; they read their configuration from the environment, so set
 * it (applyServiceEnvironment) before calling this.
 */
import { tables } from "../infra/tables.js";
import { type OrderConsumer, startOrderConsumer } from "./order-consumer.js";
import { type StreamPoller, startStreamPoller } from "./stream-poller.js";

export interface LocalEvents {
  readonly poller: StreamPoller;
  readonly consumer?: OrderConsumer;
  stop(): Promise<void>;
}

export async function startLocalEvents(options: {
  dynamodbEndpoint: string;
  kafka?: { brokers: string; topicPrefix: string };
  /** Where the stream poller starts reading (see startStreamPoller). */
  streamStart?: "TRIM_HORIZON" | "LATEST";
  log?: (line: string) => void;
}): Promise<LocalEvents> {
  const publisher = await import("../functions/publish-outbox.js");
  const poller = await startStreamPoller({
    endpoint: options.dynamodbEndpoint,
    tableName: tables.payments.name,
    handler: publisher.handler,
    ...(options.streamStart === undefined ? {} : { startingPosition: options.streamStart }),
    ...(options.log === undefined ? {} : { log: options.log }),
  });
  let consumer: OrderConsumer | undefined;
  if (options.kafka !== undefined) {
    const orders = await import("../functions/order-placed.js");
    consumer = await startOrderConsumer({
      brokers: options.kafka.brokers,
      topicPrefix: options.kafka.topicPrefix,
      handler: orders.handler,
      ...(options.log === undefined ? {} : { log: options.log }),
    });
  }
  return {
    poller,
    ...(consumer === undefined ? {} : { consumer }),
    async stop() {
      await consumer?.stop();
      await poller.stop();
    },
  };
}
