/**
 * The local service for one test file: a Stripe simulator and the local gateway in front of the
 * real handler modules, on free ports, over the shared local DynamoDB server.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import Stripe from "stripe";
import { inject } from "vitest";
import { routes } from "../../infra/routes.js";
import { tables } from "../../infra/tables.js";
import { DynamoPaymentRepository } from "../../lib/adapters/dynamo-payment-repository.js";
import { WEBHOOK_EVENT_TYPES } from "../../lib/adapters/stripe-webhook-events.js";
import { type DevKeys, generateDevKeys, signToken, tokenVerifier } from "../../local/auth.js";
import { builtConsoleSite, consoleSite } from "../../local/console.js";
import {
  type DynamoDbFaultProxy,
  startDynamoDbFaultProxy,
} from "../../local/dynamodb-fault-proxy.js";
import { type LocalEvents, startLocalEvents } from "../../local/events.js";
import { matchRoute, startGateway } from "../../local/gateway.js";
import { type StripeSimulator, startStripeSimulator } from "../../local/stripe-simulator/index.js";
import { checkAnswer } from "./openapi.js";
import { scaled } from "./time.js";

export const WEBHOOK_SECRET = "whsec_test_secret_for_integration_tests";

export interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
  readonly text: string;
}

export interface CallOptions {
  readonly token?: string;
  readonly body?: unknown;
  readonly rawBody?: string;
  readonly headers?: Record<string, string>;
}

export interface Stack {
  readonly url: string;
  readonly simulator: StripeSimulator;
  readonly stripe: Stripe;
  readonly documentClient: DynamoDBDocumentClient;
  readonly repository: DynamoPaymentRepository;
  /** The event side, when started with `events`. */
  readonly events: LocalEvents | undefined;
  /** The fault proxy the handlers' DynamoDB client goes through, when started with `dynamoFaults`. */
  readonly faults: DynamoDbFaultProxy | undefined;
  /** Answers that did not match openapi.yaml, and how many answers were checked. */
  readonly contract: { checked: number; violations: string[] };
  /** The local issuer's signing keys, for tokens the helpers would not make. */
  readonly keys: DevKeys;
  token(sub: string, scope: string, ttlSeconds?: number): Promise<string>;
  call(method: string, path: string, options?: CallOptions): Promise<ApiResponse>;
  close(): Promise<void>;
}

export interface StackOptions {
  readonly env?: Record<string, string>;
  /** Run the event side too: the stream poller, and with `kafka`, the order.placed consumer. */
  readonly events?: { readonly kafka?: { readonly brokers: string; readonly topicPrefix: string } };
  /**
   * Route the handlers' DynamoDB client (the HTTP functions, the webhook, the outbox publisher)
   * through a fault proxy, `stack.faults`. The stack's own `documentClient` and the stream poller
   * still talk to the server directly, so tests read the table as it is.
   */
  readonly dynamoFaults?: boolean;
  /** Every route's Lambda timeout, in place of the route table's (the gateway cuts off at it). */
  readonly timeoutSeconds?: number;
  /**
   * Serve at /console/ a console built for a stage (npm run build:console) from this directory,
   * as the stage's Router does, in place of the local console and its local sign-in.
   */
  readonly consoleDir?: string;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const endpoint = inject("dynamodbEndpoint");
  const faults =
    options.dynamoFaults === true ? await startDynamoDbFaultProxy(endpoint) : undefined;
  const simulator = await startStripeSimulator({
    port: 0,
    webhookSecret: WEBHOOK_SECRET,
    // Only what the deployed endpoint subscribes to: every suite on a stack proves the set.
    webhookEvents: WEBHOOK_EVENT_TYPES,
    // Stripe waits seconds for an answer; a test stack on a busy machine may need more than the
    // simulator's 5 s before a delivery counts as timed out and is sent again.
    webhookRetry: { timeoutMs: scaled(5_000) },
  });
  Object.assign(process.env, {
    PAYMENTS_TABLE: tables.payments.name,
    IDEMPOTENCY_TABLE: tables.idempotency.name,
    STRIPE_SECRET_KEY: "sk_test_local_simulator",
    STRIPE_API_BASE: simulator.url,
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    DYNAMODB_ENDPOINT: faults?.url ?? endpoint,
    // One attempt's bound, for the shared single-threaded local server on a busy machine.
    DYNAMODB_REQUEST_TIMEOUT_MS: String(scaled(2_000)),
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    POWERTOOLS_LOG_LEVEL: process.env.LOG_LEVEL ?? "SILENT",
    // EMF lines on stdout only where a test reads them (webhooks.test.ts).
    POWERTOOLS_METRICS_DISABLED: "true",
    ...options.env,
  });
  let events: LocalEvents | undefined;
  if (options.events !== undefined) {
    const kafka = options.events.kafka;
    Object.assign(process.env, {
      KAFKA_TOPIC_PREFIX: kafka?.topicPrefix ?? "",
    });
    if (kafka === undefined) delete process.env.KAFKA_BROKERS;
    else process.env.KAFKA_BROKERS = kafka.brokers;
    events = await startLocalEvents({
      dynamodbEndpoint: endpoint,
      // The table is shared by every test file: read only what is written from now on, not
      // everything the files before this one wrote.
      streamStart: "LATEST",
      ...(kafka === undefined ? {} : { kafka }),
    });
  }
  const keys = await generateDevKeys();
  const gateway = await startGateway({
    port: 0,
    routes:
      options.timeoutSeconds === undefined
        ? routes
        : routes.map((r) => ({ ...r, timeoutSeconds: options.timeoutSeconds ?? r.timeoutSeconds })),
    verifyToken: tokenVerifier(keys),
    extra:
      options.consoleDir === undefined ? consoleSite(keys) : builtConsoleSite(options.consoleDir),
  });
  simulator.setWebhookUrl(`${gateway.url}/api/webhooks/stripe`);
  const dynamo = new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  const documentClient = DynamoDBDocumentClient.from(dynamo, {
    marshallOptions: { removeUndefinedValues: true },
  });
  const url = new URL(simulator.url);
  const stripe = new Stripe("sk_test_local_simulator", {
    host: url.hostname,
    port: Number(url.port),
    protocol: "http",
    maxNetworkRetries: 0,
  });

  const contract = { checked: 0, violations: [] as string[] };
  return {
    url: gateway.url,
    contract,
    events,
    faults,
    simulator,
    stripe,
    documentClient,
    repository: new DynamoPaymentRepository(documentClient, tables.payments.name),
    keys,
    token: (sub, scope, ttlSeconds) =>
      signToken(keys, { sub, scope, ...(ttlSeconds === undefined ? {} : { ttlSeconds }) }),
    async call(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
      let body: string | undefined = options.rawBody;
      if (options.body !== undefined) {
        body = JSON.stringify(options.body);
        headers["content-type"] ??= "application/json";
      }
      const res = await fetch(`${gateway.url}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
      });
      const text = await res.text();
      let parsed: Record<string, unknown> = {};
      try {
        const value: unknown = text.length === 0 ? {} : JSON.parse(text);
        if (typeof value === "object" && value !== null && !Array.isArray(value))
          parsed = Object.fromEntries(Object.entries(value));
      } catch {
        parsed = {};
      }
      const route = matchRoute(routes, method, new URL(path, gateway.url).pathname);
      if (route !== undefined) {
        contract.checked++;
        contract.violations.push(
          ...checkAnswer(route.route.routeKey, res.status, res.headers.get("content-type"), parsed),
        );
      }
      return { status: res.status, headers: res.headers, body: parsed, text };
    },
    async close() {
      await events?.stop();
      await gateway.close();
      await simulator.close();
      await faults?.close();
      dynamo.destroy();
    },
  };
}

/** A fresh id for test data, so tests sharing the tables never meet. */
export const uniqueId = (prefix: string): string =>
  `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;

/** The legacy PaymentIntent → payment item of `pi` (written before 2026-12-07), if there is one. */
export async function legacyIntentItem(stack: Stack, pi: string) {
  const { Item } = await stack.documentClient.send(
    new GetCommand({
      TableName: tables.payments.name,
      Key: { pk: `INTENT#${pi}`, sk: "INTENT" },
      ConsistentRead: true,
    }),
  );
  return Item;
}
