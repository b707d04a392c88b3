/**
 * DynamoDB failing under the service, through the fault proxy (local/dynamodb-fault-proxy.ts) in
 * front of the handlers' DynamoDB client: throttling, 5xx, timeouts and dropped connections
 * answer 503 `storage_unavailable` with Retry-After and leave nothing half written (the table is
 * read directly); the same Idempotency-Key later succeeds exactly once (one PaymentIntent, one
 * payment, one outbox event on Kafka). The webhook answers 5xx so Stripe redelivers; the outbox
 * publisher fails its stream record so it is retried.
 */
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { tables } from "../../infra/tables.js";
import { paymentIdForRequest } from "../../lib/domain/ids.js";
import type { DynamoDbFault, FaultRule } from "../../local/dynamodb-fault-proxy.js";
import { type LocalKafka, startLocalKafka } from "../../local/kafka.js";
import { type Collector, collect } from "../support/kafka-collector.js";
import { type Stack, startStack, uniqueId } from "../support/stack.js";
import { scaled } from "../support/time.js";

const PREFIX = "faults.";
/** Attempts per DynamoDB call (the first included), as the stack configures the handlers. */
const ATTEMPTS = 3;
const REQUEST_TIMEOUT_MS = scaled(1_000);
const PAYMENTS = tables.payments.name;
const IDEMPOTENCY = tables.idempotency.name;

let kafka: LocalKafka;
let stack: Stack;
let collector: Collector;
let alice: string;
let backOffice: string;

beforeAll(async () => {
  kafka = await startLocalKafka();
  stack = await startStack({
    dynamoFaults: true,
    events: { kafka: { brokers: kafka.brokers, topicPrefix: PREFIX } },
    env: {
      DYNAMODB_MAX_ATTEMPTS: String(ATTEMPTS),
      DYNAMODB_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    },
  });
  collector = await collect(kafka.brokers, [
    `${PREFIX}payment.initiated`,
    `${PREFIX}payment.authorized`,
    `${PREFIX}payment.captured`,
    `${PREFIX}payment.refunded`,
  ]);
  alice = await stack.token("alice", "payments:write payments:read");
  backOffice = await stack.token("back-office", "payments:refund payments:read");
}, scaled(180_000));

afterEach(async () => {
  faults().clear();
  stack.simulator.setWebhookBehaviour({ mode: "normal" });
  await faults().idle();
});

afterAll(async () => {
  await collector?.stop();
  await stack?.close();
  await kafka?.stop();
});

function faults() {
  if (stack.faults === undefined) throw new Error("the stack runs without the fault proxy");
  return stack.faults;
}

const create = (key: string, orderId: string, captureMethod?: "manual") =>
  stack.call("POST", "/api/payments/intents", {
    token: alice,
    body: { orderId, amount: 5_000, currency: "usd", ...(captureMethod ? { captureMethod } : {}) },
    headers: { "idempotency-key": key },
  });

const intentsFor = (orderId: string) =>
  stack.simulator.paymentIntents().filter((pi) => pi.metadata.order_id === orderId);

/** Everything stored under the payment's partition, by sort key. */
async function partition(paymentId: string): Promise<string[]> {
  const { Items = [] } = await stack.documentClient.send(
    new QueryCommand({
      TableName: PAYMENTS,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": `PAYMENT#${paymentId}` },
      ConsistentRead: true,
    }),
  );
  return Items.map((i) => String(i.sk));
}

const outboxOf = async (paymentId: string) =>
  (await partition(paymentId)).filter((sk) => sk.startsWith("OUTBOX#"));

/** Distinct event ids, and copies, of `type` published for the order. */
function published(orderId: string, type: string): { ids: string[]; copies: number } {
  const mine = collector.messages.filter((m) => m.key === orderId && m.value.type === type);
  return { ids: [...new Set(mine.map((m) => m.headers["event-id"] ?? ""))], copies: mine.length };
}

async function eventually(orderId: string, type: string): Promise<void> {
  await collector.waitFor(
    (all) => all.some((m) => m.key === orderId && m.value.type === type),
    scaled(30_000),
  );
  await stack.events?.poller.drain(scaled(30_000));
}

function expect503(res: { status: number; headers: Headers; body: Record<string, unknown> }) {
  expect(res.status).toBe(503);
  expect(res.body.code).toBe("storage_unavailable");
  expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
}

/** Every attempt of one call fails: the SDK's retries do not hide it. */
const everyAttempt = (rule: Omit<FaultRule, "times">): FaultRule => ({ ...rule, times: ATTEMPTS });

const refusals: [string, DynamoDbFault][] = [
  ["ProvisionedThroughputExceeded", { kind: "throughput" }],
  ["ThrottlingException", { kind: "throttling" }],
  ["HTTP 500", { kind: "status", status: 500 }],
  ["HTTP 503", { kind: "status", status: 503 }],
  ["a dropped connection", { kind: "drop" }],
];

describe("create under DynamoDB faults", () => {
  it.each(refusals)(
    "%s on the payment's transaction: 503, nothing written, the same key then creates it once",
    async (_name, fault) => {
      const orderId = uniqueId("order");
      const key = uniqueId("key");
      const paymentId = paymentIdForRequest("alice", key);
      const injection = faults().inject(
        everyAttempt({ operation: "TransactWriteItems", table: PAYMENTS, fault }),
      );
      const down = await create(key, orderId);
      expect503(down);
      expect(injection.fired).toBe(ATTEMPTS);
      expect(await stack.repository.paymentIdForOrder(orderId)).toBeUndefined();
      expect(await partition(paymentId)).toEqual([]);

      const up = await create(key, orderId);
      expect(up.status).toBe(201);
      expect(up.body.id).toBe(paymentId);
      expect(intentsFor(orderId)).toHaveLength(1);
      expect(await stack.repository.paymentIdForOrder(orderId)).toBe(paymentId);
      expect(await outboxOf(paymentId)).toHaveLength(1);
      await eventually(orderId, "payment.initiated");
      expect(published(orderId, "payment.initiated")).toEqual({
        ids: [expect.any(String)],
        copies: 1,
      });
    },
  );

  it.each([
    ["latency past the request timeout", { kind: "latency", ms: REQUEST_TIMEOUT_MS + scaled(500) }],
    ["an answer lost after the write", { kind: "drop", afterForward: true }],
  ] satisfies [string, DynamoDbFault][])(
    "%s: 503; the transaction landed whole or not at all, and the same key answers it once",
    async (_name, fault) => {
      const orderId = uniqueId("order");
      const key = uniqueId("key");
      const paymentId = paymentIdForRequest("alice", key);
      faults().inject(everyAttempt({ operation: "TransactWriteItems", table: PAYMENTS, fault }));
      const down = await create(key, orderId);
      expect503(down);
      // The held requests reach the server after the client gave up, as they would on DynamoDB.
      await faults().idle();
      const stored = await partition(paymentId);
      const lock = await stack.repository.paymentIdForOrder(orderId);
      if (lock === undefined) expect(stored).toEqual([]);
      else {
        expect(lock).toBe(paymentId);
        expect(stored.filter((sk) => sk === "PAYMENT")).toHaveLength(1);
        expect(stored.filter((sk) => sk.startsWith("OUTBOX#"))).toHaveLength(1);
      }

      const up = await create(key, orderId);
      expect(up.status).toBe(201);
      expect(up.body.id).toBe(paymentId);
      expect(intentsFor(orderId)).toHaveLength(1);
      expect(await outboxOf(paymentId)).toHaveLength(1);
      await eventually(orderId, "payment.initiated");
      expect(published(orderId, "payment.initiated").copies).toBe(1);
    },
  );

  it("transaction conflicts: a few are retried inside (201); past the retries, 409 concurrent_update and the same key then creates once", async () => {
    const brief = uniqueId("order");
    faults().inject({
      operation: "TransactWriteItems",
      table: PAYMENTS,
      times: 2,
      fault: { kind: "conflict" },
    });
    const through = await create(uniqueId("key"), brief);
    expect(through.status).toBe(201);
    expect(intentsFor(brief)).toHaveLength(1);

    const orderId = uniqueId("order");
    const key = uniqueId("key");
    faults().inject({
      operation: "TransactWriteItems",
      table: PAYMENTS,
      times: 50,
      fault: { kind: "conflict" },
    });
    const busy = await create(key, orderId);
    faults().clear();
    expect(busy.status).toBe(409);
    expect(busy.body.code).toBe("concurrent_update");
    expect(busy.headers.get("retry-after")).toBe("1");
    expect(await stack.repository.paymentIdForOrder(orderId)).toBeUndefined();
    expect(await partition(paymentIdForRequest("alice", key))).toEqual([]);

    const up = await create(key, orderId);
    expect(up.status).toBe(201);
    expect(intentsFor(orderId)).toHaveLength(1);
    await eventually(orderId, "payment.initiated");
    expect(published(orderId, "payment.initiated").copies).toBe(1);
  });

  it("the idempotency store throttled: 503 before Stripe is asked, and the same key then creates once", async () => {
    const orderId = uniqueId("order");
    const key = uniqueId("key");
    faults().inject(
      everyAttempt({ operation: "PutItem", table: IDEMPOTENCY, fault: { kind: "throttling" } }),
    );
    const down = await create(key, orderId);
    expect503(down);
    expect(intentsFor(orderId)).toHaveLength(0);
    expect(await partition(paymentIdForRequest("alice", key))).toEqual([]);

    const up = await create(key, orderId);
    expect(up.status).toBe(201);
    const replay = await create(key, orderId);
    expect(replay.status).toBe(201);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(intentsFor(orderId)).toHaveLength(1);
  });
});

/** Sends `send` again after each 409 in progress, as its Retry-After says, until it answers otherwise. */
async function retryWhileInProgress(
  send: () => ReturnType<Stack["call"]>,
): ReturnType<Stack["call"]> {
  const until = Date.now() + scaled(40_000);
  for (;;) {
    const res = await send();
    if (res.body.code !== "idempotency_request_in_progress" || Date.now() > until) return res;
    await new Promise((resolve) =>
      setTimeout(resolve, Number(res.headers.get("retry-after")) * 1000),
    );
  }
}

describe("the idempotency record after the work is done", () => {
  it("storing the answer failing is a 503; the lock is released, and the retry answers the same payment at once", async () => {
    const orderId = uniqueId("order");
    const key = uniqueId("key");
    const paymentId = paymentIdForRequest("alice", key);
    faults().inject(
      everyAttempt({ operation: "UpdateItem", table: IDEMPOTENCY, fault: { kind: "throttling" } }),
    );
    expect503(await create(key, orderId));
    // The payment was written whole before the answer could not be stored.
    expect(await stack.repository.paymentIdForOrder(orderId)).toBe(paymentId);
    expect(await outboxOf(paymentId)).toHaveLength(1);

    const up = await create(key, orderId);
    expect(up.status).toBe(201);
    expect(up.body.id).toBe(paymentId);
    expect(intentsFor(orderId)).toHaveLength(1);
    expect(await outboxOf(paymentId)).toHaveLength(1);
    await eventually(orderId, "payment.initiated");
    expect(published(orderId, "payment.initiated").copies).toBe(1);
  });

  it("with the store still down, the lock lasts only until the first try's deadline: 409s with Retry-After, then the same payment", async () => {
    const orderId = uniqueId("order");
    const key = uniqueId("key");
    const paymentId = paymentIdForRequest("alice", key);
    faults().inject(
      everyAttempt({ operation: "UpdateItem", table: IDEMPOTENCY, fault: { kind: "throttling" } }),
    );
    faults().inject(
      everyAttempt({
        operation: "DeleteItem",
        table: IDEMPOTENCY,
        fault: { kind: "status", status: 500 },
      }),
    );
    expect503(await create(key, orderId));

    const started = Date.now();
    const held = await create(key, orderId);
    expect(held.status).toBe(409);
    expect(held.body.code).toBe("idempotency_request_in_progress");
    // A client following Retry-After, as the README says; the lock is the first try's 20 s.
    const up = await retryWhileInProgress(() => create(key, orderId));
    expect(up.status).toBe(201);
    expect(up.body.id).toBe(paymentId);
    expect(Date.now() - started).toBeLessThan(scaled(25_000));
    expect(intentsFor(orderId)).toHaveLength(1);
    expect(await outboxOf(paymentId)).toHaveLength(1);
  });
});

/** A payment the customer paid (automatic capture), settled by Stripe's webhooks. */
async function capturedPayment(): Promise<{ id: string; pi: string; orderId: string }> {
  const orderId = uniqueId("order");
  const made = await create(uniqueId("key"), orderId);
  expect(made.status).toBe(201);
  const pi = String(made.body.stripePaymentIntentId);
  await stack.stripe.paymentIntents.confirm(pi, { payment_method: "pm_card_visa" });
  await stack.simulator.drainWebhooks();
  expect((await stack.repository.get(String(made.body.id)))?.status).toBe("captured");
  return { id: String(made.body.id), pi, orderId };
}

describe("refund, capture and the webhook under DynamoDB faults", () => {
  it("refund: the reservation throttled is a 503 that holds nothing; the same key then refunds once", async () => {
    const { id, pi } = await capturedPayment();
    const key = uniqueId("rkey");
    const refund = () =>
      stack.call("POST", `/api/payments/${id}/refund`, {
        token: backOffice,
        body: { amount: 2_000 },
        headers: { "idempotency-key": key },
      });
    faults().inject(
      everyAttempt({
        operation: "TransactWriteItems",
        table: PAYMENTS,
        fault: { kind: "throughput" },
      }),
    );
    expect503(await refund());
    const after = await stack.repository.get(id);
    expect(after?.amountRefundPending).toBe(0);
    expect(after?.amountRefunded).toBe(0);
    expect((await partition(id)).filter((sk) => sk.startsWith("REFUND#"))).toEqual([]);
    expect(stack.simulator.refunds().filter((r) => r.payment_intent === pi)).toHaveLength(0);

    const up = await refund();
    expect(up.status).toBe(202);
    const replay = await refund();
    expect(replay.body.id).toBe(up.body.id);
    await stack.simulator.drainWebhooks();
    expect(stack.simulator.refunds().filter((r) => r.payment_intent === pi)).toHaveLength(1);
    expect((await stack.repository.get(id))?.amountRefunded).toBe(2_000);
  });

  it("capture: the write after Stripe's capture failing is a 503; the same key then captures once", async () => {
    const orderId = uniqueId("order");
    const made = await create(uniqueId("key"), orderId, "manual");
    expect(made.status).toBe(201);
    const id = String(made.body.id);
    const pi = String(made.body.stripePaymentIntentId);
    await stack.stripe.paymentIntents.confirm(pi, { payment_method: "pm_card_visa" });
    await stack.simulator.drainWebhooks();
    expect((await stack.repository.get(id))?.status).toBe("authorized");

    const key = uniqueId("ckey");
    const capture = () =>
      stack.call("POST", `/api/payments/${id}/capture`, {
        token: backOffice,
        body: { amount: 3_000 },
        headers: { "idempotency-key": key },
      });
    // Stripe's own webhooks wait, so only the capture's writes meet the fault.
    stack.simulator.setWebhookBehaviour({ mode: "hold" });
    faults().inject(
      everyAttempt({
        operation: "TransactWriteItems",
        table: PAYMENTS,
        fault: { kind: "status", status: 500 },
      }),
    );
    expect503(await capture());
    expect((await stack.repository.get(id))?.status).toBe("authorized");
    expect(await outboxOf(id)).toHaveLength(2);

    const up = await capture();
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({ status: "captured", amountCaptured: 3_000 });
    stack.simulator.setWebhookBehaviour({ mode: "normal" });
    stack.simulator.releaseWebhooks();
    await stack.simulator.drainWebhooks();
    const intent = await stack.stripe.paymentIntents.retrieve(pi);
    expect(intent.amount_received).toBe(3_000);
    await eventually(orderId, "payment.captured");
    expect(published(orderId, "payment.captured").copies).toBe(1);
  });

  it("webhook: a throttled write answers 5xx, Stripe redelivers, and the event is applied once", async () => {
    const orderId = uniqueId("order");
    const made = await create(uniqueId("key"), orderId);
    expect(made.status).toBe(201);
    const id = String(made.body.id);
    const pi = String(made.body.stripePaymentIntentId);
    const injection = faults().inject(
      everyAttempt({
        operation: "TransactWriteItems",
        table: PAYMENTS,
        fault: { kind: "throttling" },
      }),
    );
    await stack.stripe.paymentIntents.confirm(pi, { payment_method: "pm_card_visa" });
    await injection.spent;
    await stack.simulator.drainWebhooks();
    const ofIntent = new Set(
      stack.simulator
        .events()
        .filter((e) => JSON.stringify(e.data.object).includes(pi))
        .map((e) => e.id),
    );
    const deliveries = stack.simulator.webhookDeliveries().filter((d) => ofIntent.has(d.eventId));
    expect(deliveries.some((d) => d.status === 503)).toBe(true);
    expect(deliveries.every((d) => d.ok || (d.status ?? 0) >= 500)).toBe(true);
    const found = await stack.repository.getWithHistory(id);
    expect(found?.payment.status).toBe("captured");
    expect(found?.history.filter((h) => h.status === "captured")).toHaveLength(1);
    await eventually(orderId, "payment.captured");
    expect(published(orderId, "payment.captured").copies).toBe(1);
  });
});

describe("the answers", () => {
  it("every answer under faults matched openapi.yaml", () => {
    expect(stack.contract.checked).toBeGreaterThan(20);
    expect(stack.contract.violations).toEqual([]);
  });
});

describe("the outbox publisher under DynamoDB faults", () => {
  it("its read throttled fails the stream record; the retry publishes the event once", async () => {
    const injection = faults().inject(
      everyAttempt({ operation: "Query", table: PAYMENTS, fault: { kind: "throttling" } }),
    );
    const orderId = uniqueId("order");
    const made = await create(uniqueId("key"), orderId);
    expect(made.status).toBe(201);
    await injection.spent;
    await eventually(orderId, "payment.initiated");
    expect(published(orderId, "payment.initiated")).toEqual({
      ids: [expect.any(String)],
      copies: 1,
    });
  });

  it("sending writes nothing: a write fault waiting for the publisher is never met", async () => {
    const injection = faults().inject({
      operation: "UpdateItem",
      table: PAYMENTS,
      fault: { kind: "status", status: 503 },
    });
    const orderId = uniqueId("order");
    const made = await create(uniqueId("key"), orderId);
    expect(made.status).toBe(201);
    await eventually(orderId, "payment.initiated");
    // The create wrote the payments table in its transaction only; the publisher, nothing.
    expect(injection.fired).toBe(0);
    expect(published(orderId, "payment.initiated")).toEqual({
      ids: [expect.any(String)],
      copies: 1,
    });
  });
});
