/**
 * A local stand-in for the MSK event-source mapping: a kafkajs consumer of `order.placed` that
 * invokes the MSK-trigger handler with MSK-shaped events (base64 keys and values, headers as byte
 * arrays, records grouped by `topic-partition`). A batch the handler fails is not committed and is
 * delivered again, as MSK does.
 */
import type { Context } from "aws-lambda";
import { Kafka, logLevel } from "kafkajs";
import { localLambdaContext } from "./lambda-context.js";

export type MskHandler = (event: unknown, context: Context) => Promise<unknown>;

export interface OrderConsumer {
  stop(): Promise<void>;
}

export async function startOrderConsumer(options: {
  brokers: string;
  topicPrefix: string;
  handler: MskHandler;
  groupId?: string;
  log?: (line: string) => void;
}): Promise<OrderConsumer> {
  const topic = `${options.topicPrefix}order.placed`;
  const kafka = new Kafka({
    clientId: "payment-service-local-msk",
    brokers: options.brokers.split(","),
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 2_000 },
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] }).catch(() => false);
  await admin.disconnect();

  const consumer = kafka.consumer({ groupId: options.groupId ?? "payment-service-order-placed" });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
      if (batch.messages.length === 0) return;
      const event = {
        eventSource: "aws:kafka",
        eventSourceArn:
          "arn:aws:kafka:local:000000000000:cluster/local/00000000-0000-0000-0000-000000000000-1",
        bootstrapServers: options.brokers,
        records: {
          [`${batch.topic}-${batch.partition}`]: batch.messages.map((m) => ({
            topic: batch.topic,
            partition: batch.partition,
            offset: Number(m.offset),
            timestamp: Number(m.timestamp),
            timestampType: "CREATE_TIME",
            ...(m.key === null ? {} : { key: m.key.toString("base64") }),
            value: (m.value ?? Buffer.alloc(0)).toString("base64"),
            headers: Object.entries(m.headers ?? {}).map(([name, value]) => ({
              [name]: [
                ...Buffer.from(Array.isArray(value) ? String(value[0] ?? "") : (value ?? "")),
              ],
            })),
          })),
        },
      };
      try {
        await options.handler(event, localLambdaContext("order-placed", 60));
      } catch (error) {
        options.log?.(
          `order.placed batch failed, will be delivered again: ${error instanceof Error ? error.message : String(error)}`,
        );
        throw error;
      }
      const last = batch.messages.at(-1);
      if (last !== undefined) resolveOffset(last.offset);
      await heartbeat();
    },
  });
  return {
    async stop() {
      await consumer.disconnect();
    },
  };
}
