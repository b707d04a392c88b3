/**
 * Stripe failing under the API: a 5xx or 429 that outlasts the SDK's retries gives callers 503
 * with Retry-After and leaves nothing half-written; a retry with the same Idempotency-Key then
 * completes the request exactly once.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack, uniqueId } from "../support/stack.js";

let stack: Stack;
let alice: string;
let backOffice: string;

beforeAll(async () => {
  stack = await startStack();
  alice = await stack.token("alice", "payments:write payments:read");
  backOffice = await stack.token("back-office", "payments:refund");
});
afterEach(() => stack.simulator.clearFaults());
afterAll(async () => {
  await stack?.close();
});

const intentsFor = (orderId: string) =>
  stack.simulator.paymentIntents().filter((pi) => pi.metadata.order_id === orderId);
const create = (key: string, orderId: string) =>
  stack.call("POST", "/api/payments/intents", {
    token: alice,
    body: { orderId, amount: 5_000, currency: "usd" },
    headers: { "idempotency-key": key },
  });
const refund = (paymentId: string, key: string, amount: number) =>
  stack.call("POST", `/api/payments/${paymentId}/refund`, {
    token: backOffice,
    body: { amount },
    headers: { "idempotency-key": key },
  });

/** A payment the customer paid: confirmed at the simulator with a test card; Stripe's webhooks capture it. */
async function capturedPayment(): Promise<{ id: string; pi: string }> {
  const made = await create(uniqueId("key"), uniqueId("order"));
  expect(made.status).toBe(201);
  const pi = String(made.body.stripePaymentIntentId);
  await stack.stripe.paymentIntents.confirm(pi, { payment_method: "pm_card_visa" });
  await stack.simulator.drainWebhooks();
  expect((await stack.repository.get(String(made.body.id)))?.status).toBe("captured");
  return { id: String(made.body.id), pi };
}

describe("Stripe faults", () => {
  it.each([500, 429])(
    "create: Stripe answering %i past the retries is a 503, nothing written, and a retry succeeds once",
    async (status) => {
      const orderId = uniqueId("order");
      const key = uniqueId("key");
      // The SDK tries up to three times (maxNetworkRetries 2; a 429 without Stripe-Should-Retry once).
      stack.simulator.setFaults({
        failNext: 3,
        status,
        paths: "/v1/payment_intents",
        method: "POST",
      });
      const down = await create(key, orderId);
      stack.simulator.clearFaults();
      expect(down.status).toBe(503);
      expect(down.body.code).toBe("provider_unavailable");
      expect(Number(down.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(await stack.repository.paymentIdForOrder(orderId)).toBeUndefined();
      expect(intentsFor(orderId)).toHaveLength(0);

      const up = await create(key, orderId);
      expect(up.status).toBe(201);
      expect(up.headers.get("idempotent-replayed")).toBeNull();
      expect(intentsFor(orderId)).toHaveLength(1);
    },
  );

  it("create: an answer lost on the way back is recovered by the SDK's retry with the same key: one PaymentIntent", async () => {
    const orderId = uniqueId("order");
    stack.simulator.setFaults({
      failNext: 1,
      status: 500,
      when: "after",
      paths: "/v1/payment_intents",
      method: "POST",
    });
    const res = await create(uniqueId("key"), orderId);
    expect(res.status).toBe(201);
    expect(intentsFor(orderId)).toHaveLength(1);
  });

  it("create: a dropped connection past the retries is a 503; the same key later finds the same PaymentIntent", async () => {
    const orderId = uniqueId("order");
    const key = uniqueId("key");
    // Executed at Stripe every time, answer lost every time: Stripe has the PaymentIntent, we do not.
    stack.simulator.setFaults({
      failNext: 3,
      reset: true,
      when: "after",
      paths: "/v1/payment_intents",
      method: "POST",
    });
    const down = await create(key, orderId);
    stack.simulator.clearFaults();
    expect(down.status).toBe(503);
    expect(await stack.repository.paymentIdForOrder(orderId)).toBeUndefined();
    expect(intentsFor(orderId)).toHaveLength(1);

    const up = await create(key, orderId);
    expect(up.status).toBe(201);
    expect(intentsFor(orderId)).toHaveLength(1);
    expect(up.body.stripePaymentIntentId).toBe(intentsFor(orderId)[0]?.id);
  });

  it("refund: a 429 past the retries is a 503 that releases the amount, and the same key then refunds once", async () => {
    const { id, pi } = await capturedPayment();
    const key = uniqueId("rkey");
    stack.simulator.setFaults({ failNext: 3, status: 429, paths: "/v1/refunds", method: "POST" });
    const res = await refund(id, key, 2_000);
    stack.simulator.clearFaults();
    expect(res.status).toBe(503);
    expect(res.body.code).toBe("provider_unavailable");
    expect(res.headers.get("retry-after")).toBe("5");
    expect((await stack.repository.get(id))?.amountRefundPending).toBe(0);
    expect(stack.simulator.refunds().filter((r) => r.payment_intent === pi)).toHaveLength(0);

    // The 503 said "retry with the same key": it succeeds, once.
    const again = await refund(id, key, 2_000);
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ amount: 2_000 });
    const replay = await refund(id, key, 2_000);
    expect(replay.status).toBe(202);
    expect(replay.body.id).toBe(again.body.id);
    expect(stack.simulator.refunds().filter((r) => r.payment_intent === pi)).toHaveLength(1);
  });

  it("refund: one Stripe refuses stays refused for the same key", async () => {
    const { id, pi } = await capturedPayment();
    const key = uniqueId("rkey");
    stack.simulator.setFaults({ failNext: 1, status: 400, paths: "/v1/refunds", method: "POST" });
    const refused = await refund(id, key, 2_000);
    stack.simulator.clearFaults();
    expect(refused.status).toBe(409);
    const again = await refund(id, key, 2_000);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe("payment_not_refundable");
    expect(stack.simulator.refunds().filter((r) => r.payment_intent === pi)).toHaveLength(0);
  });

  it("refund: a 5xx past the retries keeps the amount reserved, and the same key completes it once", async () => {
    const { id, pi } = await capturedPayment();
    const key = uniqueId("rkey");
    stack.simulator.setFaults({ failNext: 3, status: 500, paths: "/v1/refunds", method: "POST" });
    const down = await refund(id, key, 2_000);
    stack.simulator.clearFaults();
    expect(down.status).toBe(503);
    // Stripe may have refunded (as far as we can tell): the amount stays held.
    expect((await stack.repository.get(id))?.amountRefundPending).toBe(2_000);
    // Another refund cannot take the held amount.
    const other = await refund(id, uniqueId("rkey"), 3_001);
    expect(other.status).toBe(422);
    expect(other.body).toMatchObject({ code: "refund_exceeds_remaining", remaining: 3_000 });

    const up = await refund(id, key, 2_000);
    expect(up.status).toBe(202);
    expect(up.body.amount).toBe(2_000);
    expect(stack.simulator.refunds().filter((r) => r.payment_intent === pi)).toHaveLength(1);
    await stack.simulator.drainWebhooks();
    expect(await stack.repository.get(id)).toMatchObject({
      amountRefundPending: 0,
      amountRefunded: 2_000,
    });
  });

  it("read: Stripe down while the owner's client secret is needed is a 503, not a 500", async () => {
    const made = await create(uniqueId("key"), uniqueId("order"));
    stack.simulator.setFaults({
      failNext: 3,
      status: 503,
      paths: "/v1/payment_intents",
      method: "GET",
    });
    const res = await stack.call("GET", `/api/payments/${String(made.body.id)}`, { token: alice });
    expect(res.status).toBe(503);
    expect(res.body.code).toBe("provider_unavailable");
  });
});
