/**
 * The DynamoDB payment repository against the local DynamoDB server: the payment item holds its
 * own status history and the ids of the Stripe events applied to it; a change is one update of it
 * (plus the outbox and audit items) that leaves it as the new state says, and payments written
 * before the history moved into the item keep theirs.
 */
import { randomUUID } from "node:crypto";
import { GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tables } from "../../infra/tables.js";
import { paymentPk } from "../../lib/adapters/dynamo-keys.js";
import { auditEntry } from "../../lib/domain/audit.js";
import { paymentEvent } from "../../lib/domain/events.js";
import { paymentIdForRequest } from "../../lib/domain/ids.js";
import { newPayment, type Payment, withAppliedStripeEvent } from "../../lib/domain/payment.js";
import type { ChangePlan } from "../../lib/ports.js";
import { type Stack, startStack, uniqueId } from "../support/stack.js";

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const T0 = "2026-12-07T10:00:00.000Z";
const T1 = "2026-12-07T10:05:00.000Z";
const alice = { source: "api", id: "alice" } as const;

async function inserted(extra: Partial<Payment> = {}): Promise<Payment> {
  const payment: Payment = {
    ...newPayment({
      id: paymentIdForRequest("alice", uniqueId("key")),
      orderId: uniqueId("order"),
      customerId: "alice",
      amount: 2_000,
      currency: "eur",
      captureMethod: "automatic",
      description: "two books",
      stripePaymentIntentId: `pi_${randomUUID().replaceAll("-", "")}`,
      now: T0,
    }),
    ...extra,
  };
  const result = await stack.repository.insertNew(
    payment,
    alice,
    paymentEvent("payment.initiated", payment, randomUUID(), T0),
    auditEntry({ actor: alice }, T0, "payment.create", "created"),
  );
  expect(result).toEqual({ inserted: true });
  return payment;
}

function change(before: Payment, after: Payment, stripeEventId?: string): ChangePlan {
  return {
    before,
    after: {
      ...after,
      ...(stripeEventId === undefined
        ? {}
        : {
            appliedStripeEvents: withAppliedStripeEvent(before.appliedStripeEvents, stripeEventId),
          }),
    },
    history: [{ status: after.status, at: T1, source: "stripe", actor: "stripe" }],
    events: [],
    refunds: [],
  };
}

async function storedItem(paymentId: string): Promise<Record<string, unknown>> {
  const { Item } = await stack.documentClient.send(
    new GetCommand({
      TableName: tables.payments.name,
      Key: { pk: paymentPk(paymentId), sk: "PAYMENT" },
      ConsistentRead: true,
    }),
  );
  if (Item === undefined) throw new Error(`no payment item ${paymentId}`);
  return Item;
}

describe("the payment item", () => {
  it("holds the history: a change appends to it and leaves no history item", async () => {
    const payment = await inserted();
    const { description: _dropped, ...rest } = payment;
    const captured: Payment = { ...rest, status: "captured", amountCaptured: 2_000, updatedAt: T1 };
    expect(await stack.repository.applyChange(change(payment, captured, "evt_1"))).toBe("applied");

    const stored = await stack.repository.getWithHistory(payment.id);
    expect(stored?.history).toEqual([
      { status: "initiated", at: T0, source: "api", actor: "alice" },
      { status: "captured", at: T1, source: "stripe", actor: "stripe" },
    ]);
    expect(stored?.payment).toMatchObject({
      status: "captured",
      amountCaptured: 2_000,
      version: payment.version + 1,
      appliedStripeEvents: ["evt_1"],
    });
    // What the new state lacks is gone from the item, as a Put of it would have left it.
    expect(stored?.payment.description).toBeUndefined();
    expect(Object.keys(await storedItem(payment.id))).not.toContain("description");
  });

  it("removes a failure once the new state has none, and keeps the latest event ids only", async () => {
    const payment = await inserted({
      status: "failed",
      failureCode: "card_declined",
      failureMessage: "Your card was declined.",
    });
    let before = payment;
    for (let n = 1; n <= 10; n++) {
      const { failureCode: _c, failureMessage: _m, ...rest } = before;
      const next: Payment = { ...rest, status: "processing", updatedAt: T1 };
      expect(await stack.repository.applyChange(change(before, next, `evt_${n}`))).toBe("applied");
      const read = await stack.repository.get(payment.id);
      if (read === undefined) throw new Error("payment gone");
      before = read;
    }
    expect(before.failureCode).toBeUndefined();
    expect(before.failureMessage).toBeUndefined();
    expect(before.appliedStripeEvents).toEqual([
      "evt_3",
      "evt_4",
      "evt_5",
      "evt_6",
      "evt_7",
      "evt_8",
      "evt_9",
      "evt_10",
    ]);
    expect((await stack.repository.getWithHistory(payment.id))?.history).toHaveLength(11);
  });

  it("refuses a change computed from a stale read, and writes nothing of it", async () => {
    const payment = await inserted();
    const captured: Payment = { ...payment, status: "captured", updatedAt: T1 };
    expect(await stack.repository.applyChange(change(payment, captured))).toBe("applied");
    const stale: Payment = { ...payment, status: "canceled", updatedAt: T1 };
    expect(await stack.repository.applyChange(change(payment, stale))).toBe("conflict");
    const stored = await stack.repository.getWithHistory(payment.id);
    expect(stored?.payment.status).toBe("captured");
    expect(stored?.history.map((h) => h.status)).toEqual(["initiated", "captured"]);
  });

  it("a payment written before the history moved into its item keeps its history items, first", async () => {
    const payment = await inserted();
    // As such a payment was stored: no `history` in the item, one history item beside it.
    await stack.documentClient.send(
      new UpdateCommand({
        TableName: tables.payments.name,
        Key: { pk: paymentPk(payment.id), sk: "PAYMENT" },
        UpdateExpression: "REMOVE history",
      }),
    );
    await stack.documentClient.send(
      new PutCommand({
        TableName: tables.payments.name,
        Item: {
          pk: paymentPk(payment.id),
          sk: "PAYMENT#HISTORY#0000000001#0",
          type: "history",
          status: "initiated",
          at: T0,
          source: "api",
          actor: "alice",
        },
      }),
    );
    const captured: Payment = { ...payment, status: "captured", updatedAt: T1 };
    expect(await stack.repository.applyChange(change(payment, captured))).toBe("applied");
    expect((await stack.repository.getWithHistory(payment.id))?.history).toEqual([
      { status: "initiated", at: T0, source: "api", actor: "alice" },
      { status: "captured", at: T1, source: "stripe", actor: "stripe" },
    ]);
  });

  it("a corrupt history or event list fails loudly instead of reading as empty", async () => {
    const payment = await inserted();
    const corrupt = async (expression: string, value: unknown) =>
      stack.documentClient.send(
        new UpdateCommand({
          TableName: tables.payments.name,
          Key: { pk: paymentPk(payment.id), sk: "PAYMENT" },
          UpdateExpression: expression,
          ExpressionAttributeValues: { ":x": value },
        }),
      );
    await corrupt("SET history = :x", "initiated");
    await expect(stack.repository.getWithHistory(payment.id)).rejects.toThrow(/history/);
    await corrupt("SET history = :x", [{ status: "initiated", at: T0, source: "api" }]);
    await corrupt("SET appliedStripeEvents = :x", [1, 2]);
    await expect(stack.repository.get(payment.id)).rejects.toThrow(/appliedStripeEvents/);
  });
});

describe("refund records", () => {
  it("keep when Stripe gave a held refund's status, and a record without it reads without it", async () => {
    const payment = await inserted();
    const captured: Payment = {
      ...payment,
      status: "captured",
      amountCaptured: 2_000,
      amountRefundPending: 500,
      updatedAt: T1,
    };
    const first = { amount: 500, reservation: "held", status: "pending" } as const;
    expect(
      await stack.repository.applyChange({
        ...change(payment, captured),
        refunds: [{ key: "rfd_a", stripeRefundId: "re_a", prior: undefined, next: first }],
      }),
    ).toBe("applied");
    expect(await stack.repository.getRefundRecord(payment.id, "rfd_a")).toEqual(first);

    const later = { ...first, status: "requires_action", statusAt: 1_796_000_000 } as const;
    const read = await stack.repository.get(payment.id);
    if (read === undefined) throw new Error("payment gone");
    expect(
      await stack.repository.applyChange({
        ...change(read, { ...read, updatedAt: T1 }),
        history: [],
        refunds: [{ key: "rfd_a", stripeRefundId: "re_a", prior: first, next: later }],
      }),
    ).toBe("applied");
    expect(await stack.repository.getRefundRecord(payment.id, "rfd_a")).toEqual(later);
  });
});
