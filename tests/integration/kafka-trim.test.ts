/**
 * The producer-only kafkajs of the deployed bundles (infra/esbuild-plugins.mjs,
 * `kafkajsProducerOnly`): lib/adapters/kafka-publisher.ts bundled exactly as the functions are
 * (`sstBuildOptions()` of scripts/bench/bundle.ts) leaves out the consumer, the admin and the
 * request definitions a producer never sends, and still produces to a real broker (local/kafka.ts:
 * Apache Kafka 4, KRaft, one node), whose messages an ordinary, untrimmed kafkajs consumer reads
 * back (tests/support/kafka-collector.ts).
 *
 * Nothing here sleeps to synchronise: reading back waits on the collector's arrivals, bounded.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KafkaPublisher } from "../../lib/adapters/kafka-publisher.js";
import { type LocalKafka, startLocalKafka } from "../../local/kafka.js";
import { type BundleResult, bundle } from "../../scripts/bench/bundle.js";
import { type Collector, collect } from "../support/kafka-collector.js";
import { scaled } from "../support/time.js";

const NOT_BUNDLED =
  "kafkajs consumer/admin are not bundled: this function is built producer-only (infra/esbuild-plugins.mjs)";

/** What the trimmed bundle exports: the publisher, and kafkajs itself (the same copy). */
interface TrimmedModule {
  readonly KafkaPublisher: typeof KafkaPublisher;
  readonly Kafka: typeof Kafka;
  readonly logLevel: typeof logLevel;
}

/**
 * The request definitions (src/protocol/requests/<dir>) whose versions stay in the bundle:
 * connecting (ApiVersions, SASL), metadata, the idempotent producer, and the transactional one.
 */
const KEPT_REQUESTS = [
  "addOffsetsToTxn",
  "addPartitionsToTxn",
  "apiVersions",
  "endTxn",
  "findCoordinator",
  "initProducerId",
  "metadata",
  "produce",
  "saslAuthenticate",
  "saslHandshake",
  "txnOffsetCommit",
];

const KAFKAJS_SRC = "node_modules/kafkajs/src/";

let broker: LocalKafka;
let dir: string;
let built: BundleResult;
let trimmed: TrimmedModule;
const collectors: Collector[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "payment-service-kafka-trim-"));
  const [started, result] = await Promise.all([
    startLocalKafka(),
    bundle(
      "kafka-trim",
      {
        contents: `export { KafkaPublisher } from "./lib/adapters/kafka-publisher.ts";
export { Kafka, logLevel } from "kafkajs";
`,
      },
      join(dir, "kafka-trim"),
    ),
  ]);
  broker = started;
  built = result;
  trimmed = await import(pathToFileURL(built.outfile).href);
});

afterAll(async () => {
  await Promise.allSettled(collectors.map((collector) => collector.stop()));
  await broker?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** The kafkajs sources bundled, relative to its src/ folder. */
function kafkajsInputs(): string[] {
  return Object.keys(built.metafile.inputs)
    .filter((input) => input.includes(KAFKAJS_SRC))
    .map((input) => input.slice(input.indexOf(KAFKAJS_SRC) + KAFKAJS_SRC.length))
    .sort();
}

describe("kafkajs bundled producer-only (as deployed)", () => {
  it("leaves out the consumer, the admin and the requests a producer never sends", async () => {
    const inputs = kafkajsInputs();
    // Still kafkajs: the producer, the cluster, the broker connection.
    expect(inputs).toEqual(
      expect.arrayContaining([
        "index.js",
        "producer/index.js",
        "producer/eosManager/index.js",
        "cluster/index.js",
        "broker/index.js",
        "broker/saslAuthenticator/oauthBearer.js",
        "protocol/requests/produce/v3/request.js",
        "protocol/requests/metadata/v0/request.js",
      ]),
    );
    // Of consumer/ and admin/, only the two stubbed factories, and the partition assigners that
    // kafkajs's package index exports (PartitionAssigners, AssignerProtocol: 1.6 KiB).
    expect(inputs.filter((input) => /^(consumer|admin)\//.test(input))).toEqual([
      "admin/index.js",
      "consumer/assignerProtocol.js",
      "consumer/assigners/index.js",
      "consumer/assigners/roundRobinAssigner/index.js",
      "consumer/index.js",
    ]);
    for (const factory of ["consumer/index.js", "admin/index.js"]) {
      const input = built.metafile.inputs[`${KAFKAJS_SRC}${factory}`];
      // esbuild's own runtime aside, the stub imports nothing.
      expect(input?.imports.filter((imported) => !imported.external)).toEqual([]);
      expect(input?.bytes).toBeLessThan(400);
    }
    // Request versions only of the APIs a producer sends; every other definition is stubbed.
    const withVersions = new Set(
      inputs.flatMap((input) => /^protocol\/requests\/([A-Za-z]+)\/v\d+\//.exec(input)?.[1] ?? []),
    );
    expect([...withVersions].sort()).toEqual(KEPT_REQUESTS);
    for (const stubbed of ["fetch", "joinGroup", "listOffsets", "offsetCommit", "createTopics"]) {
      expect(inputs).toContain(`protocol/requests/${stubbed}/index.js`);
      expect(
        built.metafile.inputs[`${KAFKAJS_SRC}protocol/requests/${stubbed}/index.js`]?.bytes,
      ).toBeLessThan(400);
    }
    const kafkajsBytes = built.packages.find((p) => p.name === "kafkajs")?.bytes ?? 0;
    expect(kafkajsBytes).toBeGreaterThan(100 * 1024);
    expect(kafkajsBytes).toBeLessThan(180 * 1024);
    expect(await readFile(built.outfile, "utf8")).toContain(NOT_BUNDLED);
  });

  it("throws the clear error on Kafka#consumer() and Kafka#admin()", () => {
    const kafka = new trimmed.Kafka({
      clientId: "kafka-trim-test",
      brokers: [broker.brokers],
      logLevel: trimmed.logLevel.NOTHING,
    });
    expect(() => kafka.consumer({ groupId: "never" })).toThrow(new Error(NOT_BUNDLED));
    expect(() => kafka.admin()).toThrow(new Error(NOT_BUNDLED));
  });

  it("produces through the trimmed bundle to a real broker, and the messages read back", {
    timeout: scaled(60_000),
  }, async () => {
    // A topic the broker does not have yet: the producer's metadata request creates it.
    const topic = `trim-${randomUUID()}`;
    const publisher = new trimmed.KafkaPublisher({
      brokers: [broker.brokers],
      auth: "plaintext",
      region: "us-east-1",
      clientId: "kafka-trim-test",
      quiet: true,
    });
    const sent = Array.from({ length: 12 }, (_, seq) => ({
      topic,
      key: `payment-${seq % 3}`,
      headers: { "event-type": "payment.captured", seq: String(seq) },
      value: JSON.stringify({ seq, id: randomUUID() }),
    }));
    try {
      for (const message of sent) await publisher.publish(message);
    } finally {
      await publisher.close();
    }

    const collector = await collect(broker.brokers, [topic]);
    collectors.push(collector);
    await collector.waitFor((messages) => messages.length >= sent.length);
    // Each message exactly once, in the order sent (one partition), keys and headers intact;
    // the idempotent producer wrote offsets 0..11 with no gap.
    expect(
      collector.messages.map(({ topic, offset, key, headers, value }) => ({
        topic,
        offset,
        key,
        headers,
        value: JSON.stringify(value),
      })),
    ).toEqual(sent.map((message, offset) => ({ ...message, offset })));
  });
});
