/**
 * The environment the handler modules read at cold start, as `npm start` sets it up, and the
 * small state file through which `npm run reconcile` finds a running `npm start`.
 */
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { tables } from "../infra/tables.js";

export const STATE_FILE = fileURLToPath(new URL("../.local/run/state.json", import.meta.url));

export interface LocalServiceState {
  readonly dynamodbEndpoint: string;
  /** Undefined when the service talks to real Stripe test mode. */
  readonly stripeApiBase?: string;
  readonly stripeSecretKey: string;
  readonly webhookSecret: string;
  readonly logLevel: string;
  readonly kafkaBrokers?: string;
  readonly kafkaTopicPrefix?: string;
  readonly kafkaTopicMode?: string;
}

/** Sets the handlers' configuration in this process's environment. */
export function applyServiceEnvironment(state: LocalServiceState): void {
  Object.assign(process.env, {
    PAYMENTS_TABLE: tables.payments.name,
    IDEMPOTENCY_TABLE: tables.idempotency.name,
    STRIPE_SECRET_KEY: state.stripeSecretKey,
    STRIPE_WEBHOOK_SECRET: state.webhookSecret,
    DYNAMODB_ENDPOINT: state.dynamodbEndpoint,
    AWS_REGION: process.env.AWS_REGION ?? "us-east-1",
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? "local",
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? "local",
    POWERTOOLS_LOG_LEVEL: state.logLevel.toUpperCase(),
    // CloudWatch's EMF lines are for Lambda; locally they would only drown the logs.
    POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? "true",
    // The local store is one single-threaded process on a shared machine: slower than DynamoDB.
    DYNAMODB_REQUEST_TIMEOUT_MS: process.env.DYNAMODB_REQUEST_TIMEOUT_MS ?? "5000",
  });
  const optional = {
    STRIPE_API_BASE: state.stripeApiBase,
    KAFKA_BROKERS: state.kafkaBrokers,
    KAFKA_TOPIC_PREFIX: state.kafkaTopicPrefix,
    KAFKA_TOPIC_MODE: state.kafkaTopicMode,
  };
  for (const [name, value] of Object.entries(optional)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
}

export async function writeState(state: LocalServiceState): Promise<void> {
  await mkdir(dirname(STATE_FILE), { recursive: true });
  await writeFile(STATE_FILE, JSON.stringify(state), { mode: 0o600 });
}

export async function readState(): Promise<LocalServiceState | undefined> {
  try {
    const value: unknown = JSON.parse(await readFile(STATE_FILE, "utf8"));
    if (typeof value !== "object" || value === null) return undefined;
    const v = Object.fromEntries(Object.entries(value));
    if (typeof v.dynamodbEndpoint !== "string" || typeof v.stripeSecretKey !== "string")
      return undefined;
    return {
      dynamodbEndpoint: v.dynamodbEndpoint,
      ...(typeof v.stripeApiBase === "string" ? { stripeApiBase: v.stripeApiBase } : {}),
      stripeSecretKey: v.stripeSecretKey,
      webhookSecret: typeof v.webhookSecret === "string" ? v.webhookSecret : "",
      logLevel: typeof v.logLevel === "string" ? v.logLevel : "INFO",
      ...(typeof v.kafkaBrokers === "string" ? { kafkaBrokers: v.kafkaBrokers } : {}),
      ...(typeof v.kafkaTopicPrefix === "string" ? { kafkaTopicPrefix: v.kafkaTopicPrefix } : {}),
      ...(typeof v.kafkaTopicMode === "string" ? { kafkaTopicMode: v.kafkaTopicMode } : {}),
    };
  } catch {
    return undefined;
  }
}

export async function clearState(): Promise<void> {
  await rm(STATE_FILE, { force: true });
}
