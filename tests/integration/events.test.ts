/**
 * Events on a real Kafka broker (Apache Kafka 4, one KRaft node): the transactional outbox
 * published from the table's stream, a broker outage, and `order.placed` consumed through the
 * MSK-trigger handler.
 */

import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { GetCommand, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import { Kafka, logLevel, type Producer } from "kafkajs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { tables } from "../../infra/tables.js";
import { readOutboxItem } from "../../lib/adapters/dynamo-codecs.js";
import { paymentIdForOrderPlaced } from "../../lib/domain/ids.js";
import type { OutboxItem } from "../../lib/domain/outbox.js";
import type { OutboxStore } from "../../lib/ports.js";
import { type LocalKafka, startLocalKafka } from "../../local/kafka.js";
import { type Collected, type Collector, collect } from "../support/kafka-collector.js";
import { type Stack, startStack, uniqueId } from "../support/stack.js";
import { scaled } from "../support/time.js";

const PREFIX = "it.";
const TOPICS = [
  "payment.initiated",
  "payment.authorized",
  "payment.failed",
  "payment.captured",
  "payment.refunded",
];

let kafka: LocalKafka;
let stack: Stack;
let collector: Collector;
let producer: Producer;
let alice: string;
let ops: string;

beforeAll(async () => {
  kafka = await startLocalKafka();
  stack = await startStack({ events: { kafka: { brokers: kafka.brokers, topicPrefix: PREFIX } } });
  collector = await collect(
    kafka.brokers,
    TOPICS.map((t) => `${PREFIX}${t}`),
  );
  const client = new Kafka({
    clientId: "test-orders",
    brokers: [kafka.brokers],
    logLevel: logLevel.NOTHING,
  });
  producer = client.producer();
  await producer.connect();
  alice = await stack.token("alice", "payments:write payments:read");
  ops = await stack.token("ops", "payments:refund payments:admin");
}, scaled(180_000));

afterAll(async () => {
  await producer?.disconnect();
  await collector?.stop();
  await stack?.close();
  await kafka?.stop();
});

async function createPaid(orderId = uniqueId("order")): Promise<{ id: string; orderId: string }> {
  const res = await stack.call("POST", "/api/payments/intents", {
    token: alice,
    body: { orderId, amount: 4_000, currency: "eur" },
    headers: { "idempotency-key": uniqueId("key") },
  });
  expect(res.status).toBe(201);
  await stack.stripe.paymentIntents.confirm(String(res.body.stripePaymentIntentId), {
    payment_method: "pm_card_visa",
  });
  await stack.simulator.drainWebhooks();
  return { id: String(res.body.id), orderId };
}

async function outboxIds(paymentId: string): Promise<string[]> {
  return (await outboxItems(paymentId)).flatMap((i) => i.events.map((e) => e.id));
}

/** Refunds `amount` of payment `id` (202) and lets Stripe's webhooks settle it. */
async function refundSettled(id: string, amount: number): Promise<void> {
  const res = await stack.call("POST", `/api/payments/${id}/refund`, {
    token: ops,
    body: { amount },
    headers: { "idempotency-key": uniqueId("r") },
  });
  expect(res.status).toBe(202);
  await stack.simulator.drainWebhooks();
}

/** The payment's outbox items, oldest first, as the publisher reads them. */
async function outboxItems(paymentId: string): Promise<OutboxItem[]> {
  const { Items = [] } = await stack.documentClient.send(
    new QueryCommand({
      TableName: tables.payments.name,
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :o)",
      ExpressionAttributeValues: { ":pk": `PAYMENT#${paymentId}`, ":o": "OUTBOX#" },
      ConsistentRead: true,
    }),
  );
  return Items.flatMap((i) => {
    const item = readOutboxItem(i);
    return item === undefined ? [] : [item];
  });
}

const forOrder = (orderId: string) => (m: Collected) => m.key === orderId;
/** Distinct ids of the payment.initiated events published for an order. */
const initiatedIds = (orderId: string) => [
  ...new Set(
    collector.messages
      .filter((m) => m.key === orderId && m.value.type === "payment.initiated")
      .map((m) => m.headers["event-id"]),
  ),
];
const ids = (messages: readonly Collected[]) => messages.map((m) => m.headers["event-id"] ?? "");

/** The payment's parked outbox items, as the sweeper's index holds them (read back). */
async function parkedIds(paymentId: string): Promise<string[]> {
  return (await outboxItems(paymentId))
    .filter((i) => i.parked === true)
    .flatMap((i) => i.events.map((e) => e.id));
}

/** The deps of a publisher whose sends the broker refuses (a topic name it cannot have). */
async function refusingDeps() {
  const { publishDeps } = await import("../../lib/runtime/kafka.js");
  return { ...publishDeps, topics: { prefix: "no such topic!", mode: "per-type" as const } };
}

/**
 * The real outbox store, with its sweep narrowed to the parked items of `pks` (the tables are
 * shared by every test file, and most files run no publisher: the sweep must not also publish
 * every other file's events).
 */
async function storeFor(...pks: string[]): Promise<OutboxStore> {
  const { publishDeps } = await import("../../lib/runtime/kafka.js");
  const store = publishDeps.outbox;
  return {
    markPublished: (item, now) => store.markPublished(item, now),
    park: (item, now) => store.park(item, now),
    parkedUpTo: (item) => store.parkedUpTo(item),
    due: async (now, limit) => {
      const due = await store.due(now, limit);
      return {
        items: due.items.filter((i) => pks.includes(`PAYMENT#${i.paymentId}`)),
        unreadable: due.unreadable.filter((name) => pks.some((pk) => name.startsWith(`${pk} `))),
      };
    },
  };
}

describe("outbox to Kafka", () => {
  it("every state change appears on its topic exactly once, with the contract's key, headers and envelope", async () => {
    const { id, orderId } = await createPaid();
    await refundSettled(id, 1_000);
    const expected = await outboxIds(id);
    expect(expected).toHaveLength(4);
    await collector.waitFor((all) =>
      expected.every((e) => ids(all.filter(forOrder(orderId))).includes(e)),
    );

    const mine = collector.messages.filter(forOrder(orderId));
    expect(ids(mine).sort()).toEqual([...expected].sort());
    expect(mine.map((m) => m.topic)).toEqual(
      TOPICS.filter((t) => t !== "payment.failed").map((t) => `${PREFIX}${t}`),
    );
    for (const m of mine) {
      expect(m.headers).toEqual({
        "event-id": m.value.id,
        "event-type": m.value.type,
        "content-type": "application/json",
      });
      expect(m.topic).toBe(`${PREFIX}${String(m.value.type)}`);
      expect(m.value).toMatchObject({
        id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
        version: 1,
        source: "payment-service",
        occurredAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
        data: { paymentId: id, orderId, customerId: "alice", amount: 4_000, currency: "eur" },
      });
    }
    const refunded = mine.find((m) => m.value.type === "payment.refunded");
    expect(refunded?.value.data).toMatchObject({
      status: "partially_refunded",
      amountRefunded: 1_000,
      refundId: expect.stringMatching(/^rfd_/),
    });
  });

  it("a broker outage delays events and loses none", async () => {
    await kafka.pause();
    const payments: { id: string; orderId: string }[] = [];
    // Each record the publisher cannot send costs its producer's retries (seconds): two payments.
    for (let i = 0; i < 2; i++) payments.push(await createPaid());
    await stack.simulator.drainWebhooks();
    const expected = (await Promise.all(payments.map((p) => outboxIds(p.id)))).flat();
    expect(expected).toHaveLength(6);
    const orders = new Set(payments.map((p) => p.orderId));
    expect(collector.messages.filter((m) => orders.has(m.key))).toHaveLength(0);

    // Every record handled while the broker is down: each one parked for the sweeper, since the
    // publisher could not send it (the stream goes on instead of retrying it).
    await stack.events?.poller.drain(scaled(120_000));
    const parked = (await Promise.all(payments.map((p) => parkedIds(p.id)))).flat();
    expect(new Set(parked)).toEqual(new Set(expected));
    expect(collector.messages.filter((m) => orders.has(m.key))).toHaveLength(0);

    await kafka.resume();
    // The sweeper sends them (every 5 minutes when deployed; run here at once).
    const { sweepOutbox } = await import("../../lib/use-cases/publish-outbox.js");
    const { publishDeps } = await import("../../lib/runtime/kafka.js");
    const outbox = await storeFor(...payments.map((p) => `PAYMENT#${p.id}`));
    expect(await sweepOutbox({ ...publishDeps, outbox }, 1_000)).toEqual({
      published: 6,
      failed: 0,
      unreadable: [],
    });
    await collector.waitFor((all) => expected.every((e) => ids(all).includes(e)), scaled(60_000));
    const received = ids(collector.messages.filter((m) => orders.has(m.key)));
    const lost = expected.filter((e) => !received.includes(e));
    const duplicates = received.length - new Set(received).size;
    expect(lost).toEqual([]);
    // Anything received more than once is a republished id, never a new one.
    expect(new Set(received)).toEqual(new Set(expected));
    console.info(
      `broker outage: ${expected.length} state changes, ${parked.length} parked and swept, ${received.length} events received, ${lost.length} lost, ${duplicates} duplicate ids`,
    );
  });
});

describe("ordering", () => {
  it("an order's events on one topic arrive in the order they happened", async () => {
    const { id, orderId } = await createPaid();
    // Each refund settles before the next, so each event has a larger amountRefunded.
    for (const amount of [500, 700, 900]) await refundSettled(id, amount);
    const refunds = (all: readonly Collected[]) =>
      all.filter((m) => m.key === orderId && m.value.type === "payment.refunded");
    await collector.waitFor((all) => refunds(all).length === 3);
    const mine = refunds(collector.messages);
    expect(new Set(mine.map((m) => m.partition)).size).toBe(1);
    const byOffset = [...mine].sort((a, b) => a.offset - b.offset);
    expect(
      byOffset.map((m) => (m.value.data as { amountRefunded: number }).amountRefunded),
    ).toEqual([500, 1_200, 2_100]);
  });
});

describe("order.placed", () => {
  const send = (records: { key: string; value: string }[]) =>
    producer.send({ topic: `${PREFIX}order.placed`, messages: records });
  const order = (orderId: string, amount: number | string = 2_500) =>
    JSON.stringify({
      id: uniqueId("evt"),
      type: "order.placed",
      occurredAt: new Date().toISOString(),
      data: { orderId, customerId: "bob", amount, currency: "usd" },
    });
  const initiatedFor = (orderId: string) => (all: readonly Collected[]) =>
    all.some((m) => m.key === orderId && m.value.type === "payment.initiated");

  /** Sends a fresh order on `orderId`'s partition and waits for it: what came before is handled. */
  const markerHandledAfter = async (orderId: string) => {
    const marker = uniqueId("marker");
    await send([
      {
        key: orderId,
        value: JSON.stringify({ orderId: marker, customerId: "bob", amount: 999, currency: "usd" }),
      },
    ]);
    await collector.waitFor(initiatedFor(marker));
  };

  it("an invocation that is not an MSK event fails loudly (a wiring mistake, not a dead letter)", async () => {
    const { handler } = await import("../../functions/order-placed.js");
    await expect(handler({ Records: [{ eventSource: "aws:sqs" }] })).rejects.toThrow(
      /^order-placed: not an MSK event/,
    );
  });

  it("delivered twice: one payment, one payment.initiated", async () => {
    const orderId = uniqueId("placed");
    await send([{ key: orderId, value: order(orderId) }]);
    await send([{ key: orderId, value: order(orderId) }]);
    await collector.waitFor(initiatedFor(orderId));
    // A later record on the same partition proves both copies were handled.
    await markerHandledAfter(orderId);
    // One payment.initiated: one event id (delivery is at least once, so a republished copy of
    // that same id would be allowed; a second id would be a second payment).
    expect(initiatedIds(orderId)).toHaveLength(1);
    expect(await stack.repository.paymentIdForOrder(orderId)).toBe(
      paymentIdForOrderPlaced(orderId),
    );
    expect((await stack.repository.get(paymentIdForOrderPlaced(orderId)))?.customerId).toBe("bob");
  });

  it("raced against an HTTP create for the same order: one payment, one payment.initiated", async () => {
    const orderId = uniqueId("race");
    const [http] = await Promise.all([
      stack.call("POST", "/api/payments/intents", {
        token: alice,
        body: { orderId, amount: 2_500, currency: "usd" },
        headers: { "idempotency-key": uniqueId("key") },
      }),
      send([{ key: orderId, value: order(orderId) }]),
    ]);
    await collector.waitFor(initiatedFor(orderId));
    await markerHandledAfter(orderId);
    const winner = await stack.repository.paymentIdForOrder(orderId);
    expect([http?.body.id, paymentIdForOrderPlaced(orderId)]).toContain(winner);
    // One payment.initiated: one event id (delivery is at least once, so a republished copy of
    // that same id would be allowed; a second id would be a second payment).
    expect(initiatedIds(orderId)).toHaveLength(1);
    const live = stack.simulator
      .paymentIntents()
      .filter((pi) => pi.metadata.order_id === orderId && pi.status !== "canceled");
    expect(live).toHaveLength(1);
  });

  /** The open dead letters of `key`, oldest first, as support lists them. */
  const lettersOf = async (key: string, status = "open") => {
    const res = await stack.call("GET", `/api/dead-letters?status=${status}&limit=100`, {
      token: ops,
    });
    expect(res.status).toBe(200);
    const items = (res.body.items as Record<string, unknown>[]).filter((l) => l.key === key);
    return items.reverse();
  };

  it("an order taken over HTTP by another customer (or on other terms) is set aside, not taken as paid", async () => {
    const bobToken = await stack.token("bob", "payments:write payments:read");
    const [squatted, matching] = [uniqueId("squat"), uniqueId("same")];
    const create = (token: string, orderId: string) =>
      stack.call("POST", "/api/payments/intents", {
        token,
        body: { orderId, amount: 2_500, currency: "usd" },
        headers: { "idempotency-key": uniqueId("key") },
      });
    // alice takes bob's order id first; bob himself pays the other one over HTTP first.
    const squat = await create(alice, squatted);
    expect((await create(bobToken, matching)).status).toBe(201);
    const key = uniqueId("k");
    await send([
      { key, value: order(squatted) },
      { key, value: order(matching) },
    ]);
    await markerHandledAfter(key);
    const letters = await lettersOf(key);
    expect(letters.map((l) => l.reason)).toEqual([
      `order ${squatted} is held by payment ${squat.body.id}, made over HTTP with another customer`,
    ]);
    // bob's own HTTP payment is his order's payment: nothing to set aside, nothing created.
    expect(await stack.repository.get(paymentIdForOrderPlaced(matching))).toBeUndefined();
  });

  it("an order known from order.placed: another customer's create is refused without learning the payment", async () => {
    const orderId = uniqueId("known");
    await send([{ key: orderId, value: order(orderId) }]);
    await collector.waitFor(initiatedFor(orderId));
    const create = async (token: string) =>
      await stack.call("POST", "/api/payments/intents", {
        token,
        body: { orderId, amount: 2_500, currency: "usd" },
        headers: { "idempotency-key": uniqueId("key") },
      });
    const other = await create(alice);
    expect(other.status).toBe(409);
    expect(other.body.code).toBe("order_already_has_payment");
    expect(other.body).not.toHaveProperty("paymentId");
    const own = await create(await stack.token("bob", "payments:write payments:read"));
    expect(own.status).toBe(409);
    expect(own.body.paymentId).toBe(paymentIdForOrderPlaced(orderId));
    // Neither left a live PaymentIntent behind.
    const live = stack.simulator
      .paymentIntents()
      .filter((pi) => pi.metadata.order_id === orderId && pi.status !== "canceled");
    expect(live).toHaveLength(1);
  });

  it("a poison record between good ones is set aside as a dead letter; the good ones are not held up", async () => {
    const [a, b] = [uniqueId("good"), uniqueId("good")];
    const key = uniqueId("k");
    await send([
      { key, value: order(a) },
      { key, value: "{not json" },
      { key, value: order(uniqueId("bad"), 10.5) },
      { key, value: order(b) },
    ]);
    // One partition (one key): once b is handled, so are the two before it.
    await collector.waitFor((all) => initiatedFor(a)(all) && initiatedFor(b)(all));
    const mine = await lettersOf(key);
    expect(mine.map((l) => l.reason)).toEqual([
      expect.stringContaining("not JSON"),
      expect.stringContaining("/amount"),
    ]);
    expect(mine[0]).toMatchObject({
      topic: `${PREFIX}order.placed`,
      value: "{not json",
      status: "open",
      attempts: 1,
    });
  });

  it("support redrives a dead letter once the cause is gone, and discards one that never can be", async () => {
    const key = uniqueId("k");
    const orderId = uniqueId("rejected");
    // Stripe refuses the PaymentIntent (say, a currency the account could not take yet).
    stack.simulator.setFaults({
      failNext: 1,
      status: 400,
      paths: "/v1/payment_intents",
      method: "POST",
    });
    await send([
      { key, value: order(orderId) },
      { key, value: "{never an order" },
    ]);
    await markerHandledAfter(key);
    const [rejected, junk] = await lettersOf(key);
    expect(rejected?.value).toContain(orderId);
    expect(junk?.value).toBe("{never an order");
    const clerk = await stack.token("clerk", "payments:read");

    // Without payments:refund: refused, and nothing changes.
    const denied = await stack.call("POST", `/api/dead-letters/${rejected?.id}/redrive`, {
      token: clerk,
    });
    expect(denied.status).toBe(403);
    expect((await stack.call("GET", "/api/dead-letters", { token: clerk })).status).toBe(403);

    const redriven = await stack.call("POST", `/api/dead-letters/${rejected?.id}/redrive`, {
      token: ops,
      headers: { "idempotency-key": uniqueId("redrive") },
    });
    expect(redriven.status).toBe(200);
    expect(redriven.body).toMatchObject({
      outcome: "created",
      paymentId: paymentIdForOrderPlaced(orderId),
      deadLetter: {
        status: "redriven",
        attempts: 2,
        resolution: { actor: "ops", outcome: "created" },
      },
    });
    await collector.waitFor(initiatedFor(orderId));
    // The payment names who redrove it, in its history and its audit trail.
    const payment = await stack.call("GET", `/api/payments/${paymentIdForOrderPlaced(orderId)}`, {
      token: ops,
    });
    expect(payment.body.history).toEqual([
      expect.objectContaining({ status: "initiated", source: "order.placed", actor: "ops" }),
    ]);
    const audit = await stack.call(
      "GET",
      `/api/payments/${paymentIdForOrderPlaced(orderId)}/audit`,
      { token: ops },
    );
    expect(audit.body.items).toEqual([
      expect.objectContaining({
        action: "payment.create",
        actor: "ops",
        outcome: "succeeded",
        detail: expect.objectContaining({ redriveOf: rejected?.id }),
      }),
    ]);
    // Closed: a second redrive is refused, and makes nothing.
    const again = await stack.call("POST", `/api/dead-letters/${rejected?.id}/redrive`, {
      token: ops,
    });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe("dead_letter_not_open");

    // Not JSON: a redrive refuses it again (it stays open), a discard closes it with the reason.
    const retried = await stack.call("POST", `/api/dead-letters/${junk?.id}/redrive`, {
      token: ops,
    });
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({
      outcome: "dead_letter",
      deadLetter: { status: "open", attempts: 2, reason: expect.stringContaining("not JSON") },
    });
    const noReason = await stack.call("POST", `/api/dead-letters/${junk?.id}/discard`, {
      token: ops,
      body: { reason: "  " },
    });
    expect(noReason.status).toBe(400);
    const discarded = await stack.call("POST", `/api/dead-letters/${junk?.id}/discard`, {
      token: ops,
      body: { reason: "garbage from a producer test" },
    });
    expect(discarded.status).toBe(200);
    expect(discarded.body).toMatchObject({
      status: "discarded",
      resolution: { actor: "ops", outcome: "discarded", reason: "garbage from a producer test" },
    });
    expect(await lettersOf(key)).toEqual([]);
    expect((await lettersOf(key, "discarded")).map((l) => l.id)).toEqual([junk?.id]);
    expect((await lettersOf(key, "redriven")).map((l) => l.id)).toEqual([rejected?.id]);
    const unknown = await stack.call("POST", "/api/dead-letters/dl_nope/discard", {
      token: ops,
      body: { reason: "x" },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe("dead_letter_not_found");
  });
});

describe("the outbox sweeper", () => {
  it("the stream's publisher writes nothing when it sends; what it cannot send is parked, and the sweeper publishes and marks it", async () => {
    // The stream side is stopped: the items are handed over by hand below, as the stream would.
    await stack.events?.poller.stop();
    const res = await stack.call("POST", "/api/payments/intents", {
      token: alice,
      body: { orderId: uniqueId("swept"), amount: 1_500, currency: "eur" },
      headers: { "idempotency-key": uniqueId("key") },
    });
    expect(res.status).toBe(201);
    const paymentId = String(res.body.id);
    const [item] = await outboxItems(paymentId);
    if (item === undefined) throw new Error("no outbox item");
    const eventId = item.events[0]?.id ?? "missing";
    const { sweepOutbox, publishItem } = await import("../../lib/use-cases/publish-outbox.js");
    const { publishDeps } = await import("../../lib/runtime/kafka.js");
    const deps = { ...publishDeps, outbox: await storeFor(`PAYMENT#${paymentId}`) };
    // Written in no index: nothing for the sweeper, nor for the handler's own (whole) sweep.
    expect(await sweepOutbox(deps, 1_000)).toEqual({ published: 0, failed: 0, unreadable: [] });
    const { handler } = await import("../../functions/sweep-outbox.js");
    await handler();
    const [untouched] = await outboxItems(paymentId);
    expect(untouched?.parked).toBeUndefined();
    expect(untouched?.publishedAt).toBeUndefined();

    // The broker refuses it: parked (the stream record succeeds), with the reason.
    const refused = await publishItem(await refusingDeps(), item);
    expect(refused.outcome).toBe("parked");
    expect(refused.error).toEqual(expect.any(String));
    expect(await parkedIds(paymentId)).toEqual([eventId]);

    expect(await sweepOutbox(deps, 1_000)).toEqual({ published: 1, failed: 0, unreadable: [] });
    await collector.waitFor((all) => ids(all).includes(eventId));
    const [after] = await outboxItems(paymentId);
    expect(after?.publishedAt).toBeDefined();
    expect(after?.parked).toBeUndefined();
    expect(await parkedIds(paymentId)).toEqual([]);
    expect((await sweepOutbox(deps, 1_000)).published).toBe(0);
  });

  it("an item in the outbox's place that is no outbox item is set aside and reported, and frees its place", async () => {
    const pk = `PAYMENT#${uniqueId("unreadable")}`;
    const sk = "OUTBOX#00000001#0000#not-an-event";
    // Due long ago, so it heads the outbox's part of the index; it holds no events (corrupt).
    const watchAt = "2000-01-01T00:10:00.000Z#00000001#0000";
    await stack.documentClient.send(
      new PutCommand({
        TableName: tables.payments.name,
        Item: { pk, sk, partitionKey: "order-unreadable", watch: "outbox", watchAt },
      }),
    );
    const { sweepOutbox } = await import("../../lib/use-cases/publish-outbox.js");
    const { publishDeps } = await import("../../lib/runtime/kafka.js");
    const store = publishDeps.outbox;
    const mine = (name: string) => name.startsWith(`${pk} `);
    // Only this item is shown to the sweep (the tables are shared by every test file).
    const outbox: OutboxStore = {
      ...(await storeFor(pk)),
      due: async (now, limit) => {
        const due = await store.due(now, limit);
        return { items: [], unreadable: due.unreadable.filter(mine) };
      },
    };
    // A sweep of one: the item takes the only place, and is reported and set aside.
    expect(await sweepOutbox({ ...publishDeps, outbox }, 1)).toEqual({
      published: 0,
      failed: 0,
      unreadable: [`${pk} ${sk}`],
    });
    const { Item } = await stack.documentClient.send(
      new GetCommand({ TableName: tables.payments.name, Key: { pk, sk }, ConsistentRead: true }),
    );
    expect(Item).toMatchObject({
      watch: "outbox-unreadable",
      watchAt,
      partitionKey: "order-unreadable",
    });
    // The next sweep of one does not meet it again: its place goes to the readable items.
    const next = await store.due(new Date().toISOString(), 1);
    expect(next.unreadable.filter(mine)).toEqual([]);
  });

  it("a newer event goes out after an older parked one of its payment, or is parked behind it", async () => {
    // The stream side is stopped: the items are handed over by hand below, as the stream would.
    await stack.events?.poller.stop();
    const { id, orderId } = await createPaid();
    for (const amount of [300, 400]) await refundSettled(id, amount);
    const items = await outboxItems(id);
    // One item per change: the succeeded webhook's two events share one.
    expect(items.map((i) => i.events.map((e) => e.type))).toEqual([
      ["payment.initiated"],
      ["payment.authorized", "payment.captured"],
      ["payment.refunded"],
      ["payment.refunded"],
    ]);
    const [first, second, third, fourth] = items;
    if (first === undefined || second === undefined || third === undefined || fourth === undefined)
      throw new Error("four outbox items expected");
    const { publishItem } = await import("../../lib/use-cases/publish-outbox.js");
    const { publishDeps } = await import("../../lib/runtime/kafka.js");
    const refused = await refusingDeps();
    // The broker refuses the first: parked. The second finds it parked and still unsendable, so
    // it is parked behind it rather than sent ahead of it.
    expect((await publishItem(refused, first)).outcome).toBe("parked");
    expect((await publishItem(refused, second)).outcome).toBe("deferred");
    expect(await parkedIds(id)).toEqual([...first.events, ...second.events].map((e) => e.id));

    // The broker is back: the third, handed over, sends the two parked ones first, then itself.
    expect((await publishItem(publishDeps, third)).outcome).toBe("published");
    expect(await parkedIds(id)).toEqual([]);
    expect((await publishItem(publishDeps, fourth)).outcome).toBe("published");

    const expected = items.flatMap((i) => i.events.map((e) => e.id));
    await collector.waitFor((all) => expected.every((e) => ids(all).includes(e)));
    const mine = collector.messages.filter(forOrder(orderId));
    const refunds = mine
      .filter((m) => m.value.type === "payment.refunded")
      .sort((a, b) => a.offset - b.offset);
    expect(refunds.map((m) => (m.value.data as { amountRefunded: number }).amountRefunded)).toEqual(
      [300, 700],
    );
    // The parked ones were marked when sent; the two sent straight from the stream were not.
    expect((await outboxItems(id)).map((i) => i.publishedAt !== undefined)).toEqual([
      true,
      true,
      false,
      false,
    ]);
    // Handed over again (a redelivery): sent again with the same ids (at least once).
    const before = ids(collector.messages.filter(forOrder(orderId))).length;
    expect((await publishItem(publishDeps, fourth)).outcome).toBe("published");
    await collector.waitFor((all) => ids(all.filter(forOrder(orderId))).length > before);
    expect(new Set(ids(collector.messages.filter(forOrder(orderId))))).toEqual(new Set(expected));
  });

  it("a batch the stream gave up on is taken from the failure bucket, parked and published; an unreadable one is left and reported", async () => {
    await stack.events?.poller.stop();
    const res = await stack.call("POST", "/api/payments/intents", {
      token: alice,
      body: { orderId: uniqueId("discarded"), amount: 2_500, currency: "eur" },
      headers: { "idempotency-key": uniqueId("key") },
    });
    expect(res.status).toBe(201);
    const paymentId = String(res.body.id);
    const pk = `PAYMENT#${paymentId}`;
    const { Items = [] } = await stack.documentClient.send(
      new QueryCommand({
        TableName: tables.payments.name,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :o)",
        ExpressionAttributeValues: { ":pk": pk, ":o": "OUTBOX#" },
        ConsistentRead: true,
      }),
    );
    const [stored] = Items;
    if (stored === undefined) throw new Error("no outbox item");
    // What Lambda writes for a discarded batch: the failure's metadata and the invocation record,
    // a stream event whose records carry the items' new images in attribute-value form.
    const failure = {
      requestContext: { condition: "RetryAttemptsExhausted", approximateInvokeCount: 11 },
      responseContext: { statusCode: 200, functionError: "Unhandled" },
      version: "1.0",
      timestamp: new Date().toISOString(),
      DDBStreamBatchInfo: { shardId: "shardId-1", batchSize: 2 },
      payload: JSON.stringify({
        Records: [
          { eventName: "INSERT", dynamodb: { NewImage: marshall(stored) } },
          // Another kind of record of the table's stream: not the publisher's.
          { eventName: "MODIFY", dynamodb: { NewImage: marshall({ pk, sk: "PAYMENT" }) } },
        ],
      }),
    };
    const bucket = `outbox-failures-${uniqueId("b")
      .toLowerCase()
      .replace(/[^a-z0-9]/g, "")}`.slice(0, 60);
    const s3 = new S3Client({
      region: "us-east-1",
      // The local emulator serves S3 beside DynamoDB.
      endpoint: inject("dynamodbEndpoint"),
      forcePathStyle: true,
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: "2026/12/07/batch-1",
        Body: JSON.stringify(failure),
      }),
    );
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: "2026/12/07/batch-2", Body: "{not json" }),
    );

    const { DiscardedBatches } = await import("../../lib/adapters/discarded-batches.js");
    const { recoverDiscarded, sweepOutbox } = await import("../../lib/use-cases/publish-outbox.js");
    const { publishDeps } = await import("../../lib/runtime/kafka.js");
    const deps = { ...publishDeps, outbox: await storeFor(pk) };
    const batches = new DiscardedBatches(s3, bucket);
    expect(await recoverDiscarded(deps, batches, 100)).toEqual({
      recovered: 1,
      unreadable: ["2026/12/07/batch-2"],
    });
    // The read one is gone from the bucket; the unreadable one stays for people.
    expect(await batches.list(100)).toEqual(["2026/12/07/batch-2"]);
    const eventId = String((stored.events as { id: string }[])[0]?.id);
    expect(await parkedIds(paymentId)).toEqual([eventId]);
    expect(await sweepOutbox(deps, 1_000)).toEqual({ published: 1, failed: 0, unreadable: [] });
    await collector.waitFor((all) => ids(all).includes(eventId));
    expect(await parkedIds(paymentId)).toEqual([]);
  });
});
