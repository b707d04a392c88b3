/**
 * KAFKA_TOPIC_MODE=single on a real Kafka broker: every event of the service goes to
 * `<prefix>payment.events` (3 partitions here), keyed by the order, so each order's events are
 * on one partition in the order they happened; nothing goes to the per-type topics. A chargeback's
 * two events come after the capture's.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EVENT_TYPES } from "../../lib/domain/events.js";
import { type LocalKafka, startLocalKafka } from "../../local/kafka.js";
import { type Collected, type Collector, collect } from "../support/kafka-collector.js";
import { type Stack, startStack, uniqueId } from "../support/stack.js";
import { scaled } from "../support/time.js";

const PREFIX = "single.";
const SINGLE = `${PREFIX}payment.events`;

let kafka: LocalKafka;
let stack: Stack;
let collector: Collector;
let alice: string;
let ops: string;

beforeAll(async () => {
  kafka = await startLocalKafka();
  collector = await collect(kafka.brokers, [SINGLE, ...EVENT_TYPES.map((t) => `${PREFIX}${t}`)]);
  stack = await startStack({
    env: { KAFKA_TOPIC_MODE: "single" },
    events: { kafka: { brokers: kafka.brokers, topicPrefix: PREFIX } },
  });
  alice = await stack.token("alice", "payments:write payments:read");
  ops = await stack.token("ops", "payments:refund payments:admin");
}, scaled(180_000));

afterAll(async () => {
  await collector?.stop();
  await stack?.close();
  await kafka?.stop();
  delete process.env.KAFKA_TOPIC_MODE;
});

/** One order: created, paid (authorized, captured), then refunded in part. */
async function orderLifecycle(orderId: string): Promise<void> {
  const res = await stack.call("POST", "/api/payments/intents", {
    token: alice,
    body: { orderId, amount: 5_000, currency: "eur" },
    headers: { "idempotency-key": uniqueId("key") },
  });
  expect(res.status, res.text).toBe(201);
  await stack.stripe.paymentIntents.confirm(String(res.body.stripePaymentIntentId), {
    payment_method: "pm_card_visa",
  });
  await stack.simulator.drainWebhooks();
  const refund = await stack.call("POST", `/api/payments/${String(res.body.id)}/refund`, {
    token: ops,
    body: { amount: 1_000 },
    headers: { "idempotency-key": uniqueId("refund") },
  });
  expect(refund.status, refund.text).toBe(202);
  await stack.simulator.drainWebhooks();
}

const TYPES = ["payment.initiated", "payment.authorized", "payment.captured", "payment.refunded"];

describe("KAFKA_TOPIC_MODE=single", () => {
  it("puts each order's events on one partition of payment.events, in order, and nothing on the per-type topics", async () => {
    const orders = Array.from({ length: 6 }, () => uniqueId("order"));
    await Promise.all(orders.map(orderLifecycle));
    const ofOrder = (messages: readonly Collected[], orderId: string) =>
      messages.filter((m) => m.key === orderId);
    await collector.waitFor((messages) =>
      orders.every((o) => {
        const types = new Set(ofOrder(messages, o).map((m) => m.headers["event-type"]));
        return TYPES.every((t) => types.has(t));
      }),
    );

    const partitions = new Set<number>();
    for (const orderId of orders) {
      const mine = ofOrder(collector.messages, orderId);
      expect(new Set(mine.map((m) => m.topic))).toEqual(new Set([SINGLE]));
      const partition = new Set(mine.map((m) => m.partition));
      expect(partition.size, orderId).toBe(1);
      partitions.add(mine[0]?.partition ?? -1);
      // In offset order, the first time each type appears (redeliveries may repeat one).
      const byOffset = [...mine].sort((a, b) => a.offset - b.offset);
      const firstSeen = [...new Set(byOffset.map((m) => m.headers["event-type"]))];
      expect(firstSeen, orderId).toEqual(TYPES);
      for (const m of mine) {
        expect(m.value.type).toBe(m.headers["event-type"]);
        expect(m.headers["event-id"]).toBe(m.value.id);
      }
    }
    // Six keys over three partitions: the ordering above held on more than one partition.
    expect(partitions.size).toBeGreaterThan(1);
  });

  it("a chargeback publishes payment.disputed, then payment.dispute_closed, once each, after the capture", async () => {
    const orderId = uniqueId("order");
    const res = await stack.call("POST", "/api/payments/intents", {
      token: alice,
      body: { orderId, amount: 7_500, currency: "eur" },
      headers: { "idempotency-key": uniqueId("key") },
    });
    expect(res.status, res.text).toBe(201);
    const pi = String(res.body.stripePaymentIntentId);
    await stack.stripe.paymentIntents.confirm(pi, { payment_method: "pm_card_createDispute" });
    await stack.simulator.drainWebhooks();
    const dispute = stack.simulator.disputes().find((d) => d.payment_intent === pi);
    if (dispute === undefined) throw new Error("no dispute opened");
    stack.simulator.closeDispute(dispute.id, "lost");
    await stack.simulator.drainWebhooks();
    const mine = (messages: readonly Collected[]) => messages.filter((m) => m.key === orderId);
    await collector.waitFor((messages) =>
      mine(messages).some((m) => m.headers["event-type"] === "payment.dispute_closed"),
    );
    const byOffset = [...mine(collector.messages)].sort((a, b) => a.offset - b.offset);
    const distinct = [...new Map(byOffset.map((m) => [String(m.value.id), m])).values()];
    expect(distinct.map((m) => m.headers["event-type"])).toEqual([
      "payment.initiated",
      "payment.authorized",
      "payment.captured",
      "payment.disputed",
      "payment.dispute_closed",
    ]);
    expect(distinct.at(-1)?.value).toMatchObject({
      data: { orderId, status: "captured", dispute: { id: dispute.id, status: "lost" } },
    });
  });
});
