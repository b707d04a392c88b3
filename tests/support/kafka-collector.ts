/**
 * A test consumer that collects every message of the given topics, and lets a test wait (event
 * driven, with a bound) until the collection satisfies a condition.
 */
import { EventEmitter } from "node:events";
import { Kafka, logLevel } from "kafkajs";
import { scaled } from "./time.js";

export interface Collected {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: string;
  readonly headers: Record<string, string>;
  readonly value: Record<string, unknown>;
}

export interface Collector {
  readonly messages: Collected[];
  waitFor(
    condition: (messages: readonly Collected[]) => boolean,
    timeoutMs?: number,
  ): Promise<void>;
  stop(): Promise<void>;
}

export async function collect(brokers: string, topics: readonly string[]): Promise<Collector> {
  const kafka = new Kafka({
    clientId: "test-collector",
    brokers: brokers.split(","),
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: 3 })) });
  await admin.disconnect();
  const consumer = kafka.consumer({ groupId: `collector-${Math.random().toString(36).slice(2)}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [...topics], fromBeginning: true });
  const messages: Collected[] = [];
  const arrivals = new EventEmitter();
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(message.headers ?? {}))
        headers[name] = String(value);
      const parsed: unknown = JSON.parse(message.value?.toString() ?? "null");
      messages.push({
        topic,
        partition,
        offset: Number(message.offset),
        key: message.key?.toString() ?? "",
        headers,
        value:
          typeof parsed === "object" && parsed !== null
            ? Object.fromEntries(Object.entries(parsed))
            : {},
      });
      arrivals.emit("message");
    },
  });
  return {
    messages,
    waitFor(condition, timeoutMs = scaled(30_000)) {
      return new Promise<void>((resolve, reject) => {
        if (condition(messages)) return resolve();
        const check = () => {
          if (!condition(messages)) return;
          arrivals.off("message", check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          arrivals.off("message", check);
          reject(
            new Error(
              `condition not met within ${timeoutMs} ms (${messages.length} messages collected)`,
            ),
          );
        }, timeoutMs);
        arrivals.on("message", check);
      });
    },
    async stop() {
      await consumer.disconnect();
    },
  };
}
