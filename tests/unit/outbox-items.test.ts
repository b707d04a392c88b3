import { marshall } from "@aws-sdk/util-dynamodb";
import { describe, expect, it } from "vitest";
import { outboxItem, readOutboxItem, toOutboxItem } from "../../lib/adapters/dynamo-codecs.js";
import { outboxKey } from "../../lib/adapters/dynamo-keys.js";
import { outboxItemFromImage } from "../../lib/adapters/dynamo-outbox.js";
import { paymentEvent } from "../../lib/domain/events.js";
import { sameOutboxItem, toMessages } from "../../lib/domain/outbox.js";
import { NO_LIFECYCLE, type Payment } from "../../lib/domain/payment.js";

const event = (id: string, type: string) => ({
  id,
  type,
  version: 1,
  source: "payment-service",
  occurredAt: "2026-12-07T10:00:00.000Z",
  data: { paymentId: "pay_1", orderId: "order-1" },
});
const keys = { pk: "PAYMENT#pay_1", sk: "OUTBOX#0000000002#0000#ev_a", type: "outbox" };

const payment: Payment = {
  id: "pay_1",
  orderId: "order-1",
  customerId: "alice",
  status: "captured",
  amount: 1_000,
  currency: "eur",
  captureMethod: "automatic",
  stripePaymentIntentId: "pi_1",
  amountCaptured: 1_000,
  amountRefunded: 0,
  amountRefundPending: 0,
  lifecycle: NO_LIFECYCLE,
  version: 2,
  createdAt: "2026-12-07T10:00:00.000Z",
  updatedAt: "2026-12-07T10:00:00.000Z",
};

describe("outbox items", () => {
  it("one change's events, in order, become one message each with the order's key", () => {
    const item = readOutboxItem({
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
    const legacy = readOutboxItem({
      ...keys,
      partitionKey: "order-1",
      eventId: "ev_a",
      eventType: "payment.captured",
      event: event("ev_a", "payment.captured"),
      publishedAt: "2026-12-07T10:00:01.000Z",
    });
    expect(legacy).toEqual({
      paymentId: "pay_1",
      position: "0000000002#0000#ev_a",
      partitionKey: "order-1",
      events: [event("ev_a", "payment.captured")],
      publishedAt: "2026-12-07T10:00:01.000Z",
    });
    // Its identity names the very item it was read from.
    if (legacy === undefined) throw new Error("not read as an outbox item");
    expect(outboxKey(legacy)).toEqual({ pk: keys.pk, sk: keys.sk });
  });

  it("anything else is not an outbox item", () => {
    expect(readOutboxItem({ ...keys, partitionKey: "order-1" })).toBeUndefined();
    expect(readOutboxItem({ ...keys, partitionKey: "order-1", events: [] })).toBeUndefined();
    expect(
      readOutboxItem({
        ...keys,
        partitionKey: "order-1",
        events: [event("ev_a", "payment.nope")],
      }),
    ).toBeUndefined();
    expect(
      readOutboxItem({
        ...keys,
        type: "payment",
        partitionKey: "o",
        events: [event("a", "payment.captured")],
      }),
    ).toBeUndefined();
    // Not an outbox item's keys.
    for (const other of [
      { pk: "ORDER#order-1", sk: keys.sk },
      { pk: keys.pk, sk: "PAYMENT" },
    ]) {
      expect(
        readOutboxItem({
          ...keys,
          ...other,
          partitionKey: "order-1",
          events: [event("a", "payment.captured")],
        }),
      ).toBeUndefined();
    }
    expect(readOutboxItem(undefined)).toBeUndefined();
  });

  it("an item that must be an outbox item and is not fails loudly, naming it", () => {
    expect(() => toOutboxItem({ ...keys, partitionKey: "order-1", events: [] })).toThrow(
      `stored item ${keys.pk} ${keys.sk} is no outbox item`,
    );
  });

  it("the stream's new image (attribute values) reads as the stored item does", () => {
    const stored = {
      ...keys,
      partitionKey: "order-1",
      events: [event("ev_a", "payment.authorized"), event("ev_b", "payment.captured")],
      watch: "outbox",
      watchAt: "2026-12-07T10:10:00.000Z#0000000002#0000",
    };
    const fromImage = outboxItemFromImage(marshall(stored));
    expect(fromImage).toEqual(readOutboxItem(stored));
    expect(fromImage?.events.map((e) => e.id)).toEqual(["ev_a", "ev_b"]);
    expect(outboxItemFromImage(marshall({ pk: keys.pk, sk: "PAYMENT", type: "payment" }))).toBe(
      undefined,
    );
  });

  it("a written item reads back as the change's events, its position ordered by version", () => {
    const authorized = paymentEvent("payment.authorized", payment, "ev_a", payment.updatedAt);
    const captured = paymentEvent("payment.captured", payment, "ev_b", payment.updatedAt);
    const written = outboxItem(payment, 9, [authorized, captured]);
    expect(written).toMatchObject({
      pk: "PAYMENT#pay_1",
      sk: "OUTBOX#0000000009#0000#ev_a",
      type: "outbox",
      partitionKey: "order-1",
      // In no index (only a parked item is), and expiring a week after the change.
      expiresAt: Date.parse("2026-12-14T10:00:00.000Z") / 1000,
    });
    expect(written).not.toHaveProperty("watch");
    expect(written).not.toHaveProperty("watchAt");
    const item = readOutboxItem(written);
    if (item === undefined) throw new Error("not read as an outbox item");
    expect(item).toEqual({
      paymentId: "pay_1",
      position: "0000000009#0000#ev_a",
      partitionKey: "order-1",
      events: [authorized, captured],
    });
    const later = readOutboxItem(outboxItem(payment, 10, [captured]));
    if (later === undefined) throw new Error("not read as an outbox item");
    expect(item.position < later.position).toBe(true);
    expect(sameOutboxItem(item, later)).toBe(false);
    expect(sameOutboxItem(item, { paymentId: "pay_1", position: item.position })).toBe(true);
    expect(sameOutboxItem(item, { paymentId: "pay_2", position: item.position })).toBe(false);
    expect(() => outboxItem(payment, 11, [])).toThrow("an outbox item needs an event");
  });

  it("an item in the sweeper's index and not published reads as parked; a published one does not", () => {
    const written = outboxItem(payment, 9, [
      paymentEvent("payment.captured", payment, "ev_a", payment.updatedAt),
    ]);
    expect(readOutboxItem({ ...written, watch: "outbox" })?.parked).toBe(true);
    expect(
      readOutboxItem({ ...written, watch: "outbox", publishedAt: "2026-12-07T10:00:01.000Z" })
        ?.parked,
    ).toBeUndefined();
    expect(readOutboxItem({ ...written, watch: "outbox-unreadable" })?.parked).toBeUndefined();
    expect(readOutboxItem(written)?.parked).toBeUndefined();
  });
});
