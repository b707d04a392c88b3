import { describe, expect, it } from "vitest";
import { parseOutboxItem, toMessages } from "../../lib/domain/outbox.js";

const event = (id: string, type: string) => ({
  id,
  type,
  version: 1,
  source: "payment-service",
  occurredAt: "2026-12-07T10:00:00.000Z",
  data: { paymentId: "pay_1", orderId: "order-1" },
});
const keys = { pk: "PAYMENT#pay_1", sk: "OUTBOX#0000000002#0000#ev_a", type: "outbox" };

describe("outbox items", () => {
  it("one change's events, in order, become one message each with the order's key", () => {
    const item = parseOutboxItem({
      ...keys,
      partitionKey: "order-1",
      events: [event("ev_a", "payment.authorized"), event("ev_b", "payment.captured")],
    });
    if (item === undefined) throw new Error("not read as an outbox item");
    const messages = toMessages(item, { prefix: "dev.", mode: "per-type" });
    expect(messages.map((m) => [m.topic, m.key, m.headers["event-id"]])).toEqual([
      ["dev.payment.authorized", "order-1", "ev_a"],
      ["dev.payment.captured", "order-1", "ev_b"],
    ]);
    expect(JSON.parse(messages[1]?.value ?? "{}")).toEqual(event("ev_b", "payment.captured"));
  });

  it("an item written with one event (before items held a change) reads the same", () => {
    const legacy = parseOutboxItem({
      ...keys,
      partitionKey: "order-1",
      eventId: "ev_a",
      eventType: "payment.captured",
      event: event("ev_a", "payment.captured"),
      publishedAt: "2026-12-07T10:00:01.000Z",
    });
    expect(legacy).toEqual({
      pk: keys.pk,
      sk: keys.sk,
      partitionKey: "order-1",
      events: [event("ev_a", "payment.captured")],
      publishedAt: "2026-12-07T10:00:01.000Z",
    });
  });

  it("anything else is not an outbox item", () => {
    expect(parseOutboxItem({ ...keys, partitionKey: "order-1" })).toBeUndefined();
    expect(parseOutboxItem({ ...keys, partitionKey: "order-1", events: [] })).toBeUndefined();
    expect(
      parseOutboxItem({
        ...keys,
        partitionKey: "order-1",
        events: [event("ev_a", "payment.nope")],
      }),
    ).toBeUndefined();
    expect(
      parseOutboxItem({
        ...keys,
        type: "payment",
        partitionKey: "o",
        events: [event("a", "payment.captured")],
      }),
    ).toBeUndefined();
  });
});
