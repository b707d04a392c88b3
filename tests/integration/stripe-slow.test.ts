/**
 * Stripe slower than the function's time: the SDK's timeout and retries are budgeted from the
 * invocation's remaining time, so the caller gets 503 provider_unavailable (never the gateway's
 * 500 for a function cut off at its timeout), and the same key recovers once Stripe is back.
 * The routes run with a 6 s timeout here, so a 9 s Stripe is too slow for any attempt.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack, uniqueId } from "../support/stack.js";

let stack: Stack;
let alice: string;

beforeAll(async () => {
  stack = await startStack({ timeoutSeconds: 6 });
  alice = await stack.token("alice", "payments:write payments:read");
});
afterAll(async () => {
  stack?.simulator.clearFaults();
  await stack?.close();
});

describe("a slow Stripe", () => {
  it("answers 503 within the function's time, and the same key then creates one payment", async () => {
    const orderId = uniqueId("slow");
    const request = {
      token: alice,
      body: { orderId, amount: 2_000, currency: "usd" },
      headers: { "idempotency-key": uniqueId("key") },
    };
    stack.simulator.setFaults({ delayMs: 9_000, paths: "/v1/payment_intents", method: "POST" });
    const slow = await stack.call("POST", "/api/payments/intents", request);
    expect(slow.status).toBe(503);
    expect(slow.body.code).toBe("provider_unavailable");
    expect(slow.headers.get("retry-after")).toBe("5");

    stack.simulator.clearFaults();
    // Retry with the same key as told (Retry-After) until it answers something else: the first
    // try's request may still be running at Stripe (its key is in use there for 9 s), and its
    // lock on our key lasts until its invocation's deadline.
    let again = await stack.call("POST", "/api/payments/intents", request);
    for (let i = 0; i < 10 && (again.status === 409 || again.status === 503); i++) {
      await new Promise((r) => setTimeout(r, Number(again.headers.get("retry-after") ?? 1) * 1000));
      again = await stack.call("POST", "/api/payments/intents", request);
    }
    expect(again.status).toBe(201);
    const live = stack.simulator
      .paymentIntents()
      .filter((pi) => pi.metadata.order_id === orderId && pi.status !== "canceled");
    expect(live).toHaveLength(1);
  });
});
