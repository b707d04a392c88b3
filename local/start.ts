/**
 * `npm start`: the whole service offline on http://127.0.0.1:3005 (PORT overrides):
 * the local DynamoDB server with the tables (unless DYNAMODB_ENDPOINT names one), the Stripe
 * simulator on 127.0.0.1:12111 (unless STRIPE_SECRET_KEY holds a real test key), and the local
 * gateway in front of the real handler modules, with the route table the SST app deploys.
 */

import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import * as z from "zod";
import { routes } from "../infra/routes.js";
import { tables } from "../infra/tables.js";
import { WEBHOOK_EVENT_TYPES } from "../lib/adapters/stripe-webhook-events.js";
import { kafkaSettings } from "../lib/config.js";
import { loadOrCreateDevKeys, tokenVerifier } from "./auth.js";
import { consoleSite } from "./console.js";
import { createTables, localDynamoDbClientConfig, startLocalDynamoDb } from "./dynamodb.js";
import { applyServiceEnvironment, clearState, writeState } from "./environment.js";
import { startLocalEvents } from "./events.js";
import { startGateway } from "./gateway.js";
import { localLambdaContext } from "./lambda-context.js";
import { DEV_KEY_FILE } from "./paths.js";
import { startStripeSimulator } from "./stripe-simulator/index.js";

/** The simulator's key and the webhook secret it signs with, unless others are given. */
export const LOCAL_STRIPE_KEY = "sk_test_local_simulator";
export const LOCAL_WEBHOOK_SECRET = "whsec_local_development_secret_do_not_use_in_production";

const port = z.coerce.number().int().min(0).max(65_535);
const settings = z.object({
  PORT: port.default(3005),
  STRIPE_SIMULATOR_PORT: port.default(12_111),
  STRIPE_SECRET_KEY: z
    .string()
    .regex(/^(sk|rk)_test_[A-Za-z0-9_]+$/, {
      error: "must be a Stripe test key (sk_test_...); live keys are refused locally",
    })
    .optional(),
  STRIPE_WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_\w+$/, { error: "must look like whsec_..." })
    .optional(),
  DYNAMODB_ENDPOINT: z
    .url({ protocol: /^https?$/, error: "must be an http(s) URL such as http://127.0.0.1:8000" })
    .optional(),
  KAFKA_BROKERS: kafkaSettings.shape.KAFKA_BROKERS,
  KAFKA_TOPIC_PREFIX: z.optional(kafkaSettings.shape.KAFKA_TOPIC_PREFIX),
  KAFKA_TOPIC_MODE: z.optional(kafkaSettings.shape.KAFKA_TOPIC_MODE),
  RECONCILE_INTERVAL_SECONDS: z.coerce.number().int().min(1).default(60),
  LOG_LEVEL: z
    .enum(["DEBUG", "INFO", "WARN", "ERROR", "SILENT", "debug", "info", "warn", "error", "silent"])
    .default("INFO"),
});

function fail(line: string): never {
  console.error(`npm start: ${line}`);
  process.exit(1);
}

const USAGE = `usage: npm start
Runs the whole service offline on http://127.0.0.1:$PORT. Settings (environment):
  PORT (3005), STRIPE_SIMULATOR_PORT (12111), STRIPE_SECRET_KEY (the simulator's key; a real
  sk_test_ key uses Stripe test mode), STRIPE_WEBHOOK_SECRET, DYNAMODB_ENDPOINT (a local moto
  server), KAFKA_BROKERS, KAFKA_TOPIC_PREFIX, KAFKA_TOPIC_MODE (per-type or single),
  RECONCILE_INTERVAL_SECONDS (60), LOG_LEVEL (INFO). See README.md, Configuration.`;
if (process.argv.includes("--help") || process.argv.includes("-h")) {
  console.log(USAGE);
  process.exit(0);
}

/** A listen error as one line naming the setting that chose the port. */
async function listening<T>(setting: string, port: number, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    if (error instanceof Error && "code" in error && error.code === "EADDRINUSE") {
      throw new Error(`port ${port} is taken by another program: set ${setting} to a free port`);
    }
    throw error;
  }
}

const parsed = settings.safeParse(process.env);
if (!parsed.success) {
  const issue = parsed.error.issues[0];
  fail(`${issue?.path.join(".") ?? "setting"} is not valid: ${issue?.message ?? "invalid"}`);
}
const env = parsed.data;
const useSimulator =
  env.STRIPE_SECRET_KEY === undefined || env.STRIPE_SECRET_KEY === LOCAL_STRIPE_KEY;
const webhookSecret = env.STRIPE_WEBHOOK_SECRET ?? LOCAL_WEBHOOK_SECRET;
const say = (line: string) => console.log(`[start] ${line}`);
const stops: (() => Promise<void>)[] = [];

try {
  let endpoint = env.DYNAMODB_ENDPOINT;
  if (endpoint === undefined) {
    const db = await startLocalDynamoDb();
    stops.push(() => db.stop());
    endpoint = db.endpoint;
    say(`DynamoDB (moto, local) on ${endpoint}`);
  } else {
    say(`DynamoDB at ${endpoint}`);
  }
  const client = new DynamoDBClient(localDynamoDbClientConfig(endpoint));
  try {
    await createTables(client);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `DYNAMODB_ENDPOINT: the DynamoDB at ${endpoint} could not create the tables (${reason})`,
    );
  } finally {
    client.destroy();
  }
  say(`tables ${tables.payments.name}, ${tables.idempotency.name} ready`);

  let stripeApiBase: string | undefined;
  if (useSimulator) {
    const simulator = await listening("STRIPE_SIMULATOR_PORT", env.STRIPE_SIMULATOR_PORT, () =>
      startStripeSimulator({
        port: env.STRIPE_SIMULATOR_PORT,
        webhookUrl: `http://127.0.0.1:${env.PORT}/api/webhooks/stripe`,
        webhookSecret,
        // As the deployed endpoint is subscribed (npm run stripe:webhook-endpoint).
        webhookEvents: WEBHOOK_EVENT_TYPES,
        log: (line) => say(`stripe-simulator: ${line}`),
      }),
    );
    stops.push(() => simulator.close());
    stripeApiBase = simulator.url;
    say(`Stripe simulator on ${simulator.url} (key ${LOCAL_STRIPE_KEY})`);
    say(`webhook signing secret: ${webhookSecret}`);
  } else {
    say(
      "Stripe: real test mode; forward webhooks with: stripe listen --forward-to localhost:3005/api/webhooks/stripe",
    );
  }

  // The handlers read their configuration from the environment at cold start, as in Lambda.
  const state = {
    dynamodbEndpoint: endpoint,
    ...(stripeApiBase === undefined ? {} : { stripeApiBase }),
    stripeSecretKey: env.STRIPE_SECRET_KEY ?? LOCAL_STRIPE_KEY,
    webhookSecret,
    logLevel: env.LOG_LEVEL,
    ...(env.KAFKA_BROKERS === undefined ? {} : { kafkaBrokers: env.KAFKA_BROKERS }),
    kafkaTopicPrefix: env.KAFKA_TOPIC_PREFIX ?? "",
    ...(env.KAFKA_TOPIC_MODE === undefined ? {} : { kafkaTopicMode: env.KAFKA_TOPIC_MODE }),
  };
  applyServiceEnvironment(state);
  await writeState(state);
  stops.push(() => clearState());

  const keys = await loadOrCreateDevKeys(DEV_KEY_FILE);
  const gateway = await listening("PORT", env.PORT, () =>
    startGateway({
      port: env.PORT,
      routes,
      verifyToken: tokenVerifier(keys),
      extra: consoleSite(keys),
      log: (line) => say(line),
    }),
  );
  stops.push(() => gateway.close());
  const events = await startLocalEvents({
    dynamodbEndpoint: endpoint,
    ...(env.KAFKA_BROKERS === undefined
      ? {}
      : { kafka: { brokers: env.KAFKA_BROKERS, topicPrefix: env.KAFKA_TOPIC_PREFIX ?? "" } }),
    log: (line) => say(line),
  });
  stops.push(() => events.stop());
  say(
    env.KAFKA_BROKERS === undefined
      ? "events: outbox publisher on the table's stream; no KAFKA_BROKERS, so published events are logged"
      : `events: outbox publisher to Kafka at ${env.KAFKA_BROKERS}; order.placed consumer running`,
  );
  const reconcileTimer = setInterval(() => {
    void runReconciliation();
  }, env.RECONCILE_INTERVAL_SECONDS * 1000);
  reconcileTimer.unref();
  stops.push(async () => clearInterval(reconcileTimer));
  say(`reconciliation every ${env.RECONCILE_INTERVAL_SECONDS}s (and on demand: npm run reconcile)`);
  say(`payment-service on ${gateway.url}`);
  say(`support console on ${gateway.url}/console/ (local sign-in)`);
  for (const r of routes)
    say(
      `  ${r.routeKey.padEnd(34)} functions/${r.handler}.ts${r.auth === "jwt" ? "  (bearer token)" : ""}`,
    );
  say('token: npm run --silent token -- --sub alice --scope "payments:write payments:read"');
} catch (error) {
  await stopAll();
  fail(error instanceof Error ? error.message : String(error));
}

async function runReconciliation(): Promise<void> {
  try {
    const reconcile = await import("../functions/reconcile.js");
    const summary = await reconcile.handler({}, localLambdaContext("reconcile", 300));
    if (summary.looked > 0) say(`reconciliation: ${JSON.stringify(summary)}`);
    const sweep = await import("../functions/sweep-outbox.js");
    const swept = await sweep.handler({}, localLambdaContext("sweep-outbox", 300));
    if (
      swept.published > 0 ||
      swept.failed > 0 ||
      swept.unreadable.length > 0 ||
      swept.discarded.recovered > 0
    ) {
      say(`outbox sweep: ${JSON.stringify(swept)}`);
    }
  } catch (error) {
    say(`reconciliation failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function stopAll(): Promise<void> {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    say(`${signal}: stopping`);
    void stopAll().then(() => process.exit(0));
  });
}
