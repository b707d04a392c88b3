/**
 * POST /api/payments/{id}/refund through the local gateway: scopes, idempotency, the
 * not-refundable and exceeds-remaining paths, and concurrent refunds that must never add up to
 * more than was captured.
 */
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tables } from "../../infra/tables.js";
import { type Stack, startStack, uniqueId } from "../support/stack.js";

let stack: Stack;
let alice: string;
let backOffice: string;

beforeAll(async () => {
  stack = await startStack();
  alice = await stack.token("alice", "payments:write payments:read");
  backOffice = await stack.token("back-office", "payments:refund payments:admin");
});
afterAll(async () => {
  await stack?.close();
});

async function createPayment(
  amount = 10_000,
): Promise<{ id: string; stripePaymentIntentId: string }> {
  const res = await stack.call("POST", "/api/payments/intents", {
    token: alice,
    body: { orderId: uniqueId("order"), amount, currency: "usd" },
    headers: { "idempotency-key": uniqueId("key") },
  });
  expect(res.status).toBe(201);
  return { id: String(res.body.id), stripePaymentIntentId: String(res.body.stripePaymentIntentId) };
}

/**
 * A payment the customer paid: confirmed at the simulator with a test card, and marked captured
 * in the table the way the Stripe webhook will (the webhook handler is not part of this suite).
 */
/** A payment the customer paid: confirmed at the simulator with a test card; Stripe's webhooks capture it. */
async function capturedPayment(
  amount = 10_000,
): Promise<{ id: string; stripePaymentIntentId: string }> {
  const payment = await createPayment(amount);
  const pi = await stack.stripe.paymentIntents.confirm(payment.stripePaymentIntentId, {
    payment_method: "pm_card_visa",
  });
  expect(pi.status).toBe("succeeded");
  await stack.simulator.drainWebhooks();
  expect(await stack.repository.get(payment.id)).toMatchObject({
    status: "captured",
    amountCaptured: amount,
  });
  return payment;
}

/** `key: null` sends no Idempotency-Key at all. */
const refund = (
  paymentId: string,
  body: unknown,
  key: string | null = uniqueId("rkey"),
  token = backOffice,
) =>
  stack.call("POST", `/api/payments/${paymentId}/refund`, {
    token,
    ...(body === undefined ? {} : { body }),
    ...(key === null ? {} : { headers: { "idempotency-key": key } }),
  });

const stripeRefundsFor = (piId: string) =>
  stack.simulator.refunds().filter((r) => r.payment_intent === piId);

async function storedRefunds(paymentId: string) {
  const { Items = [] } = await stack.documentClient.send(
    new QueryCommand({
      TableName: tables.payments.name,
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :r)",
      ExpressionAttributeValues: { ":pk": `PAYMENT#${paymentId}`, ":r": "REFUND#" },
      ConsistentRead: true,
    }),
  );
  return Items;
}

describe("POST /api/payments/{id}/refund", () => {
  it("needs the payments:refund scope", async () => {
    const { id } = await createPayment();
    const res = await refund(id, { amount: 100 }, uniqueId("k"), alice);
    expect(res.status).toBe(403);
    expect(res.body.code).toBe("insufficient_scope");
  });

  it("needs an Idempotency-Key", async () => {
    const { id } = await capturedPayment();
    const res = await refund(id, { amount: 100 }, null);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("idempotency_key_missing");
    expect(await storedRefunds(id)).toHaveLength(0);
  });

  it("answers 404 for a payment that does not exist", async () => {
    const res = await refund("pay_00000000000000000000000000", { amount: 100 });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe("payment_not_found");
  });

  it("answers 409 payment_not_refundable for a payment not captured yet", async () => {
    const { id } = await createPayment();
    const res = await refund(id, {});
    expect(res.status).toBe(409);
    expect(res.body.code).toBe("payment_not_refundable");
    expect(await storedRefunds(id)).toHaveLength(0);
  });

  it.each([
    ["a zero amount", { amount: 0 }],
    ["a float amount", { amount: 1.5 }],
    ["an unknown reason", { reason: "changed_mind" }],
    ["an unknown field", { amount: 100, currency: "usd" }],
  ])("rejects %s with 400 and writes nothing", async (_name, body) => {
    const { id } = await capturedPayment();
    const res = await refund(id, body);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("validation_failed");
    expect(await storedRefunds(id)).toHaveLength(0);
  });

  it("refunds part, then the rest by default, then refuses more", async () => {
    const { id, stripePaymentIntentId } = await capturedPayment(10_000);
    const part = await refund(id, { amount: 2_500, reason: "requested_by_customer" });
    expect(part.status).toBe(202);
    expect(part.body).toMatchObject({ paymentId: id, amount: 2_500, status: "succeeded" });
    expect(Object.keys(part.body).sort()).toEqual([
      "amount",
      "createdAt",
      "id",
      "paymentId",
      "status",
    ]);

    const tooMuch = await refund(id, { amount: 7_501 });
    expect(tooMuch.status).toBe(422);
    expect(tooMuch.body).toMatchObject({ code: "refund_exceeds_remaining", remaining: 7_500 });

    const rest = await refund(id, undefined);
    expect(rest.status).toBe(202);
    expect(rest.body.amount).toBe(7_500);

    const more = await refund(id, {});
    expect(more.status).toBe(409);
    expect(more.body.code).toBe("payment_not_refundable");

    const atStripe = stripeRefundsFor(stripePaymentIntentId);
    expect(atStripe.map((r) => r.amount).sort()).toEqual([2_500, 7_500]);
    // Stripe's webhooks settle both refunds: the payment is refunded, nothing held any more.
    await stack.simulator.drainWebhooks();
    const read = await stack.call("GET", `/api/payments/${id}`, { token: backOffice });
    expect(read.body).toMatchObject({ status: "refunded", amountRefunded: 10_000 });
    expect((read.body.history as { status: string }[]).map((h) => h.status)).toEqual([
      "initiated",
      "authorized",
      "captured",
      "partially_refunded",
      "refunded",
    ]);
    expect(await stack.repository.get(id)).toMatchObject({
      amountRefundPending: 0,
      amountRefunded: 10_000,
    });
  });

  it("replays a refund for the same key and body, and refuses the key with another body", async () => {
    const { id, stripePaymentIntentId } = await capturedPayment(5_000);
    const key = uniqueId("rkey");
    const first = await refund(id, { amount: 1_000 }, key);
    const again = await refund(id, { amount: 1_000 }, key);
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body).toEqual(first.body);
    const other = await refund(id, { amount: 2_000 }, key);
    expect(other.status).toBe(422);
    expect(other.body.code).toBe("idempotency_key_reused");
    expect(stripeRefundsFor(stripePaymentIntentId)).toHaveLength(1);
  });

  it("never lets concurrent refunds add up to more than was captured", async () => {
    const { id, stripePaymentIntentId } = await capturedPayment(10_000);
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => refund(id, { amount: 3_000 })),
    );
    const accepted = answers.filter((a) => a.status === 202);
    const refused = answers.filter((a) => a.status === 422);
    expect(accepted).toHaveLength(3);
    expect(refused).toHaveLength(7);
    for (const r of refused) expect(r.body.code).toBe("refund_exceeds_remaining");
    const atStripe = stripeRefundsFor(stripePaymentIntentId);
    expect(atStripe).toHaveLength(3);
    expect(atStripe.reduce((sum, r) => sum + r.amount, 0)).toBe(9_000);
    expect(await storedRefunds(id)).toHaveLength(3);
    // Held until Stripe confirms each; then settled into amountRefunded, never counted twice.
    await stack.simulator.drainWebhooks();
    expect(await stack.repository.get(id)).toMatchObject({
      status: "partially_refunded",
      amountRefunded: 9_000,
      amountRefundPending: 0,
    });
    console.info(
      `concurrent refunds: 10 sent of 3000 on 10000 captured; accepted ${accepted.length}, refused ${refused.length}, at Stripe ${atStripe.length} totalling 9000`,
    );
  });
});

describe("the OpenAPI document", () => {
  it("describes every answer this file received", () => {
    expect(stack.contract.checked).toBeGreaterThan(5);
    expect(stack.contract.violations).toEqual([]);
  });
});
