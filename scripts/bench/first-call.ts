/**
 * The first invocation of each function, as CPU time: a fresh Node 24 process imports the
 * function's bundle (dist/functions/<name>/bundle.mjs, what deploys), then calls its handler
 * once with a real event against the local stack (moto, the Stripe simulator, a local Kafka
 * broker), timing the import and the call apart. Beside them, the floor's first invocation:
 * the DynamoDB clients and one GetItem (scripts/bench/floor-call.ts).
 *
 * The events are the local gateway's own (it builds them from HTTP requests with a signed token,
 * as API Gateway would; a capturing handler takes them instead of running anything), a signed
 * Stripe event, a DynamoDB stream record of a real outbox item, an MSK record of `order.placed`,
 * and the scheduled jobs' empty events. Each round runs every function in one order (a payment
 * created by the first is the one the others read, refund, cancel and publish), so the rounds
 * interleave the functions and a slow spell of the machine touches all of them alike.
 *
 * Locally Kafka has no IAM: the publisher's first call connects in plaintext, so MSK's IAM
 * signer (a credentials lookup and a SigV4 signature) is not in these figures.
 */
import { randomUUID } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { GetItemCommand, QueryCommand } from "@aws-sdk/client-dynamodb";
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from "aws-lambda";
import Stripe from "stripe";
import { routes } from "../../infra/routes.js";
import { tables } from "../../infra/tables.js";
import { STRIPE_API_VERSION } from "../../lib/adapters/stripe-facts.js";
import { generateDevKeys, signToken, tokenVerifier } from "../../local/auth.js";
import { startLocalTables } from "../../local/dynamodb.js";
import { startGateway } from "../../local/gateway.js";
import { startLocalKafka } from "../../local/kafka.js";
import { startStripeSimulator } from "../../local/stripe-simulator/index.js";
import { DIST } from "./bundle.js";
import { functionEnvironment, lambdaEnvironment } from "./env.js";
import { type FirstCallResult, probeFirstCall } from "./probe.js";

export const FLOOR_LABEL = "floor (clients + one GetItem)";

export interface FirstCallRow {
  readonly label: string;
  readonly importCpuMs: readonly number[];
  readonly callCpuMs: readonly number[];
  readonly totalCpuMs: readonly number[];
  readonly totalWallMs: readonly number[];
  /** What each first call answered (status code, or how a batch went). */
  readonly outcomes: readonly string[];
}

export interface FirstCallOptions {
  /** Bundles by function name. */
  readonly bundles: ReadonlyMap<string, string>;
  /** The floor's first-call bundle (scripts/bench/floor-call.ts). */
  readonly floor: string;
  readonly runs: number;
  readonly log?: (line: string) => void;
}

interface Samples {
  importCpuMs: number[];
  callCpuMs: number[];
  totalCpuMs: number[];
  totalWallMs: number[];
  outcomes: string[];
}

const WEBHOOK_SECRET = "whsec_bench";
/** A well-formed dead-letter id that names none: redrive and discard read, then answer 404. */
const NO_DEAD_LETTER = `dl_${"0".repeat(26)}`;
const STRIPE_KEY = "sk_test_bench";
/** The functions that get the local broker's settings (order-placed reads only auth and prefix). */
const KAFKA_FUNCTIONS: ReadonlySet<string> = new Set([
  "publish-outbox",
  "sweep-outbox",
  "order-placed",
]);

export async function measureFirstCalls(options: FirstCallOptions): Promise<FirstCallRow[]> {
  const log = options.log ?? (() => {});
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const db = await startLocalTables();
    cleanups.unshift(db.stop);
    const direct = db.client;
    const simulator = await startStripeSimulator({ port: 0, webhookSecret: WEBHOOK_SECRET });
    cleanups.unshift(simulator.close);
    const kafka = await startLocalKafka();
    cleanups.unshift(kafka.stop);

    // The gateway builds each HTTP event; the capturing handler keeps it and runs nothing.
    let captured: APIGatewayProxyEventV2WithJWTAuthorizer | undefined;
    const keys = await generateDevKeys();
    const gateway = await startGateway({
      port: 0,
      routes,
      verifyToken: tokenVerifier(keys),
      loadHandler: async () => async (event) => {
        captured = event;
        return { statusCode: 204, body: "" };
      },
    });
    cleanups.unshift(gateway.close);
    const alice = await signToken(keys, { sub: "alice", scope: "payments:write payments:read" });
    const ops = await signToken(keys, {
      sub: "ops",
      scope: "payments:read payments:refund payments:admin",
    });
    const httpEvent = async (
      method: string,
      path: string,
      token: string | undefined,
      body?: string,
      headers: Record<string, string> = {},
    ): Promise<APIGatewayProxyEventV2WithJWTAuthorizer> => {
      captured = undefined;
      const res = await fetch(`${gateway.url}${path}`, {
        method,
        headers: {
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          "user-agent": "bench/first-call",
          ...headers,
        },
        ...(body === undefined ? {} : { body }),
      });
      await res.arrayBuffer();
      if (captured === undefined)
        throw new Error(`${method} ${path}: the gateway answered ${res.status}`);
      return captured;
    };
    const simulatorUrl = new URL(simulator.url);
    const stripe = new Stripe(STRIPE_KEY, {
      host: simulatorUrl.hostname,
      port: Number(simulatorUrl.port),
      protocol: "http",
      maxNetworkRetries: 0,
    });

    const local = {
      DYNAMODB_ENDPOINT: db.endpoint,
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
      STRIPE_API_BASE: simulator.url,
      STRIPE_SECRET_KEY: STRIPE_KEY,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    };
    const kafkaLocal = {
      KAFKA_BROKERS: kafka.brokers,
      KAFKA_AUTH: "plaintext",
      KAFKA_TOPIC_PREFIX: "bench.",
    };
    const environmentOf = (name: string): Record<string, string> => ({
      ...functionEnvironment(name),
      ...local,
      ...(KAFKA_FUNCTIONS.has(name) ? kafkaLocal : {}),
    });

    const eventsDir = join(DIST, "bench", "first-call");
    await mkdir(eventsDir, { recursive: true });
    const rows = new Map<string, Samples>();
    const record = (label: string, r: FirstCallResult) => {
      const row = rows.get(label) ?? {
        importCpuMs: [],
        callCpuMs: [],
        totalCpuMs: [],
        totalWallMs: [],
        outcomes: [],
      };
      row.importCpuMs.push(r.importCpuMs);
      row.callCpuMs.push(r.callCpuMs);
      row.totalCpuMs.push(r.importCpuMs + r.callCpuMs);
      row.totalWallMs.push(r.importMs + r.callMs);
      row.outcomes.push(r.outcome);
      rows.set(label, row);
    };
    const run = async (
      label: string,
      file: string,
      env: Record<string, string>,
      event: unknown,
    ) => {
      const eventFile = join(eventsDir, `${label.replace(/[^a-z0-9-]/gi, "_")}.json`);
      await writeFile(eventFile, JSON.stringify(event));
      const result = await probeFirstCall(file, eventFile, env);
      record(label, result);
      return result;
    };
    const fn = async (name: string, event: unknown) => {
      const file = options.bundles.get(name);
      if (file === undefined) throw new Error(`no bundle for ${name}`);
      // A package with its compile cache (scripts/bench/lambda-layout.ts) reads Lambda's variable.
      return run(name, file, { ...environmentOf(name), LAMBDA_TASK_ROOT: dirname(file) }, event);
    };
    const key = () => ({ "idempotency-key": randomUUID() });

    for (let round = 1; round <= options.runs; round++) {
      await run(
        FLOOR_LABEL,
        options.floor,
        { ...lambdaEnvironment("floor"), ...local, LAMBDA_TASK_ROOT: dirname(options.floor) },
        {},
      );
      const orderId = `order-bench-${randomUUID().slice(0, 8)}`;
      const created = await fn(
        "create-intent",
        await httpEvent(
          "POST",
          "/api/payments/intents",
          alice,
          JSON.stringify({ orderId, amount: 2_500, currency: "eur" }),
          key(),
        ),
      );
      const id = created.id;
      if (created.outcome !== "201" || id === undefined) {
        throw new Error(`create-intent's first call answered ${created.outcome}`);
      }
      await fn("get-payment", await httpEvent("GET", `/api/payments/${id}`, alice));
      await fn("list-payments", await httpEvent("GET", `/api/payments?orderId=${orderId}`, alice));
      await fn("get-payment-audit", await httpEvent("GET", `/api/payments/${id}/audit`, ops));
      // Not authorized yet: capture and refund are refused (409) after their reads.
      await fn(
        "capture-payment",
        await httpEvent("POST", `/api/payments/${id}/capture`, ops, "{}", key()),
      );
      await fn(
        "refund-payment",
        await httpEvent("POST", `/api/payments/${id}/refund`, ops, "{}", key()),
      );
      await fn(
        "reconcile-payment",
        await httpEvent("POST", `/api/payments/${id}/reconcile`, ops, "{}", key()),
      );
      await fn(
        "cancel-payment",
        await httpEvent("POST", `/api/payments/${id}/cancel`, ops, "{}", key()),
      );
      // Stripe's payment_intent.canceled, signed: the payment knows it already (one read).
      const { Item: stored } = await direct.send(
        new GetItemCommand({
          TableName: tables.payments.name,
          Key: { pk: { S: `PAYMENT#${id}` }, sk: { S: "PAYMENT" } },
          ConsistentRead: true,
        }),
      );
      const intentId = stored?.stripePaymentIntentId?.S;
      if (intentId === undefined) throw new Error(`payment ${id} has no PaymentIntent`);
      const intent = await stripe.paymentIntents.retrieve(intentId);
      const payload = JSON.stringify({
        id: `evt_bench_${randomUUID().replaceAll("-", "")}`,
        object: "event",
        api_version: STRIPE_API_VERSION,
        created: Math.floor(Date.now() / 1000),
        livemode: false,
        pending_webhooks: 1,
        request: { id: null, idempotency_key: null },
        type: "payment_intent.canceled",
        data: { object: intent },
      });
      const signature = stripe.webhooks.generateTestHeaderString({
        payload,
        secret: WEBHOOK_SECRET,
      });
      await fn(
        "stripe-webhook",
        await httpEvent("POST", "/api/webhooks/stripe", undefined, payload, {
          "stripe-signature": signature,
        }),
      );
      await fn("list-dead-letters", await httpEvent("GET", "/api/dead-letters", ops));
      await fn(
        "redrive-dead-letter",
        await httpEvent("POST", `/api/dead-letters/${NO_DEAD_LETTER}/redrive`, ops, "{}"),
      );
      await fn(
        "discard-dead-letter",
        await httpEvent(
          "POST",
          `/api/dead-letters/${NO_DEAD_LETTER}/discard`,
          ops,
          JSON.stringify({ reason: "bench" }),
        ),
      );
      // The stream's record of the payment's first outbox item, as Lambda hands it over.
      const { Items = [] } = await direct.send(
        new QueryCommand({
          TableName: tables.payments.name,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :o)",
          ExpressionAttributeValues: { ":pk": { S: `PAYMENT#${id}` }, ":o": { S: "OUTBOX#" } },
          ConsistentRead: true,
          Limit: 1,
        }),
      );
      const item = Items[0];
      if (item === undefined) throw new Error(`payment ${id} has no outbox item`);
      await fn("publish-outbox", {
        Records: [
          {
            eventID: randomUUID(),
            eventName: "INSERT",
            eventVersion: "1.1",
            eventSource: "aws:dynamodb",
            awsRegion: "us-east-1",
            dynamodb: {
              Keys: { pk: item.pk, sk: item.sk },
              NewImage: item,
              SequenceNumber: String(round),
              SizeBytes: 1,
              StreamViewType: "NEW_AND_OLD_IMAGES",
            },
            eventSourceARN: "arn:aws:dynamodb:us-east-1:000000000000:table/Payments/stream/bench",
          },
        ],
      });
      await fn("sweep-outbox", {});
      await fn("reconcile", {});
      const placed = `order-placed-bench-${randomUUID().slice(0, 8)}`;
      await fn("order-placed", {
        eventSource: "aws:kafka",
        eventSourceArn: "arn:aws:kafka:us-east-1:000000000000:cluster/bench/1",
        bootstrapServers: kafka.brokers,
        records: {
          "bench.order.placed-0": [
            {
              topic: "bench.order.placed",
              partition: 0,
              offset: round,
              timestamp: Date.now(),
              timestampType: "CREATE_TIME",
              key: Buffer.from(placed).toString("base64"),
              value: Buffer.from(
                JSON.stringify({
                  id: randomUUID(),
                  type: "order.placed",
                  occurredAt: new Date().toISOString(),
                  data: { orderId: placed, customerId: "bob", amount: 1_200, currency: "eur" },
                }),
              ).toString("base64"),
              headers: [],
            },
          ],
        },
      });
      log(`first calls: round ${round} of ${options.runs} done`);
    }
    return [...rows].map(([label, samples]) => ({ label, ...samples }));
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  }
}
