/**
 * POST /api/webhooks/stripe through the local gateway: signatures, duplicates (also concurrent),
 * events for PaymentIntents that are not ours or not recorded yet, base64 bodies, and how a
 * notice finds its payment (the notice's own metadata, the legacy mapping item, Stripe).
 */
import { PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { tables } from "../../infra/tables.js";
import { STRIPE_API_VERSION } from "../../lib/adapters/stripe-facts.js";
import { APPLIED_STRIPE_EVENTS_KEPT } from "../../lib/domain/payment.js";
import {
  legacyIntentItem,
  type Stack,
  startStack,
  uniqueId,
  WEBHOOK_SECRET,
} from "../support/stack.js";

let stack: Stack;
let alice: string;

/** CloudWatch EMF documents the handlers printed (metrics are on in this file). */
const emf: Record<string, unknown>[] = [];

beforeAll(async () => {
  const write = process.stdout.write.bind(process.stdout);
  vi.spyOn(process.stdout, "write").mockImplementation((chunk, ...rest) => {
    const text = String(chunk);
    if (text.includes('"_aws"')) {
      for (const line of text.split("\n").filter((l) => l.includes('"_aws"')))
        emf.push(JSON.parse(line));
      return true;
    }
    return write(chunk, ...(rest as []));
  });
  stack = await startStack({ env: { POWERTOOLS_METRICS_DISABLED: "false" } });
  // These tests sign and send events themselves; the simulator's own deliveries stay off.
  stack.simulator.setWebhookUrl(undefined);
  alice = await stack.token("alice", "payments:write payments:read");
});
afterAll(async () => {
  await stack?.close();
});

async function createPayment(): Promise<{ id: string; pi: string }> {
  const res = await stack.call("POST", "/api/payments/intents", {
    token: alice,
    body: { orderId: uniqueId("order"), amount: 3_000, currency: "usd" },
    headers: { "idempotency-key": uniqueId("key") },
  });
  expect(res.status).toBe(201);
  return { id: String(res.body.id), pi: String(res.body.stripePaymentIntentId) };
}

/** The simulator's event of `type` for this PaymentIntent, as Stripe would send it. */
async function simulatorEvent(piId: string, type: string): Promise<Stripe.Event> {
  const found = stack.simulator
    .events()
    .find(
      (e) =>
        e.type === type &&
        "id" in e.data.object &&
        (e.data.object.id === piId ||
          ("payment_intent" in e.data.object && e.data.object.payment_intent === piId)),
    );
  if (found === undefined) throw new Error(`no ${type} for ${piId}`);
  return found;
}

function send(payload: string, signature: string | undefined, contentType = "application/json") {
  return stack.call("POST", "/api/webhooks/stripe", {
    rawBody: payload,
    headers: {
      "content-type": contentType,
      ...(signature === undefined ? {} : { "stripe-signature": signature }),
    },
  });
}

const sign = (payload: string, options: { secret?: string; timestamp?: number } = {}) =>
  stack.stripe.webhooks.generateTestHeaderString({
    payload,
    secret: options.secret ?? WEBHOOK_SECRET,
    ...(options.timestamp === undefined ? {} : { timestamp: options.timestamp }),
  });

async function itemsOf(paymentId: string, prefix: string) {
  const { Items = [] } = await stack.documentClient.send(
    new QueryCommand({
      TableName: tables.payments.name,
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :p)",
      ExpressionAttributeValues: { ":pk": `PAYMENT#${paymentId}`, ":p": prefix },
      ConsistentRead: true,
    }),
  );
  return Items;
}

/** Requests the simulator's API has answered so far (webhook deliveries are off in this file). */
const stripeRequests = () => stack.simulator.stats().requests;

/** Confirms with `card` and waits for what Stripe does later (a dispute is opened a moment after). */
/** Another PaymentIntent on the account whose metadata claims payment `id` (and its order). */
async function forgedIntent(id: string) {
  const victim = await stack.repository.get(id);
  return await stack.stripe.paymentIntents.create({
    amount: 3_000,
    currency: "usd",
    metadata: { payment_id: id, order_id: victim?.orderId ?? "", customer_id: "alice" },
  });
}

async function pay(pi: string, card: string): Promise<void> {
  await stack.stripe.paymentIntents.confirm(pi, { payment_method: card });
  await stack.simulator.drainWebhooks();
}

async function succeededEventFor(): Promise<{ id: string; payload: string }> {
  const { id, pi } = await createPayment();
  await stack.stripe.paymentIntents.confirm(pi, { payment_method: "pm_card_visa" });
  return { id, payload: JSON.stringify(await simulatorEvent(pi, "payment_intent.succeeded")) };
}

describe("signature", () => {
  it("applies a correctly signed event", async () => {
    const { id, payload } = await succeededEventFor();
    const res = await send(payload, sign(payload));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ received: true });
    expect((await stack.repository.get(id))?.status).toBe("captured");
  });

  it.each([
    ["missing", (_p: string) => undefined],
    ["garbage", (_p: string) => "not a signature"],
    ["signed with another secret", (p: string) => sign(p, { secret: "whsec_someone_else" })],
    [
      "older than 300 seconds",
      (p: string) => sign(p, { timestamp: Math.floor(Date.now() / 1000) - 301 }),
    ],
  ])(
    "rejects a %s signature with 400 invalid_signature and processes nothing",
    async (_name, signature) => {
      const { id, payload } = await succeededEventFor();
      const res = await send(payload, signature(payload));
      expect(res.status).toBe(400);
      expect(res.body.code).toBe("invalid_signature");
      expect((await stack.repository.get(id))?.status).toBe("initiated");
    },
  );

  it("rejects a body tampered with after signing", async () => {
    const { id, payload } = await succeededEventFor();
    const signature = sign(payload);
    const tampered = payload.replace('"amount_received":3000', '"amount_received":1');
    expect(tampered).not.toBe(payload);
    const res = await send(tampered, signature);
    expect(res.status).toBe(400);
    expect((await stack.repository.get(id))?.status).toBe("initiated");
  });

  it("verifies a body that the gateway passed base64-encoded", async () => {
    const { id, payload } = await succeededEventFor();
    const res = await send(payload, sign(payload), "application/octet-stream");
    expect(res.status).toBe(200);
    expect((await stack.repository.get(id))?.status).toBe("captured");
  });
});

describe("applied once", () => {
  it("the same event 10 times at once: one change, one history entry per step, one event each", async () => {
    const { id, payload } = await succeededEventFor();
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => send(payload, sign(payload))),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    const stored = await stack.repository.getWithHistory(id);
    expect(stored?.history.map((h) => h.status)).toEqual(["initiated", "authorized", "captured"]);
    // The event is remembered by the payment itself (no marker item), once.
    const eventId: unknown = JSON.parse(payload).id;
    expect(stored?.payment.appliedStripeEvents).toEqual([eventId]);
    expect(await itemsOf(id, "PAYMENT#HISTORY#")).toEqual([]);
    const outbox = await stack.repository.listOutbox(id);
    expect(outbox.map((o) => o.type)).toEqual([
      "payment.initiated",
      "payment.authorized",
      "payment.captured",
    ]);
  });

  it("an event the payment no longer remembers (pushed out of its last ids), delivered again: merged again, nothing written", async () => {
    const { id, payload } = await succeededEventFor();
    expect((await send(payload, sign(payload))).status).toBe(200);
    const applied = await stack.repository.getWithHistory(id);
    expect(applied?.payment.status).toBe("captured");
    // As if eight newer events had been applied since: the first one's id is gone from the item.
    const newer = Array.from({ length: APPLIED_STRIPE_EVENTS_KEPT }, (_, n) => `evt_newer_${n}`);
    await stack.documentClient.send(
      new UpdateCommand({
        TableName: tables.payments.name,
        Key: { pk: `PAYMENT#${id}`, sk: "PAYMENT" },
        UpdateExpression: "SET appliedStripeEvents = :ids",
        ExpressionAttributeValues: { ":ids": newer },
      }),
    );
    const outboxBefore = await stack.repository.listOutbox(id);

    const again = await send(payload, sign(payload));
    expect(again.status).toBe(200);
    const after = await stack.repository.getWithHistory(id);
    expect(after?.payment.version).toBe(applied?.payment.version);
    expect(after?.payment.appliedStripeEvents).toEqual(newer);
    expect(after?.history).toEqual(applied?.history);
    expect(await stack.repository.listOutbox(id)).toEqual(outboxBefore);
  });

  it("acknowledges event types it ignores", async () => {
    const payload = JSON.stringify({
      id: "evt_ignored",
      object: "event",
      type: "customer.created",
      created: 1,
      data: { object: { id: "cus_1", object: "customer" } },
    });
    const res = await send(payload, sign(payload));
    expect(res.status).toBe(200);
  });
});

describe("PaymentIntents without a record", () => {
  it("ignores PaymentIntents that are not this service's", async () => {
    const foreign = await stack.stripe.paymentIntents.create({ amount: 1_000, currency: "usd" });
    await stack.stripe.paymentIntents.confirm(foreign.id, { payment_method: "pm_card_visa" });
    const payload = JSON.stringify(await simulatorEvent(foreign.id, "payment_intent.succeeded"));
    const res = await send(payload, sign(payload));
    expect(res.status).toBe(200);
  });

  it("asks Stripe to retry (503) when the payment is ours but not recorded yet", async () => {
    const orderId = uniqueId("order");
    const pending = await stack.stripe.paymentIntents.create({
      amount: 1_000,
      currency: "usd",
      metadata: {
        payment_id: "pay_0000000000000000000000000a",
        order_id: orderId,
        customer_id: "alice",
      },
    });
    await stack.stripe.paymentIntents.confirm(pending.id, { payment_method: "pm_card_visa" });
    const payload = JSON.stringify(await simulatorEvent(pending.id, "payment_intent.succeeded"));
    const res = await send(payload, sign(payload));
    expect(res.status).toBe(503);
    expect(res.body.code).toBe("payment_not_recorded_yet");
    expect(res.headers.get("retry-after")).not.toBeNull();
  });

  it("acknowledges a PaymentIntent with our metadata that is too old to be recorded still", async () => {
    const pending = await stack.stripe.paymentIntents.create({
      amount: 1_000,
      currency: "usd",
      metadata: {
        payment_id: "pay_0000000000000000000000000b",
        order_id: uniqueId("order"),
        customer_id: "alice",
      },
    });
    await stack.stripe.paymentIntents.confirm(pending.id, { payment_method: "pm_card_visa" });
    const event = JSON.parse(
      JSON.stringify(await simulatorEvent(pending.id, "payment_intent.succeeded")),
    ) as { data: { object: { created: number } } };
    // Made an hour ago (another stage, a script, a create that died): no retry will find it.
    event.data.object.created -= 3_600;
    const payload = JSON.stringify(event);
    const res = await send(payload, sign(payload));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ received: true });
  });

  it("acknowledges a charge event whose PaymentIntent Stripe does not know", async () => {
    const payload = JSON.stringify({
      id: `evt_${uniqueId("ghost")}`,
      object: "event",
      type: "charge.succeeded",
      created: Math.floor(Date.now() / 1000),
      data: {
        object: {
          id: `ch_${uniqueId("ghost")}`,
          object: "charge",
          status: "succeeded",
          captured: true,
          amount_captured: 1_000,
          failure_code: null,
          failure_message: null,
          outcome: null,
          payment_intent: "pi_nobodyknowsthisone",
        },
      },
    });
    const res = await send(payload, sign(payload));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ received: true });
  });

  it("ignores the PaymentIntent of a request that lost its order to another payment", async () => {
    const { id } = await createPayment();
    const winner = await stack.repository.get(id);
    const loser = await stack.stripe.paymentIntents.create({
      amount: 3_000,
      currency: "usd",
      metadata: {
        payment_id: "pay_0000000000000000000000000b",
        order_id: winner?.orderId ?? "",
        customer_id: "alice",
      },
    });
    await stack.stripe.paymentIntents.cancel(loser.id);
    const payload = JSON.stringify(await simulatorEvent(loser.id, "payment_intent.canceled"));
    const res = await send(payload, sign(payload));
    expect(res.status).toBe(200);
    expect((await stack.repository.get(id))?.status).toBe("initiated");
  });
});

describe("metrics", () => {
  it("counts webhooks received, signature failures, duplicates and the payment outcomes", () => {
    // A document holds one value, or several (several adds before one flush) as an array.
    const values = (v: unknown): number[] =>
      typeof v === "number" ? [v] : Array.isArray(v) ? v.filter((x) => typeof x === "number") : [];
    const total = (name: string) =>
      emf.reduce((sum, doc) => sum + values(doc[name]).reduce((a, b) => a + b, 0), 0);
    expect(total("WebhookReceived")).toBeGreaterThanOrEqual(20);
    expect(total("WebhookSignatureFailure")).toBe(5);
    // Of the 10 concurrent copies, the 9 that lost are duplicates (or found nothing left to change).
    expect(total("WebhookDuplicate")).toBeGreaterThanOrEqual(1);
    expect(total("WebhookDuplicate")).toBeLessThanOrEqual(9);
    // One per payment this file captures before this test (4).
    expect(total("PaymentCaptured")).toBe(4);
    expect(total("WebhookRetryRequested")).toBe(1);
    expect(total("StripeLatency")).toBeGreaterThan(0);
    for (const doc of emf)
      expect(doc._aws).toMatchObject({ CloudWatchMetrics: [{ Namespace: "PaymentService" }] });
  });
});

describe("which payment", () => {
  it("a PaymentIntent event finds its payment by its signed metadata: no mapping item, no call to Stripe", async () => {
    const { id, payload } = await succeededEventFor();
    const payment = await stack.repository.get(id);
    // A payment created now has no PaymentIntent → payment item: the metadata alone finds it.
    expect(await legacyIntentItem(stack, payment?.stripePaymentIntentId ?? "")).toBeUndefined();
    const before = stripeRequests();
    const res = await send(payload, sign(payload));
    expect(res.status).toBe(200);
    expect((await stack.repository.get(id))?.status).toBe("captured");
    expect(stripeRequests()).toBe(before);
  });

  it("a dispute event (no payment id in it) of a payment created now: found through Stripe's PaymentIntent, one GET", async () => {
    const { id, pi } = await createPayment();
    await pay(pi, "pm_card_createDispute");
    const succeeded = JSON.stringify(await simulatorEvent(pi, "payment_intent.succeeded"));
    expect((await send(succeeded, sign(succeeded))).status).toBe(200);
    expect(await legacyIntentItem(stack, pi)).toBeUndefined();
    const dispute = stack.simulator.disputes().find((d) => d.payment_intent === pi);
    expect(dispute).toBeDefined();
    const payload = JSON.stringify(await simulatorEvent(pi, "charge.dispute.created"));
    const before = stripeRequests();
    const res = await send(payload, sign(payload));
    expect(res.status).toBe(200);
    expect(stripeRequests() - before).toBe(1);
    expect(await stack.repository.get(id)).toMatchObject({
      status: "captured",
      dispute: { id: dispute?.id, status: "needs_response" },
    });
    // Delivered again: found the same way, known from the payment as applied, nothing changes.
    const applied = await stack.repository.get(id);
    expect((await send(payload, sign(payload))).status).toBe(200);
    expect((await stack.repository.get(id))?.version).toBe(applied?.version);
  });

  it("a refund event of a refund made through the API: found by the refund's own metadata, no call to Stripe", async () => {
    const { id, payload } = await succeededEventFor();
    expect((await send(payload, sign(payload))).status).toBe(200);
    const pi = (await stack.repository.get(id))?.stripePaymentIntentId ?? "";
    const backOffice = await stack.token("back-office", "payments:refund");
    const made = await stack.call("POST", `/api/payments/${id}/refund`, {
      token: backOffice,
      body: { amount: 1_000 },
      headers: { "idempotency-key": uniqueId("rkey") },
    });
    expect(made.status).toBe(202);
    expect(await stack.repository.get(id)).toMatchObject({
      amountRefundPending: 1_000,
      amountRefunded: 0,
    });
    const stripeRefund = stack.simulator.refunds().find((r) => r.payment_intent === pi);
    expect(stripeRefund?.metadata).toMatchObject({ payment_id: id, refund_id: made.body.id });
    expect(await legacyIntentItem(stack, pi)).toBeUndefined();

    const event = JSON.stringify(await simulatorEvent(pi, "refund.created"));
    const before = stripeRequests();
    const res = await send(event, sign(event));
    expect(res.status).toBe(200);
    expect(stripeRequests()).toBe(before);
    expect(await stack.repository.get(id)).toMatchObject({
      status: "partially_refunded",
      amountRefundPending: 0,
      amountRefunded: 1_000,
    });
  });

  it("a payment with a legacy mapping item (created before it stopped being written) is found by it, without Stripe", async () => {
    const { id, pi } = await createPayment();
    await pay(pi, "pm_card_createDispute");
    const succeeded = JSON.stringify(await simulatorEvent(pi, "payment_intent.succeeded"));
    expect((await send(succeeded, sign(succeeded))).status).toBe(200);
    // As an earlier version's create wrote it.
    await stack.documentClient.send(
      new PutCommand({
        TableName: tables.payments.name,
        Item: { pk: `INTENT#${pi}`, sk: "INTENT", type: "intent", paymentId: id },
      }),
    );
    // And Stripe's metadata no longer naming it: only the legacy item can find it.
    await stack.stripe.paymentIntents.update(pi, { metadata: { payment_id: "" } });
    const payload = JSON.stringify(await simulatorEvent(pi, "charge.dispute.created"));
    const before = stripeRequests();
    const res = await send(payload, sign(payload));
    expect(res.status).toBe(200);
    expect(stripeRequests()).toBe(before);
    expect((await stack.repository.get(id))?.dispute?.status).toBe("needs_response");
  });

  it("a dispute on another PaymentIntent whose metadata names our payment is not applied to it", async () => {
    const { id } = await createPayment();
    const victim = await stack.repository.get(id);
    const forged = await forgedIntent(id);
    await pay(forged.id, "pm_card_createDispute");
    const payload = JSON.stringify(await simulatorEvent(forged.id, "charge.dispute.created"));
    const before = stripeRequests();
    const res = await send(payload, sign(payload));
    expect(res.status).toBe(200);
    expect(stripeRequests() - before).toBe(1);
    const after = await stack.repository.get(id);
    expect(after).toMatchObject({ status: "initiated", version: victim?.version });
    expect(after?.dispute).toBeUndefined();
  });

  it("a refund whose metadata names a payment holding another PaymentIntent is not believed", async () => {
    const { id, payload } = await succeededEventFor();
    expect((await send(payload, sign(payload))).status).toBe(200);
    const victim = await stack.repository.get(id);
    // A Dashboard refund on a foreign PaymentIntent, its metadata copied from one of ours.
    const foreign = await stack.stripe.paymentIntents.create({ amount: 2_000, currency: "usd" });
    await pay(foreign.id, "pm_card_visa");
    await stack.stripe.refunds.create({
      payment_intent: foreign.id,
      amount: 500,
      metadata: { payment_id: id, refund_id: "ref_forged" },
    });
    const event = JSON.stringify(await simulatorEvent(foreign.id, "refund.created"));
    const res = await send(event, sign(event));
    expect(res.status).toBe(200);
    expect(await stack.repository.get(id)).toMatchObject({
      status: "captured",
      amountRefunded: 0,
      version: victim?.version,
    });
  });

  it("a dispute on a PaymentIntent of ours not recorded yet: one GET of Stripe, then a retry is asked for", async () => {
    const pending = await stack.stripe.paymentIntents.create({
      amount: 1_000,
      currency: "usd",
      metadata: {
        payment_id: "pay_0000000000000000000000000c",
        order_id: uniqueId("order"),
        customer_id: "alice",
      },
    });
    await pay(pending.id, "pm_card_createDispute");
    const payload = JSON.stringify(await simulatorEvent(pending.id, "charge.dispute.created"));
    const before = stripeRequests();
    const res = await send(payload, sign(payload));
    expect(res.status).toBe(503);
    expect(res.body.code).toBe("payment_not_recorded_yet");
    expect(stripeRequests() - before).toBe(1);
  });

  it("metadata naming another payment is not believed: acknowledged, that payment stays as it was", async () => {
    const { id } = await createPayment();
    // Another PaymentIntent on the account (a script, the Dashboard) claiming our payment.
    const victim = await stack.repository.get(id);
    const forged = await forgedIntent(id);
    await stack.stripe.paymentIntents.confirm(forged.id, { payment_method: "pm_card_visa" });
    const payload = JSON.stringify(await simulatorEvent(forged.id, "payment_intent.succeeded"));
    const res = await send(payload, sign(payload));
    expect(res.status).toBe(200);
    expect(await stack.repository.get(id)).toMatchObject({
      status: "initiated",
      amountCaptured: 0,
      stripePaymentIntentId: victim?.stripePaymentIntentId,
    });
  });
});

describe("the OpenAPI document", () => {
  it("describes every answer this file received", () => {
    expect(stack.contract.checked).toBeGreaterThan(5);
    expect(stack.contract.violations).toEqual([]);
  });
});

describe("signed but not readable", () => {
  it.each([
    ["a body of null", () => "null"],
    ["no data", (e: Record<string, unknown>) => JSON.stringify({ ...e, data: undefined })],
    [
      "data.object null",
      (e: Record<string, unknown>) => JSON.stringify({ ...e, data: { object: null } }),
    ],
    [
      "an amount of lots",
      (e: Record<string, unknown>) => {
        const data = e.data as { object: Record<string, unknown> };
        return JSON.stringify({
          ...e,
          data: { object: { ...data.object, amount_received: "lots" } },
        });
      },
    ],
    [
      "a status that is not text",
      (e: Record<string, unknown>) => {
        const data = e.data as { object: Record<string, unknown> };
        return JSON.stringify({ ...e, data: { object: { ...data.object, status: 7 } } });
      },
    ],
  ])("%s: 400 invalid_event, nothing written", async (_name, mangle) => {
    const { id, payload } = await succeededEventFor();
    const bad = mangle(JSON.parse(payload) as Record<string, unknown>);
    const res = await send(bad, sign(bad));
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("invalid_event");
    const after = await stack.repository.getWithHistory(id);
    expect(after?.payment).toMatchObject({ status: "initiated", amountCaptured: 0 });
    expect(after?.history).toHaveLength(1);
    // The same event, readable, still applies: nothing was marked as seen.
    const good = await send(payload, sign(payload));
    expect(good.status).toBe(200);
    expect((await stack.repository.get(id))?.status).toBe("captured");
  });

  it("signed text that is not JSON: 400 invalid_event", async () => {
    const body = '{"id": "evt_cut_off", "type": "payment_intent.succ';
    const res = await send(body, sign(body));
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("invalid_event");
  });

  /** How often the handlers counted `name` so far. */
  const counted = (name: string) =>
    emf.reduce((sum, doc) => {
      const v = doc[name];
      return sum + (typeof v === "number" ? v : Array.isArray(v) ? v.length : 0);
    }, 0);

  it("an event of another Stripe API version is applied when it has what we read, and counted", async () => {
    const before = counted("WebhookOtherApiVersion");
    const { id, payload } = await succeededEventFor();
    const event = JSON.parse(payload) as Record<string, unknown>;
    expect(event.api_version).toBe(STRIPE_API_VERSION);
    const other = JSON.stringify({ ...event, api_version: "2020-08-27" });
    const res = await send(other, sign(other));
    expect(res.status).toBe(200);
    expect((await stack.repository.get(id))?.status).toBe("captured");
    expect(counted("WebhookOtherApiVersion")).toBe(before + 1);
  });

  it("an event of another Stripe API version that lacks what we read: 400 invalid_event, nothing written", async () => {
    const before = counted("WebhookUnreadableEvent");
    const { id, payload } = await succeededEventFor();
    const event = JSON.parse(payload) as { data: { object: Record<string, unknown> } };
    const { amount_received: _dropped, ...object } = event.data.object;
    const other = JSON.stringify({ ...event, api_version: "2014-03-28", data: { object } });
    const res = await send(other, sign(other));
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("invalid_event");
    expect((await stack.repository.get(id))?.status).toBe("initiated");
    expect(counted("WebhookUnreadableEvent")).toBe(before + 1);
  });

  it("a signed refund with an amount of lots stores nothing and every read still works", async () => {
    const { id, payload } = await succeededEventFor();
    expect((await send(payload, sign(payload))).status).toBe(200);
    const payment = await stack.repository.get(id);
    const event = {
      id: `evt_${uniqueId("lots")}`,
      object: "event",
      type: "refund.created",
      created: Math.floor(Date.now() / 1000),
      data: {
        object: {
          id: `re_${uniqueId("x")}`,
          object: "refund",
          amount: "lots",
          status: "succeeded",
          payment_intent: payment?.stripePaymentIntentId,
          metadata: {},
        },
      },
    };
    const body = JSON.stringify(event);
    const res = await send(body, sign(body));
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("invalid_event");
    const read = await stack.call("GET", `/api/payments/${id}`, { token: alice });
    expect(read.status).toBe(200);
    expect(read.body.amountRefunded).toBe(0);
  });
});
