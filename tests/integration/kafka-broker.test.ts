/**
 * The local Kafka broker (local/kafka.ts: Apache Kafka 4, KRaft, one node) with the project's
 * client, kafkajs 2.2.4: admin, producers (plain and idempotent), consumer groups (join, fetch,
 * commit), and an outage made with pause() and resume().
 *
 * Nothing here sleeps to synchronise: each wait is on a promise or a consumer callback, bounded
 * by `within`, which fails the test when the bound passes.
 */
import { randomUUID } from "node:crypto";
import {
  type Admin,
  type Consumer,
  type IHeaders,
  Kafka,
  type KafkaConfig,
  logLevel,
  Partitioners,
  type Producer,
  type ProducerConfig,
} from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalKafka, startLocalKafka } from "../../local/kafka.js";
import { scaled } from "../support/time.js";

let broker: LocalKafka;
const connected: { disconnect(): Promise<void> }[] = [];

beforeAll(async () => {
  broker = await startLocalKafka();
});

afterAll(async () => {
  await Promise.allSettled(connected.map((client) => client.disconnect()));
  await broker?.stop();
});

function client(config: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    clientId: "kafka-broker-test",
    brokers: [broker.brokers],
    logLevel: logLevel.NOTHING,
    ...config,
  });
}

async function admin(kafka = client()): Promise<Admin> {
  const result = kafka.admin();
  await result.connect();
  connected.push(result);
  return result;
}

async function producer(config: ProducerConfig = {}, kafka = client()): Promise<Producer> {
  const result = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, ...config });
  await result.connect();
  connected.push(result);
  return result;
}

/** `promise`, or a rejection naming `what` once `ms` have passed. */
async function within<T>(
  promise: Promise<T>,
  ms: number,
  what: string | (() => string),
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const description = typeof what === "string" ? what : what();
          reject(new Error(`timed out after ${ms} ms waiting for ${description}`));
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

interface Received {
  readonly partition: number;
  readonly offset: string;
  readonly key: string;
  readonly value: string;
  readonly headers: Record<string, string>;
}

function headerStrings(headers: IHeaders | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined) result[name] = Array.isArray(value) ? value.join(",") : String(value);
  }
  return result;
}

/**
 * Joins `groupId`, reads `topic` (from the group's committed offset, else from the beginning)
 * until `count` messages have come, then leaves the group (committing what it read).
 */
async function consume(groupId: string, topic: string, count: number): Promise<Received[]> {
  const consumer: Consumer = client().consumer({ groupId });
  connected.push(consumer);
  const received: Received[] = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await within(
      new Promise<void>((resolve, reject) => {
        consumer.on(consumer.events.CRASH, ({ payload }) => {
          if (!payload.restart) reject(payload.error);
        });
        consumer
          .run({
            eachMessage: async ({ partition, message }) => {
              received.push({
                partition,
                offset: message.offset,
                key: message.key?.toString() ?? "",
                value: message.value?.toString() ?? "",
                headers: headerStrings(message.headers),
              });
              if (received.length >= count) resolve();
            },
          })
          .catch(reject);
      }),
      scaled(20_000),
      () => `${count} messages of ${topic} for group ${groupId} (got ${received.length})`,
    );
  } finally {
    await consumer.disconnect();
  }
  return received;
}

describe("local Kafka broker (KRaft, one node) with kafkajs", () => {
  it("serves metadata of a one-node cluster on its port", async () => {
    expect(broker.brokers).toBe(`127.0.0.1:${broker.port}`);
    const cluster = await (await admin()).describeCluster();
    expect(cluster.brokers).toEqual([{ nodeId: 1, host: "127.0.0.1", port: broker.port }]);
    expect(cluster.controller).toBe(1);
  });

  it("creates topics through the admin client", async () => {
    const kafkaAdmin = await admin();
    const created = await kafkaAdmin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: "admin-orders", numPartitions: 3 },
        {
          topic: "admin-refunds",
          numPartitions: 1,
          configEntries: [{ name: "cleanup.policy", value: "compact" }],
        },
      ],
    });
    expect(created).toBe(true);
    // kafkajs answers false when every topic exists already.
    expect(await kafkaAdmin.createTopics({ topics: [{ topic: "admin-orders" }] })).toBe(false);

    expect(await kafkaAdmin.listTopics()).toEqual(
      expect.arrayContaining(["admin-orders", "admin-refunds"]),
    );
    const { topics } = await kafkaAdmin.fetchTopicMetadata({
      topics: ["admin-orders", "admin-refunds"],
    });
    const partitions = Object.fromEntries(
      topics.map(({ name, partitions }) => [
        name,
        partitions.map(({ partitionId, leader, isr }) => ({ partitionId, leader, isr })),
      ]),
    );
    expect(partitions["admin-orders"]?.sort((a, b) => a.partitionId - b.partitionId)).toEqual([
      { partitionId: 0, leader: 1, isr: [1] },
      { partitionId: 1, leader: 1, isr: [1] },
      { partitionId: 2, leader: 1, isr: [1] },
    ]);
    expect(partitions["admin-refunds"]).toEqual([{ partitionId: 0, leader: 1, isr: [1] }]);
  });

  it("gives back a batch with keys and headers in order per partition", async () => {
    const topic = "batch-payments";
    await (await admin()).createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: 3 }],
    });
    const sent = Array.from({ length: 24 }, (_, seq) => ({
      key: `order-${seq % 6}`,
      value: JSON.stringify({ seq }),
      headers: { "event-type": "payment.created", seq: String(seq), "trace-id": randomUUID() },
    }));
    const metadata = await (await producer()).send({ topic, acks: -1, messages: sent });
    expect(metadata.every(({ errorCode }) => errorCode === 0)).toBe(true);

    const received = await consume("batch-readers", topic, sent.length);

    // The same messages, keys and headers, each exactly once.
    const bySeq = (m: { headers: Record<string, string> }) => Number(m.headers.seq);
    expect(
      [...received]
        .sort((a, b) => bySeq(a) - bySeq(b))
        .map(({ key, value, headers }) => ({
          key,
          value,
          headers,
        })),
    ).toEqual(sent);
    // Per partition: offsets 0, 1, 2, ... in the order read, and each key's messages in the
    // order sent, all on one partition.
    const partitions = new Set(received.map(({ partition }) => partition));
    expect(partitions.size).toBeGreaterThan(1);
    for (const partition of partitions) {
      const inPartition = received.filter((m) => m.partition === partition);
      expect(inPartition.map(({ offset }) => Number(offset))).toEqual(
        inPartition.map((_, index) => index),
      );
    }
    for (const key of new Set(sent.map(({ key }) => key))) {
      const forKey = received.filter((m) => m.key === key);
      expect(new Set(forKey.map(({ partition }) => partition)).size).toBe(1);
      expect(forKey.map(bySeq)).toEqual(
        sent.filter((m) => m.key === key).map(({ headers }) => Number(headers.seq)),
      );
    }
  });

  it("writes each message once with an idempotent producer", async () => {
    const topic = "idempotent-events";
    await (await admin()).createTopics({ waitForLeaders: true, topics: [{ topic }] });
    const idempotent = await producer({ idempotent: true, maxInFlightRequests: 1 });

    const baseOffsets: string[] = [];
    for (let batch = 0; batch < 3; batch += 1) {
      const [result] = await idempotent.send({
        topic,
        messages: Array.from({ length: 5 }, (_, i) => ({
          key: "payment-1",
          value: `event-${batch * 5 + i}`,
        })),
      });
      expect(result?.errorCode).toBe(0);
      baseOffsets.push(result?.baseOffset ?? "missing");
    }
    expect(baseOffsets).toEqual(["0", "5", "10"]);
    expect(await (await admin()).fetchTopicOffsets(topic)).toEqual([
      { partition: 0, offset: "15", high: "15", low: "0" },
    ]);
    const received = await consume("idempotent-readers", topic, 15);
    expect(received.map(({ value }) => value)).toEqual(
      Array.from({ length: 15 }, (_, i) => `event-${i}`),
    );
  });

  it("pause() takes the broker away; resume() brings it back with its data and committed offsets", {
    timeout: scaled(120_000),
  }, async () => {
    const topic = "outage-payments";
    const group = "outage-readers";
    const kafkaAdmin = await admin();
    await kafkaAdmin.createTopics({ waitForLeaders: true, topics: [{ topic }] });
    const steady = await producer();
    await steady.send({
      topic,
      messages: ["before-1", "before-2", "before-3"].map((value) => ({ key: "k", value })),
    });
    expect((await consume(group, topic, 3)).map(({ value }) => value)).toEqual([
      "before-1",
      "before-2",
      "before-3",
    ]);
    const committed = async () =>
      (await kafkaAdmin.fetchOffsets({ groupId: group, topics: [topic] }))[0]?.partitions;
    expect(await committed()).toEqual([{ partition: 0, offset: "3", metadata: null }]);

    // Two producers, connected (with metadata) before the outage, that differ only in how
    // long kafkajs keeps retrying the refused connection to its seed broker: 2 retries
    // (under a second) against 60 retries of up to 1 s each (about a minute).
    const giveUpFast = await producer(
      {},
      client({
        connectionTimeout: 500,
        retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 200 },
      }),
    );
    const keepTrying = await producer(
      {},
      client({
        connectionTimeout: 500,
        retry: { retries: 60, initialRetryTime: 200, maxRetryTime: 1_000 },
      }),
    );

    await broker.pause();

    const failed = giveUpFast.send({ topic, messages: [{ key: "k", value: "lost" }] });
    let waitingSettled = false;
    const waiting = keepTrying.send({ topic, messages: [{ key: "k", value: "during-outage" }] });
    waiting.then(
      () => {
        waitingSettled = true;
      },
      () => {
        waitingSettled = true;
      },
    );
    // With 2 retries the send fails: kafkajs gives up on the refused connection. (Its outer,
    // per-send retrier does not retry the inner "retries exceeded": it wraps it as
    // non-retriable, keeping the connection error as the message and cause.)
    const error = await within(
      failed.then(
        () => undefined,
        (reason: unknown) => reason,
      ),
      scaled(20_000),
      "a send during the outage to fail",
    );
    expect(error).toBeInstanceOf(Error);
    expect(error instanceof Error && `${error.name}: ${error.message}`).toMatch(
      /^KafkaJS(NonRetriableError|NumberOfRetriesExceeded): Connection error: connect ECONNREFUSED 127\.0\.0\.1:\d+$/,
    );
    // With 60 retries the other send is still waiting, as long after the outage began.
    expect(waitingSettled).toBe(false);

    await broker.resume();

    const [duringOutage] = await within(waiting, scaled(60_000), "the waiting send to complete");
    expect(duringOutage).toMatchObject({ errorCode: 0, baseOffset: "3" });
    const [afterResume] = await steady.send({
      topic,
      messages: [{ key: "k", value: "after-resume" }],
    });
    expect(afterResume).toMatchObject({ errorCode: 0, baseOffset: "4" });

    // The data and the group's committed offset are still there: the group goes on at
    // offset 3 (not from the beginning), and "lost" was never written.
    expect(await committed()).toEqual([{ partition: 0, offset: "3", metadata: null }]);
    expect(await kafkaAdmin.fetchTopicOffsets(topic)).toEqual([
      { partition: 0, offset: "5", high: "5", low: "0" },
    ]);
    const resumed = await consume(group, topic, 2);
    expect(resumed.map(({ offset, value }) => ({ offset, value }))).toEqual([
      { offset: "3", value: "during-outage" },
      { offset: "4", value: "after-resume" },
    ]);
    expect(await committed()).toEqual([{ partition: 0, offset: "5", metadata: null }]);
  });
});
