/**
 * DynamoDB round trips per API operation, counted on the wire.
 *
 * The handlers run in this process behind the local gateway, as in tests/support/stack.ts, but the
 * gateway loads the BUNDLES (dist/functions/<name>/bundle.mjs), i.e. what deploys. Their
 * DYNAMODB_ENDPOINT is a counting HTTP proxy in front of the local DynamoDB server: every request
 * that reaches DynamoDB is counted, whichever client sent it (ours, Powertools idempotency's) and
 * including SDK retries. An SDK middleware on `dynamoClient` would count commands instead, and
 * only those of one module instance; each bundle has its own. Operations run one at a time, so
 * each request in a window belongs to the operation measured.
 *
 * Stripe calls are counted the same way (the simulator's request counter). Webhooks are held by
 * the simulator and only `payment_intent.succeeded` is let through, released on purpose.
 */
import { createServer, Agent as HttpAgent, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import Stripe from "stripe";
import { routes } from "../../infra/routes.js";
import { tables } from "../../infra/tables.js";
import { DynamoPaymentRepository } from "../../lib/adapters/dynamo-payment-repository.js";
import { generateDevKeys, signToken, tokenVerifier } from "../../local/auth.js";
import { startLocalTables } from "../../local/dynamodb.js";
import { type LambdaHttpHandler, startGateway } from "../../local/gateway.js";
import { startStripeSimulator } from "../../local/stripe-simulator/index.js";
import { DIST } from "./bundle.js";

export interface CountingProxy {
  readonly url: string;
  /** The operations (X-Amz-Target without the version) seen since the last take(). */
  take(): string[];
  close(): Promise<void>;
}

/** An HTTP proxy to `target` that records each request's DynamoDB operation. */
export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const upstream = new URL(target);
  const agent = new HttpAgent({ keepAlive: true });
  let seen: string[] = [];
  const server = createServer((req, res) => {
    const header = req.headers["x-amz-target"];
    seen.push(String(header ?? "(no target)").replace(/^DynamoDB_\d+\./, ""));
    const forward = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on("error", (error) => {
      res.writeHead(502);
      res.end(error.message);
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    take() {
      const taken = seen;
      seen = [];
      return taken;
    },
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface RoundTripRow {
  readonly operation: string;
  /** DynamoDB requests of each run (the first run is a cold start of its handler). */
  readonly dynamodb: readonly number[];
  /** The operations of the last run, in order. */
  readonly calls: readonly string[];
  readonly stripe: readonly number[];
  /** What the design needs, and why (lib/use-cases, lib/idempotency.ts, the repository). */
  readonly floor: number;
  readonly floorWhy: string;
}

const FLOORS: Readonly<Record<string, { floor: number; why: string }>> = {
  "create (new)": {
    floor: 4,
    why:
      "idempotency PutItem (in progress) + GetItem ORDER lock + TransactWriteItems (lock, " +
      "payment with its history, intent, outbox, audit) + idempotency UpdateItem (completed)",
  },
  "create (replay)": {
    floor: 1,
    why:
      "idempotency PutItem fails its condition and returns the stored record " +
      "(ReturnValuesOnConditionCheckFailure ALL_OLD); the client secret comes from Stripe",
  },
  "read (GET)": {
    floor: 1,
    why: "one Query: the payment item holds its history (the PAYMENT prefix also finds the history items of payments written before)",
  },
  "webhook (payment_intent.succeeded)": {
    floor: 2,
    why:
      "GetItem PAYMENT (named by the PaymentIntent's signed metadata, checked against the " +
      "payment's own PaymentIntent; a duplicate is known from its applied event ids) + " +
      "TransactWriteItems (payment with history and event id, outbox, audit)",
  },
  "refund (202)": {
    floor: 5,
    why:
      "idempotency PutItem + GetItem PAYMENT + TransactWriteItems (reserve, refund item) + " +
      "UpdateItem (Stripe refund id) + idempotency UpdateItem",
  },
};

const WEBHOOK_SECRET = "whsec_bench_round_trips";

function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

async function loadBundle(name: string): Promise<LambdaHttpHandler> {
  const mod: unknown = await import(
    pathToFileURL(join(DIST, "functions", name, "bundle.mjs")).href
  );
  if (typeof mod !== "object" || mod === null || !("handler" in mod)) {
    throw new Error(`dist/functions/${name}/bundle.mjs exports no handler`);
  }
  const handler = mod.handler;
  if (typeof handler !== "function") throw new Error(`${name}: handler is not a function`);
  return async (event, context) => await handler(event, context);
}

export async function measureRoundTrips(
  options: { readonly runs?: number; readonly log?: (line: string) => void } = {},
): Promise<RoundTripRow[]> {
  const runs = options.runs ?? 3;
  const log = options.log ?? (() => {});
  const db = await startLocalTables();
  const direct = db.client;
  const cleanups: (() => Promise<void>)[] = [db.stop];
  try {
    const proxy = await startCountingProxy(db.endpoint);
    cleanups.unshift(proxy.close);
    const simulator = await startStripeSimulator({ port: 0, webhookSecret: WEBHOOK_SECRET });
    cleanups.unshift(simulator.close);
    simulator.setWebhookBehaviour({ mode: "hold", events: ["payment_intent.succeeded"] });
    Object.assign(process.env, {
      PAYMENTS_TABLE: tables.payments.name,
      IDEMPOTENCY_TABLE: tables.idempotency.name,
      STRIPE_SECRET_KEY: "sk_test_bench_round_trips",
      STRIPE_API_BASE: simulator.url,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      DYNAMODB_ENDPOINT: proxy.url,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
      POWERTOOLS_LOG_LEVEL: "SILENT",
      POWERTOOLS_METRICS_DISABLED: "true",
    });
    const keys = await generateDevKeys();
    const gateway = await startGateway({
      port: 0,
      routes,
      verifyToken: tokenVerifier(keys),
      loadHandler: loadBundle,
      log,
    });
    cleanups.unshift(gateway.close);
    simulator.setWebhookUrl(`${gateway.url}/api/webhooks/stripe`);
    const alice = await signToken(keys, { sub: "alice", scope: "payments:write payments:read" });
    const backOffice = await signToken(keys, {
      sub: "back-office",
      scope: "payments:refund payments:admin",
    });
    const simulatorUrl = new URL(simulator.url);
    const stripe = new Stripe("sk_test_bench_round_trips", {
      host: simulatorUrl.hostname,
      port: Number(simulatorUrl.port),
      protocol: "http",
      maxNetworkRetries: 0,
    });
    const repository = new DynamoPaymentRepository(
      DynamoDBDocumentClient.from(direct),
      tables.payments.name,
    );

    const call = async (
      method: string,
      path: string,
      token: string,
      body?: unknown,
      key?: string,
    ): Promise<{ status: number; json: Record<string, unknown> }> => {
      const res = await fetch(`${gateway.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...(key === undefined ? {} : { "idempotency-key": key }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const value: unknown = await res.json();
      const json =
        typeof value === "object" && value !== null
          ? Object.fromEntries(Object.entries(value))
          : {};
      return { status: res.status, json };
    };

    const results = new Map<string, { dynamodb: number[]; stripe: number[]; calls: string[] }>();
    const measure = async <T>(operation: string, action: () => Promise<T>): Promise<T> => {
      proxy.take();
      const stripeBefore = simulator.stats().requests;
      const value = await action();
      const calls = proxy.take();
      const row = results.get(operation) ?? { dynamodb: [], stripe: [], calls: [] };
      row.dynamodb.push(calls.length);
      row.stripe.push(simulator.stats().requests - stripeBefore);
      row.calls = calls;
      results.set(operation, row);
      return value;
    };
    const expectStatus = (operation: string, got: number, want: number) => {
      if (got !== want) throw new Error(`${operation}: status ${got}, expected ${want}`);
    };

    for (let run = 1; run <= runs; run++) {
      const key = unique("key");
      const body = { orderId: unique("order"), amount: 10_000, currency: "usd" };
      const created = await measure("create (new)", () =>
        call("POST", "/api/payments/intents", alice, body, key),
      );
      expectStatus("create (new)", created.status, 201);
      const paymentId = String(created.json.id);
      const intentId = String(created.json.stripePaymentIntentId);
      const replay = await measure("create (replay)", () =>
        call("POST", "/api/payments/intents", alice, body, key),
      );
      expectStatus("create (replay)", replay.status, 201);
      const read = await measure("read (GET)", () =>
        call("GET", `/api/payments/${paymentId}`, alice),
      );
      expectStatus("read (GET)", read.status, 200);

      // The customer pays: Stripe emits payment_intent.succeeded, held until released below.
      await stripe.paymentIntents.confirm(intentId, { payment_method: "pm_card_visa" });
      await measure("webhook (payment_intent.succeeded)", async () => {
        if (simulator.releaseWebhooks() !== 1) throw new Error("expected one held webhook");
        await simulator.drainWebhooks();
      });
      const delivery = simulator.webhookDeliveries().at(-1);
      if (delivery?.status !== 200) throw new Error(`webhook answered ${delivery?.status}`);
      const captured = await repository.get(paymentId);
      if (captured?.status !== "captured") throw new Error(`webhook left ${captured?.status}`);

      const refund = await measure("refund (202)", () =>
        call(
          "POST",
          `/api/payments/${paymentId}/refund`,
          backOffice,
          { amount: 2_500 },
          unique("r"),
        ),
      );
      expectStatus("refund (202)", refund.status, 202);
      log(`round trips: run ${run} done`);
    }

    return [...results.entries()].map(([operation, r]) => {
      const floor = FLOORS[operation];
      return {
        operation,
        dynamodb: r.dynamodb,
        calls: r.calls,
        stripe: r.stripe,
        floor: floor?.floor ?? Number.NaN,
        floorWhy: floor?.why ?? "",
      };
    });
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  }
}
