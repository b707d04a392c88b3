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

/** lib/config.ts's storage + Stripe schemas, written with `import * as z` instead of `{ z }`. */
const ZOD_STAR_SCHEMAS = `import * as z from "zod";
const storage = z.object({
  PAYMENTS_TABLE: z.string().min(1),
  IDEMPOTENCY_TABLE: z.string().min(1),
  DYNAMODB_ENDPOINT: z.url().optional(),
  AWS_REGION: z.string().min(1).default("us-east-1"),
  RECONCILE_AFTER_SECONDS: z.coerce.number().int().min(0).default(900),
  IDEMPOTENCY_TTL_SECONDS: z.coerce.number().int().min(60).default(86_400),
});
const stripe = z.object({
  STRIPE_SECRET_KEY: z.string().regex(/^(sk|rk)_(test|live)_[A-Za-z0-9_]+$/).optional(),
  STRIPE_WEBHOOK_SECRET: z.string().regex(/^whsec_\\w+$/).optional(),
  STRIPE_API_BASE: z.url().optional(),
});
export const parsed = storage.extend(stripe.shape).parse(process.env);
`;

export const COMPONENTS: readonly Component[] = [
  {
    name: "zod, as lib/ imports it (import { z }), lib/config.ts",
    contents: `${FLOOR}import { parseConfig } from "./lib/config.ts";
export const parsed = parseConfig({ ...process.env, STRIPE_SECRET_KEY: "sk_test_bench" });
`,
  },
  { name: "zod via import * as z, same schemas", contents: `${FLOOR}${ZOD_STAR_SCHEMAS}` },
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
    name: "kafkajs + MSK IAM signer (KafkaPublisher, IAM)",
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
    name: "Powertools parser Kafka schema (zod inside)",
    contents: `${FLOOR}export { KafkaMskEventSchema } from "@aws-lambda-powertools/parser/schemas/kafka";\n`,
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
