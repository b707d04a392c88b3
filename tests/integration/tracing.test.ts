/**
 * Tracing on, end to end: the real gateway and handlers in a child process with the environment
 * of a traced Lambda (tests/support/traced-gateway.ts), the Stripe simulator and the local
 * DynamoDB. A UDP socket stands in for the X-Ray daemon (AWS_XRAY_DAEMON_ADDRESS) and receives
 * the segments the X-Ray SDK sends, as it does in Lambda. Checks that DynamoDB and Stripe calls
 * are recorded as subsegments, and that no client secret or key reaches a trace.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { tables } from "../../infra/tables.js";
import { type StripeSimulator, startStripeSimulator } from "../../local/stripe-simulator/index.js";
import { uniqueId, WEBHOOK_SECRET } from "../support/stack.js";
import { scaled } from "../support/time.js";

const root = new URL("../../", import.meta.url).pathname;
const tsx = `${root}node_modules/.bin/tsx`;
const STRIPE_KEY = "sk_test_tracing_key_never_in_a_trace";

interface Segment {
  readonly name?: string;
  readonly namespace?: string;
  readonly annotations?: Record<string, unknown>;
  readonly aws?: { readonly operation?: string };
  readonly http?: { readonly request?: { readonly url?: string; readonly method?: string } };
}

/** X-Ray daemon datagrams: a `{"format":"json","version":1}` header line, then the segment. */
function parseDatagram(text: string): Segment | undefined {
  const newline = text.indexOf("\n");
  if (newline < 0) return undefined;
  const value: unknown = JSON.parse(text.slice(newline + 1));
  return typeof value === "object" && value !== null ? (value as Segment) : undefined;
}

let daemon: Socket;
const datagrams: string[] = [];
let waiters: Array<() => void> = [];
let simulator: StripeSimulator;
let child: ChildProcess;
let gateway: { url: string; token: string };

/** Resolves once `predicate` holds for the datagrams received so far (or fails after a scaled 20 s). */
async function received(predicate: (segments: Segment[]) => boolean): Promise<Segment[]> {
  const deadline = Date.now() + scaled(20_000);
  for (;;) {
    const segments = datagrams.map(parseDatagram).filter((s) => s !== undefined);
    if (predicate(segments)) return segments;
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      throw new Error(`segments never matched; got ${JSON.stringify(segments.map((s) => s.name))}`);
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, remaining);
      waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

beforeAll(async () => {
  daemon = createSocket("udp4");
  daemon.on("message", (message) => {
    datagrams.push(message.toString("utf8"));
    const wake = waiters;
    waiters = [];
    for (const w of wake) w();
  });
  daemon.bind(0, "127.0.0.1");
  await once(daemon, "listening");
  const daemonPort = (daemon.address() as AddressInfo).port;
  simulator = await startStripeSimulator({ port: 0, webhookSecret: WEBHOOK_SECRET });

  child = spawn(process.execPath, [tsx, "tests/support/traced-gateway.ts"], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? "",
      PAYMENTS_TABLE: tables.payments.name,
      IDEMPOTENCY_TABLE: tables.idempotency.name,
      STRIPE_SECRET_KEY: STRIPE_KEY,
      STRIPE_API_BASE: simulator.url,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      DYNAMODB_ENDPOINT: inject("dynamodbEndpoint"),
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
      POWERTOOLS_LOG_LEVEL: "SILENT",
      POWERTOOLS_METRICS_DISABLED: "true",
      // What Lambda sets for a function with tracing mode Active (infra/functions.ts).
      POWERTOOLS_TRACE_ENABLED: "true",
      AWS_EXECUTION_ENV: "AWS_Lambda_nodejs24.x",
      AWS_LAMBDA_FUNCTION_NAME: "payment-service-tracing",
      LAMBDA_TASK_ROOT: root,
      _HANDLER: "index.handler",
      _X_AMZN_TRACE_ID:
        "Root=1-6746f0a0-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1",
      AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${daemonPort}`,
      AWS_XRAY_CONTEXT_MISSING: "IGNORE_ERROR",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  gateway = await new Promise((resolve, reject) => {
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream }).on("line", (line) => {
        output.push(line);
        if (line.startsWith("TRACED_GATEWAY ")) resolve(JSON.parse(line.slice(15)));
      });
    }
    child.once("exit", (code) => reject(new Error(`gateway exited ${code}: ${output.join("\n")}`)));
  });
});

afterAll(async () => {
  if (child.exitCode === null) {
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    await exited;
  }
  await simulator?.close();
  daemon?.close();
});

describe("tracing on", () => {
  it("records the handler, its DynamoDB calls and its Stripe call, and no secret", async () => {
    const res = await fetch(`${gateway.url}/api/payments/intents`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${gateway.token}`,
        "content-type": "application/json",
        "idempotency-key": uniqueId("trace"),
      },
      body: JSON.stringify({ orderId: uniqueId("order"), amount: 2500, currency: "usd" }),
    });
    const body: unknown = await res.json();
    expect(res.status).toBe(201);
    const clientSecret =
      typeof body === "object" && body !== null && "clientSecret" in body
        ? String(body.clientSecret)
        : "";
    expect(clientSecret).toMatch(/_secret_/);

    const segments = await received(
      (all) =>
        all.some((s) => s.name?.startsWith("## ")) &&
        all.some((s) => s.name === "DynamoDB" && s.aws?.operation === "TransactWriteItems") &&
        all.some((s) => s.http?.request?.url?.includes("/v1/payment_intents") === true),
    );
    const handler = segments.find((s) => s.name?.startsWith("## "));
    expect(typeof handler?.annotations?.ColdStart).toBe("boolean");
    expect(handler?.annotations?.Service).toBe("payment-service");
    const operations = segments.filter((s) => s.name === "DynamoDB").map((s) => s.aws?.operation);
    // Idempotency record, order lock, the transaction, the completed record (npm run bench).
    expect(operations).toEqual(["PutItem", "GetItem", "TransactWriteItems", "UpdateItem"]);
    const stripeCall = segments.find((s) => s.http?.request?.url?.includes("/v1/payment_intents"));
    expect(stripeCall?.namespace).toBe("remote");
    expect(stripeCall?.http?.request?.method).toBe("POST");

    const everything = datagrams.join("\n");
    expect(everything).not.toContain(clientSecret);
    expect(everything).not.toContain("_secret_");
    expect(everything).not.toContain(STRIPE_KEY);
  });
});
