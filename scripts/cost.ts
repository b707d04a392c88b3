/**
 * npm run cost: what one payment costs on AWS, measured.
 *
 * Drives the flow of a typical payment through the real handlers (in this process, behind the
 * local gateway, as tests/support/stack.ts runs them) against the local DynamoDB server behind a
 * recording proxy (scripts/cost/recorder.ts), the Stripe simulator sending its signed webhooks,
 * the local stream poller in front of the outbox publisher, and a local Kafka broker:
 *   create the payment, read it, the customer pays with a test card (Stripe's webhooks follow),
 *   the outbox publishes its events, and one payment in ten is refunded in full.
 * It counts per function: DynamoDB round trips and the read and write units they cost (from item
 * sizes), invocations, HTTP API requests, Lambda GB-seconds (measured wall time, rounded up to the
 * millisecond, at each function's configured memory) and log bytes (the functions' own lines at
 * the deployed log level, plus Lambda's platform records and API Gateway's access-log line,
 * modelled in scripts/cost/prices.ts, where the prices are too). It prints a table per function
 * and one closing line:
 *   cost: <dollars> USD per 1M payments (<w> WRU, <r> RRU, <i> invocations, <h> HTTP requests, <kb> KB logs per payment)
 *
 * COST_PAYMENTS (default 20, a multiple of 10) sets how many payments are driven.
 * A report, not a gate: it exits non-zero only if the flow itself fails.
 */

import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import { subscribe } from "node:diagnostics_channel";
import { ClientRequest } from "node:http";
import { fileURLToPath } from "node:url";
import type { Context } from "aws-lambda";
import Stripe from "stripe";
import { APPLICATION_LOG_LEVEL } from "../infra/logging.js";
import { routes } from "../infra/routes.js";
import { tables } from "../infra/tables.js";
import { WEBHOOK_EVENT_TYPES } from "../lib/adapters/stripe-webhook-events.js";
import { generateDevKeys, signToken, tokenVerifier } from "../local/auth.js";
import { startLocalTables } from "../local/dynamodb.js";
import { type LambdaHttpHandler, loadFunctionHandler, startGateway } from "../local/gateway.js";
import { startLocalKafka } from "../local/kafka.js";
import { type StreamHandler, startStreamPoller } from "../local/stream-poller.js";
import { startStripeSimulator } from "../local/stripe-simulator/index.js";
import { accessLogLine, lambdaSystemLines, PRICES } from "./cost/prices.js";
import { type Recorded, startRecordingProxy } from "./cost/recorder.js";

const PAYMENTS = Math.max(10, Math.round(Number(process.env.COST_PAYMENTS ?? 20) / 10) * 10 || 20);
const WEBHOOK_SECRET = "whsec_cost_report";
const OUTBOX_MEMORY_MB = 512;
const FUNCTIONS_DIR = fileURLToPath(new URL("../functions/", import.meta.url));

interface Invocation {
  readonly fn: string;
  readonly invocation: string;
}

interface FunctionFigures {
  invocations: number;
  httpRequests: number;
  gbSeconds: number;
  ownLogBytes: number;
  platformLogBytes: number;
}

const current = new AsyncLocalStorage<Invocation>();
const figures = new Map<string, FunctionFigures>();
const figuresOf = (fn: string): FunctionFigures => {
  let f = figures.get(fn);
  if (f === undefined) {
    f = { invocations: 0, httpRequests: 0, gbSeconds: 0, ownLogBytes: 0, platformLogBytes: 0 };
    figures.set(fn, f);
  }
  return f;
};

// Every HTTP request a handler makes (DynamoDB, Stripe) carries the handler's name, so the
// recording proxy can attribute it. The channel fires in the caller's async context, before
// the headers are sent.
subscribe("http.client.request.created", (message) => {
  const store = current.getStore();
  if (store === undefined || typeof message !== "object" || message === null) return;
  const request = "request" in message ? message.request : undefined;
  if (!(request instanceof ClientRequest) || request.headersSent) return;
  request.setHeader("x-cost-function", store.fn);
  request.setHeader("x-cost-invocation", store.invocation);
});

// The functions' own log lines: what a handler writes to stdout while it runs.
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
  const store = current.getStore();
  if (store !== undefined) {
    figuresOf(store.fn).ownLogBytes +=
      typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
    return true;
  }
  return write(chunk, ...rest);
}) as typeof process.stdout.write;

function lineBytes(lines: readonly string[]): number {
  return lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
}

async function invoke<T>(fn: string, memoryMb: number, run: () => Promise<T>): Promise<T> {
  const invocation = randomUUID();
  const started = performance.now();
  try {
    return await current.run({ fn, invocation }, run);
  } finally {
    const ms = performance.now() - started;
    const f = figuresOf(fn);
    f.invocations++;
    f.gbSeconds += (Math.ceil(ms) / 1000) * (memoryMb / 1024);
    f.platformLogBytes += lineBytes(lambdaSystemLines(invocation, memoryMb, Number(ms.toFixed(2))));
  }
}

function usage(): never {
  console.log(`npm run cost: AWS cost per payment, measured through the real handlers.
Environment: COST_PAYMENTS (default 20, rounded to a multiple of 10).`);
  process.exit(0);
}

async function main(): Promise<void> {
  if (process.argv.includes("--help") || process.argv.includes("-h")) usage();
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const db = await startLocalTables();
    cleanups.unshift(db.stop);
    const proxy = await startRecordingProxy(db.endpoint);
    cleanups.unshift(proxy.close);
    const kafka = await startLocalKafka();
    cleanups.unshift(kafka.stop);
    // The deployed endpoint's subscription: only these events cost a request and an invocation.
    const simulator = await startStripeSimulator({
      port: 0,
      webhookSecret: WEBHOOK_SECRET,
      webhookEvents: WEBHOOK_EVENT_TYPES,
    });
    cleanups.unshift(simulator.close);
    Object.assign(process.env, {
      PAYMENTS_TABLE: tables.payments.name,
      IDEMPOTENCY_TABLE: tables.idempotency.name,
      STRIPE_SECRET_KEY: "sk_test_cost_report",
      STRIPE_API_BASE: simulator.url,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      DYNAMODB_ENDPOINT: proxy.url,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
      KAFKA_BROKERS: kafka.brokers,
      KAFKA_TOPIC_PREFIX: "cost.",
      // As deployed: Lambda passes the application log level (infra/logging.ts), which
      // Powertools follows; metrics on (EMF lines are log bytes too).
      AWS_LAMBDA_LOG_LEVEL: APPLICATION_LOG_LEVEL,
      POWERTOOLS_SERVICE_NAME: "payment-service",
      POWERTOOLS_METRICS_NAMESPACE: "PaymentService",
    });

    const memoryOf = new Map(routes.map((r) => [r.handler, r.memoryMb]));
    const loadHandler = async (name: string): Promise<LambdaHttpHandler> => {
      const handler = await loadFunctionHandler(FUNCTIONS_DIR, name);
      const memoryMb = memoryOf.get(name) ?? 512;
      return async (event, context) => {
        const started = performance.now();
        const result = await invoke(name, memoryMb, () => handler(event, context));
        const f = figuresOf(name);
        f.httpRequests++;
        const status =
          typeof result === "object" && result !== null && "statusCode" in result
            ? Number(result.statusCode)
            : 200;
        f.platformLogBytes += lineBytes([
          accessLogLine({
            method: event.requestContext.http.method,
            path: event.rawPath,
            routeKey: event.routeKey,
            status,
            latencyMs: performance.now() - started,
            userAgent: event.headers["user-agent"] ?? "",
          }),
        ]);
        return result;
      };
    };
    const keys = await generateDevKeys();
    const gateway = await startGateway({
      port: 0,
      routes,
      verifyToken: tokenVerifier(keys),
      loadHandler,
    });
    cleanups.unshift(gateway.close);
    simulator.setWebhookUrl(`${gateway.url}/api/webhooks/stripe`);

    const publisher = await import("../functions/publish-outbox.js");
    const publish: StreamHandler = (event, context: Context) =>
      invoke("publish-outbox", OUTBOX_MEMORY_MB, () => publisher.handler(event, context));
    const poller = await startStreamPoller({
      endpoint: db.endpoint,
      tableName: tables.payments.name,
      handler: publish,
    });
    cleanups.unshift(poller.stop);

    const customer = await signToken(keys, { sub: "alice", scope: "payments:write payments:read" });
    const backOffice = await signToken(keys, { sub: "back-office", scope: "payments:refund" });
    const url = new URL(simulator.url);
    const stripe = new Stripe("sk_test_cost_report", {
      host: url.hostname,
      port: Number(url.port),
      protocol: "http",
      maxNetworkRetries: 0,
    });
    const call = async (method: string, path: string, token: string, body?: unknown) => {
      const res = await fetch(`${gateway.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          "user-agent": "checkout-web/1.0",
          ...(body === undefined
            ? {}
            : { "content-type": "application/json", "idempotency-key": randomUUID() }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const json: unknown = await res.json();
      if (res.status >= 300)
        throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
      return typeof json === "object" && json !== null
        ? Object.fromEntries(Object.entries(json))
        : {};
    };

    for (let n = 0; n < PAYMENTS; n++) {
      const created = await call("POST", "/api/payments/intents", customer, {
        orderId: `order-cost-${n}-${randomUUID().slice(0, 8)}`,
        amount: 2_500,
        currency: "eur",
      });
      const id = String(created.id);
      await call("GET", `/api/payments/${id}`, customer);
      await stripe.paymentIntents.confirm(String(created.stripePaymentIntentId), {
        payment_method: "pm_card_visa",
      });
      await simulator.drainWebhooks();
      if (n % 10 === 9) {
        await call("POST", `/api/payments/${id}/refund`, backOffice, {});
        await simulator.drainWebhooks();
      }
      await poller.drain();
    }
    await poller.drain();

    report(proxy.records);
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  }
}

function report(records: readonly Recorded[]): void {
  const per = (x: number) => x / PAYMENTS;
  const fmt = (x: number, digits = 2) => x.toFixed(digits);
  const rows: string[][] = [];
  let totals = { wru: 0, rru: 0, invocations: 0, http: 0, gbs: 0, logBytes: 0, trips: 0 };
  const names = [...new Set([...figures.keys(), ...records.map((r) => r.fn)])].sort();
  for (const fn of names) {
    const f = figuresOf(fn);
    const mine = records.filter((r) => r.fn === fn);
    const wru = mine.reduce((n, r) => n + r.wru, 0);
    const rru = mine.reduce((n, r) => n + r.rru, 0);
    const logBytes = f.ownLogBytes + f.platformLogBytes;
    const operations = new Map<string, number>();
    for (const r of mine) operations.set(r.operation, (operations.get(r.operation) ?? 0) + 1);
    rows.push([
      fn,
      fmt(per(f.invocations)),
      fmt(f.invocations === 0 ? 0 : mine.length / f.invocations, 1),
      fmt(per(wru)),
      fmt(per(rru)),
      fmt(per(f.httpRequests)),
      fmt(per(f.ownLogBytes) / 1024),
      fmt(per(f.platformLogBytes) / 1024),
      [...operations].map(([op, c]) => `${op} ${fmt(per(c))}`).join(", "),
    ]);
    totals = {
      wru: totals.wru + wru,
      rru: totals.rru + rru,
      invocations: totals.invocations + f.invocations,
      http: totals.http + f.httpRequests,
      gbs: totals.gbs + f.gbSeconds,
      logBytes: totals.logBytes + logBytes,
      trips: totals.trips + mine.length,
    };
  }
  const header = [
    "function",
    "invocations",
    "round trips / invocation",
    "WRU",
    "RRU",
    "HTTP requests",
    "own log KB",
    "platform log KB",
    "DynamoDB operations",
  ];
  console.log(`\nper payment, over ${PAYMENTS} payments (one in ten refunded):`);
  console.log(`| ${header.join(" | ")} |`);
  console.log(`| ${header.map(() => "---").join(" | ")} |`);
  for (const row of rows) console.log(`| ${row.join(" | ")} |`);
  const byKind = new Map<string, { wru: number; writes: number; bytes: number }>();
  for (const r of records) {
    for (const w of r.writes) {
      const k = byKind.get(w.kind) ?? { wru: 0, writes: 0, bytes: 0 };
      byKind.set(w.kind, { wru: k.wru + w.wru, writes: k.writes + 1, bytes: k.bytes + w.bytes });
    }
  }
  console.log("\nwrite units per payment by item kind (table and index writes):");
  console.log("| item | writes | WRU | mean item bytes |");
  console.log("| --- | --- | --- | --- |");
  for (const [kind, k] of [...byKind].sort((a, b) => b[1].wru - a[1].wru)) {
    console.log(
      `| ${kind} | ${fmt(per(k.writes))} | ${fmt(per(k.wru))} | ${Math.round(k.bytes / k.writes)} |`,
    );
  }
  const dollars = {
    dynamodb: totals.wru * PRICES.dynamodbWriteUnit + totals.rru * PRICES.dynamodbReadUnit,
    lambda: totals.invocations * PRICES.lambdaRequest + totals.gbs * PRICES.lambdaGbSecond,
    http: totals.http * PRICES.httpApiRequest,
    logs: (totals.logBytes / 1024 ** 3) * PRICES.logsIngestedGb,
  };
  const perMillion = (x: number) => (x / PAYMENTS) * 1e6;
  console.log(
    `\nUSD per 1M payments: DynamoDB ${fmt(perMillion(dollars.dynamodb))}, Lambda ${fmt(perMillion(dollars.lambda))} ` +
      `(of which duration ${fmt(perMillion(totals.gbs * PRICES.lambdaGbSecond))}, measured locally), ` +
      `HTTP API ${fmt(perMillion(dollars.http))}, CloudWatch Logs ${fmt(perMillion(dollars.logs))}`,
  );
  const total = dollars.dynamodb + dollars.lambda + dollars.http + dollars.logs;
  console.log(
    `cost: ${fmt(perMillion(total))} USD per 1M payments (${fmt(per(totals.wru), 1)} WRU, ${fmt(per(totals.rru), 1)} RRU, ` +
      `${fmt(per(totals.invocations), 1)} invocations, ${fmt(per(totals.http), 1)} HTTP requests, ` +
      `${fmt(per(totals.logBytes) / 1024, 1)} KB logs per payment)`,
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(
      `npm run cost: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    process.exit(1);
  },
);
