/**
 * Probe bundles for attributing cold init: each is the floor (scripts/bench/floor.ts) plus one
 * dependency, imported AND constructed the way the functions do, bundled with SST's options.
 * Its init minus the floor's is what that dependency adds to a function's cold start.
 */
export interface Component {
  readonly name: string;
  readonly contents: string;
}

const FLOOR = `export * from "./scripts/bench/floor.ts";\n`;

export const COMPONENTS: readonly Component[] = [
  {
    name: "zod/mini with the English locale (lib/zod.ts), lib/config.ts storage + Stripe settings",
    contents: `${FLOOR}import { parseConfig } from "./lib/config.ts";
export const parsed = parseConfig({ ...process.env, STRIPE_SECRET_KEY: "sk_test_bench" });
`,
  },
  {
    name: "stripe (new Stripe)",
    contents: `${FLOOR}import Stripe from "stripe";
export const stripe = new Stripe("sk_test_bench", { maxNetworkRetries: 2, timeout: 8000 });
`,
  },
  {
    name: "Powertools logger + metrics (lib/observability.ts)",
    contents: `${FLOOR}export { logger, metrics } from "./lib/observability.ts";\n`,
  },
  {
    name: "Powertools idempotency (lib/idempotency.ts, one operation)",
    contents: `${FLOOR}import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { idempotentOperation } from "./lib/idempotency.ts";
export const once = idempotentOperation(async () => 1, {
  client: new DynamoDBClient({}),
  tableName: "Idempotency",
  keyPrefix: "bench",
  expiresAfterSeconds: 3600,
});
`,
  },
  {
    name: "@middy/core + http-json-body-parser",
    contents: `${FLOOR}import middy from "@middy/core";
import httpJsonBodyParser from "@middy/http-json-body-parser";
export const wrapped = middy(async () => ({ statusCode: 200 })).use(httpJsonBodyParser());
`,
  },
  {
    // Bundled as deployed: producer-only kafkajs (infra/esbuild-plugins.mjs, kafkajsProducerOnly).
    name: "kafkajs producer-only + MSK IAM signer (KafkaPublisher, IAM; as deployed)",
    contents: `${FLOOR}import { KafkaPublisher } from "./lib/adapters/kafka-publisher.ts";
export const publisher = new KafkaPublisher({
  brokers: ["b-1.bench:9098"], auth: "iam", region: "us-east-1", clientId: "bench",
});
`,
  },
  {
    name: "@aws-sdk/client-sqs (new SQSClient)",
    contents: `${FLOOR}import { SQSClient } from "@aws-sdk/client-sqs";
export const sqs = new SQSClient({ region: "us-east-1" });
`,
  },
  {
    name: "the MSK event schema (lib/domain/msk.ts, zod inside)",
    contents: `${FLOOR}export { mskEventSchema } from "./lib/domain/msk.ts";\n`,
  },
  {
    name: "Powertools batch (BatchProcessor)",
    contents: `${FLOOR}import { BatchProcessor, EventType } from "@aws-lambda-powertools/batch";
export const processor = new BatchProcessor(EventType.DynamoDBStreams);
`,
  },
  {
    name: "sst/resource",
    contents: `${FLOOR}export { Resource } from "sst/resource";\n`,
  },
];
