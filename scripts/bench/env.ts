/**
 * The environment each deployed function gets (infra/api.ts, infra/events.ts, infra/jobs.ts),
 * with dummy but valid values, so that configuration parsing at import passes and nothing is
 * contacted: every client is only constructed at cold start, never connected.
 *
 * Deployed, the Stripe keys come from linked SST secrets (`Resource.StripeSecretKey`); here from
 * the environment fallback lib/runtime/stripe.ts has for local runs. `NODE_OPTIONS` is left out
 * on purpose (see `--enable-source-maps` in the bench report).
 */
import { tables } from "../../infra/tables.js";

/** What every process of the bench gets: Lambda's own variables and the tables. */
export function lambdaEnvironment(functionName: string): Record<string, string> {
  return {
    AWS_REGION: "us-east-1",
    AWS_DEFAULT_REGION: "us-east-1",
    AWS_LAMBDA_FUNCTION_NAME: `payment-service-bench-${functionName}`,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "512",
    AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
    AWS_EXECUTION_ENV: "AWS_Lambda_nodejs24.x",
    TZ: ":UTC",
    PAYMENTS_TABLE: tables.payments.name,
    IDEMPOTENCY_TABLE: tables.idempotency.name,
  };
}

const STRIPE = { STRIPE_SECRET_KEY: "sk_test_bench" };
/** As a production stage with an MSK cluster deploys them (kafkaProducer in infra/events.ts). */
const KAFKA_PRODUCER = {
  KAFKA_BROKERS: "b-1.bench.kafka.us-east-1.amazonaws.com:9098",
  KAFKA_AUTH: "iam",
  KAFKA_TOPIC_PREFIX: "",
};

const EXTRA: Readonly<Record<string, Record<string, string>>> = {
  "stripe-webhook": { ...STRIPE, STRIPE_WEBHOOK_SECRET: "whsec_bench" },
  "publish-outbox": KAFKA_PRODUCER,
  "sweep-outbox": KAFKA_PRODUCER,
  "order-placed": {
    ...STRIPE,
    KAFKA_AUTH: "iam",
    KAFKA_TOPIC_PREFIX: "",
  },
};

/** The environment of one function (HTTP routes and reconcile: tables + Stripe key). */
export function functionEnvironment(name: string): Record<string, string> {
  return { ...lambdaEnvironment(name), ...(EXTRA[name] ?? STRIPE) };
}
