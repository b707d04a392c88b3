/**
 * Tracing on, end to end: the real gateway and handlers in a child process with the environment
 * of a traced Lambda (tests/support/traced-gateway.ts), the Stripe simulator and the local
 * DynamoDB. A UDP socket stands in for the X-Ray daemon (AWS_XRAY_DAEMON_ADDRESS) and receives
 * the subsegments lib/xray.ts sends, as it does in Lambda. Checks that the handler, its DynamoDB
 * calls and its Stripe calls are recorded as subsegments of the invocation's trace, that no
 * client secret, key or token reaches a trace, and that an unsampled invocation sends nothing.
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
const TRACE_ID = "1-6746f0a0-0123456789abcdef01234567";
/** The Lambda function segment's id, which Lambda puts in the trace header as `Parent`. */
const FUNCTION_SEGMENT = "53995c3f42cd8ad8";
const HEADER_LINE = '{"format":"json","version":1}';

interface Segment {
  readonly type?: string;
  readonly id?: string;
  readonly trace_id?: string;
  readonly parent_id?: string;
  readonly name?: string;
  readonly start_time?: number;
  readonly end_time?: number;
  readonly namespace?: string;
  readonly fault?: boolean;
  readonly error?: boolean;
  readonly annotations?: Record<string, unknown>;
  readonly aws?: {
    readonly operation?: string;
    readonly table_name?: string;
    readonly table_names?: readonly string[];
    readonly retries?: number;
    readonly region?: string;
  };
  readonly http?: {
    readonly request?: { readonly url?: string; readonly method?: string };
    readonly response?: { readonly status?: number };
  };
}

/** X-Ray daemon datagrams: a `{"format":"json","version":1}` header line, then the segment. */
function parseDatagram(text: string): Segment | undefined {
  const newline = text.indexOf("\n");
  if (newline < 0 || text.slice(0, newline) !== HEADER_LINE) return undefined;
  const value: unknown = JSON.parse(text.slice(newline + 1));
  return typeof value === "object" && value !== null ? (value as Segment) : undefined;
}

/** A UDP socket standing in for the X-Ray daemon. */
class Daemon {
  readonly datagrams: string[] = [];
  #waiters: Array<() => void> = [];

  private constructor(readonly socket: Socket) {
    socket.on("message", (message) => {
      this.datagrams.push(message.toString("utf8"));
      const wake = this.#waiters;
      this.#waiters = [];
      for (const w of wake) w();
    });
  }

  static async start(): Promise<Daemon> {
    const socket = createSocket("udp4");
    socket.bind(0, "127.0.0.1");
    await once(socket, "listening");
    return new Daemon(socket);
  }

  get address(): string {
    return `127.0.0.1:${(this.socket.address() as AddressInfo).port}`;
  }

  /** Resolves once `predicate` holds for the datagrams received so far (or fails after a scaled 20 s). */
  async received(predicate: (datagrams: string[]) => boolean): Promise<string[]> {
    const deadline = Date.now() + scaled(20_000);
    for (;;) {
      if (predicate(this.datagrams)) return this.datagrams;
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new Error(`datagrams never matched; got ${JSON.stringify(this.datagrams)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolves once the segments received match `predicate`. */
  async segments(predicate: (segments: Segment[]) => boolean): Promise<Segment[]> {
    const all = await this.received((d) => predicate(d.map(parseDatagram).filter((s) => !!s)));
    return all.map(parseDatagram).filter((s) => s !== undefined);
  }
}

interface TracedGateway {
  readonly child: ChildProcess;
  readonly url: string;
  readonly token: string;
}

async function startTracedGateway(daemon: Daemon, sampled: "0" | "1"): Promise<TracedGateway> {
  const child = spawn(process.execPath, [tsx, "tests/support/traced-gateway.ts"], {
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
      AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
      LAMBDA_TASK_ROOT: root,
      _HANDLER: "index.handler",
      _X_AMZN_TRACE_ID: `Root=${TRACE_ID};Parent=${FUNCTION_SEGMENT};Sampled=${sampled}`,
      AWS_XRAY_DAEMON_ADDRESS: daemon.address,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  const served = await new Promise<{ url: string; token: string }>((resolve, reject) => {
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream }).on("line", (line) => {
        output.push(line);
        if (line.startsWith("TRACED_GATEWAY ")) resolve(JSON.parse(line.slice(15)));
      });
    }
    child.once("exit", (code) => reject(new Error(`gateway exited ${code}: ${output.join("\n")}`)));
  });
  return { child, ...served };
}

async function stop(gateway: TracedGateway | undefined): Promise<void> {
  if (gateway === undefined || gateway.child.exitCode !== null) return;
  const exited = once(gateway.child, "exit");
  gateway.child.kill("SIGTERM");
  await exited;
}

let simulator: StripeSimulator;
let sampledDaemon: Daemon;
let unsampledDaemon: Daemon;
let sampled: TracedGateway;
let unsampled: TracedGateway;

beforeAll(async () => {
  [sampledDaemon, unsampledDaemon, simulator] = await Promise.all([
    Daemon.start(),
    Daemon.start(),
    startStripeSimulator({ port: 0, webhookSecret: WEBHOOK_SECRET }),
  ]);
  [sampled, unsampled] = await Promise.all([
    startTracedGateway(sampledDaemon, "1"),
    startTracedGateway(unsampledDaemon, "0"),
  ]);
});

afterAll(async () => {
  await Promise.all([stop(sampled), stop(unsampled)]);
  await simulator?.close();
  sampledDaemon?.socket.close();
  unsampledDaemon?.socket.close();
});

async function createIntent(gateway: TracedGateway): Promise<{ id: string; clientSecret: string }> {
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
  const field = (name: string): string =>
    typeof body === "object" && body !== null && name in body
      ? String(Reflect.get(body, name))
      : "";
  return { id: field("id"), clientSecret: field("clientSecret") };
}

const isHandler = (s: Segment) => s.name === "## index.handler";
const isStripe = (s: Segment, method: string) =>
  s.namespace === "remote" &&
  s.http?.request?.method === method &&
  s.http.request.url?.includes("/v1/payment_intents") === true;

describe("tracing on", () => {
  it("records the handler, its DynamoDB calls and its Stripe calls, and no secret", async () => {
    const created = await createIntent(sampled);
    expect(created.clientSecret).toMatch(/_secret_/);

    const first = await sampledDaemon.segments(
      (all) =>
        all.some(isHandler) &&
        all.some((s) => s.name === "DynamoDB" && s.aws?.operation === "UpdateItem") &&
        all.some((s) => isStripe(s, "POST")),
    );
    // Every datagram is the daemon's header line and one subsegment document of this trace.
    expect(sampledDaemon.datagrams.every((d) => d.startsWith(`${HEADER_LINE}\n`))).toBe(true);
    for (const s of first) {
      expect(s.type).toBe("subsegment");
      expect(s.trace_id).toBe(TRACE_ID);
      expect(s.id).toMatch(/^[0-9a-f]{16}$/);
      expect(s.end_time).toBeGreaterThanOrEqual(s.start_time ?? Number.POSITIVE_INFINITY);
    }

    const handler = first.find(isHandler);
    expect(handler?.parent_id).toBe(FUNCTION_SEGMENT);
    // The container's first invocation is its cold start.
    expect(handler?.annotations).toEqual({ ColdStart: true, Service: "payment-service" });
    expect(handler?.fault).toBeUndefined();

    const dynamo = first.filter((s) => s.name === "DynamoDB");
    // Idempotency record, order lock, the transaction, the completed record (npm run bench).
    expect(dynamo.map((s) => s.aws?.operation)).toEqual([
      "PutItem",
      "GetItem",
      "TransactWriteItems",
      "UpdateItem",
    ]);
    for (const s of dynamo) {
      expect(s.parent_id).toBe(handler?.id);
      expect(s.namespace).toBe("aws");
      expect(s.aws?.retries).toBe(0);
      expect(s.aws?.region).toBe("us-east-1");
      expect(s.http?.response?.status).toBe(200);
    }
    const tablesOf = (s: Segment | undefined) => s?.aws?.table_names ?? [s?.aws?.table_name];
    expect(tablesOf(dynamo[0])).toEqual([tables.idempotency.name]);
    expect(tablesOf(dynamo[2])).toContain(tables.payments.name);

    const stripeCall = first.find((s) => isStripe(s, "POST"));
    expect(stripeCall?.parent_id).toBe(handler?.id);
    expect(stripeCall?.http?.request?.url).toBe(`${simulator.url}/v1/payment_intents`);
    expect(stripeCall?.http?.response?.status).toBe(200);

    // A read by the owner of an unpaid payment fetches its client secret from Stripe.
    const read = await fetch(`${sampled.url}/api/payments/${created.id}`, {
      headers: { authorization: `Bearer ${sampled.token}` },
    });
    expect(read.status).toBe(200);
    expect(JSON.stringify(await read.json())).toContain(created.clientSecret);
    const all = await sampledDaemon.segments(
      (segments) =>
        segments.filter(isHandler).length === 2 && segments.some((s) => isStripe(s, "GET")),
    );
    const second = all.filter(isHandler)[1];
    expect(second?.annotations).toEqual({ ColdStart: false, Service: "payment-service" });
    const retrieve = all.find((s) => isStripe(s, "GET"));
    expect(retrieve?.parent_id).toBe(second?.id);
    expect(retrieve?.http?.request?.url).toMatch(/\/v1\/payment_intents\/pi_[A-Za-z0-9]+$/);

    // Neither response bodies nor headers: no client secret, Stripe key or bearer token.
    const everything = sampledDaemon.datagrams.join("\n");
    expect(everything).not.toContain(created.clientSecret);
    expect(everything).not.toContain("_secret_");
    expect(everything).not.toContain(STRIPE_KEY);
    expect(everything).not.toContain(sampled.token);
  });

  it("a request answered 4xx marks its handler an error (the caller's), not a fault", async () => {
    const missing = `pay_${"0".repeat(26)}`;
    const res = await fetch(`${sampled.url}/api/payments/${missing}`, {
      headers: { authorization: `Bearer ${sampled.token}` },
    });
    expect(res.status).toBe(404);
    const all = await sampledDaemon.segments((segments) =>
      segments.some((s) => isHandler(s) && s.error === true),
    );
    const refused = all.filter((s) => isHandler(s) && s.error === true);
    expect(refused).toHaveLength(1);
    expect(refused[0]?.fault).toBeUndefined();
  });

  it("sends nothing for an invocation Lambda did not sample (Sampled=0)", async () => {
    await createIntent(unsampled);
    // The handler answers only after its datagrams have left; one sent after the answer
    // therefore arrives last on loopback, and marks the end of what the invocation sent.
    const marker = `marker ${uniqueId("end")}`;
    const sender = createSocket("udp4");
    const [host = "", port = ""] = unsampledDaemon.address.split(":");
    await new Promise<void>((resolve, reject) =>
      sender.send(marker, Number(port), host, (error) => (error ? reject(error) : resolve())),
    );
    sender.close();
    const received = await unsampledDaemon.received((d) => d.includes(marker));
    expect(received).toEqual([marker]);
  });
});
