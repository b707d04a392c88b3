/**
 * The admin API behind the support console, through the local gateway and the real handlers:
 * the audit trail of a payment's life, lookups by customer and PaymentIntent, the recent list by
 * status and time, re-checking with Stripe now, and the scope rules (403 without the scope, 404
 * for a payment the caller may not read).
 */
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tables } from "../../infra/tables.js";
import {
  type ApiResponse,
  legacyIntentItem,
  type Stack,
  startStack,
  uniqueId,
} from "../support/stack.js";

let stack: Stack;
let alice: string;
let support: string;
let agent: string;

beforeAll(async () => {
  stack = await startStack();
  alice = await stack.token("alice", "payments:write payments:read");
  // Reads everything and acts: the console's full support role.
  support = await stack.token("sam-support", "payments:refund payments:admin");
  // Acts on payments but may not read the admin views.
  agent = await stack.token("agent-007", "payments:refund");
});
afterAll(async () => {
  await stack?.close();
});

async function create(token = alice, amount = 5_000, captureMethod = "automatic") {
  const key = uniqueId("key");
  const res = await stack.call("POST", "/api/payments/intents", {
    token,
    body: { orderId: uniqueId("order"), amount, currency: "eur", captureMethod },
    headers: { "idempotency-key": key },
  });
  expect(res.status).toBe(201);
  return { res, key, id: String(res.body.id), pi: String(res.body.stripePaymentIntentId) };
}

async function pay(pi: string, card = "pm_card_visa") {
  await stack.stripe.paymentIntents.confirm(pi, { payment_method: card }).catch(() => undefined);
  await stack.simulator.drainWebhooks();
}

const audit = (id: string, token = support, query = "") =>
  stack.call("GET", `/api/payments/${id}/audit${query}`, { token });

/** Every page of a listing, following nextCursor. */
async function allPages(path: string, token: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let cursor: unknown = null;
  for (let page = 0; page < 200; page++) {
    const sep = path.includes("?") ? "&" : "?";
    const res: ApiResponse = await stack.call(
      "GET",
      cursor === null ? path : `${path}${sep}cursor=${encodeURIComponent(String(cursor))}`,
      { token },
    );
    expect(res.status, res.text).toBe(200);
    items.push(...(res.body.items as Record<string, unknown>[]));
    cursor = res.body.nextCursor;
    if (cursor === null) return items;
  }
  throw new Error(`${path}: more than 200 pages`);
}

describe("the audit trail", () => {
  it("records who did what through which request, newest first, with refusals, and no secret", async () => {
    const made = await create();
    await pay(made.pi);
    const refundKey = uniqueId("rkey");
    const refunded = await stack.call("POST", `/api/payments/${made.id}/refund`, {
      token: support,
      body: { amount: 1_000, reason: "requested_by_customer" },
      headers: { "idempotency-key": refundKey },
    });
    expect(refunded.status).toBe(202);
    await stack.simulator.drainWebhooks();
    const tooMuch = await stack.call("POST", `/api/payments/${made.id}/refund`, {
      token: support,
      body: { amount: 999_999 },
      headers: { "idempotency-key": uniqueId("rkey") },
    });
    expect(tooMuch.status).toBe(422);

    const trail = await audit(made.id);
    expect(trail.status).toBe(200);
    const items = trail.body.items as Record<string, unknown>[];
    const times = items.map((i) => String(i.at));
    expect([...times].sort().reverse()).toEqual(times);
    expect(items[0]).toMatchObject({
      action: "payment.refund",
      actor: "sam-support",
      source: "api",
      outcome: "refused:refund_exceeds_remaining",
    });
    expect(items).toContainEqual(
      expect.objectContaining({
        action: "payment.refund",
        actor: "sam-support",
        outcome: "succeeded",
        reason: "requested_by_customer",
        idempotencyKey: refundKey,
        requestId: refunded.headers.get("apigw-requestid"),
        detail: expect.objectContaining({ amount: 1_000 }),
      }),
    );
    expect(items).toContainEqual(
      expect.objectContaining({ action: "stripe.event", actor: "stripe", outcome: "applied" }),
    );
    expect(items.at(-1)).toMatchObject({
      action: "payment.create",
      actor: "alice",
      outcome: "succeeded",
      idempotencyKey: made.key,
      requestId: made.res.headers.get("apigw-requestid"),
      detail: expect.objectContaining({ amount: 5_000, currency: "eur", paymentIntentId: made.pi }),
    });
    // The client secret the create answered never reaches the trail.
    expect(String(made.res.body.clientSecret)).toContain("_secret_");
    expect(trail.text).not.toContain("_secret_");

    // Pages of two, followed by cursor, are the same trail.
    expect(await allPages(`/api/payments/${made.id}/audit?limit=2`, support)).toEqual(items);

    // History entries name their actors too.
    const read = await stack.call("GET", `/api/payments/${made.id}`, { token: support });
    const history = read.body.history as Record<string, unknown>[];
    expect(history[0]).toMatchObject({ status: "initiated", source: "api", actor: "alice" });
    expect(history.at(-1)).toMatchObject({ source: "stripe", actor: "stripe" });
    // Admins see the refunds, the events and where Stripe shows the PaymentIntent.
    expect(read.body.refunds).toEqual([
      expect.objectContaining({
        amount: 1_000,
        status: "succeeded",
        reason: "requested_by_customer",
      }),
    ]);
    expect((read.body.events as { type: string }[]).map((e) => e.type)).toEqual([
      "payment.initiated",
      "payment.authorized",
      "payment.captured",
      "payment.refunded",
    ]);
    // No publisher runs in this stack: every event is handed to the stream, none parked.
    expect((read.body.events as { delivery: string }[]).map((e) => e.delivery)).toEqual([
      "stream",
      "stream",
      "stream",
      "stream",
    ]);
    expect(read.body.stripeDashboardUrl).toBe(
      `https://dashboard.stripe.com/test/payments/${made.pi}`,
    );
    // The customer sees none of that.
    const own = await stack.call("GET", `/api/payments/${made.id}`, { token: alice });
    expect(own.body).not.toHaveProperty("refunds");
    expect(own.body).not.toHaveProperty("events");
  });

  it("capture and cancel are on record, refusals too", async () => {
    const held = await create(alice, 4_000, "manual");
    await pay(held.pi);
    const captured = await stack.call("POST", `/api/payments/${held.id}/capture`, {
      token: agent,
      body: { amount: 3_000 },
      headers: { "idempotency-key": uniqueId("cap") },
    });
    expect(captured.status).toBe(200);
    const cancel = await stack.call("POST", `/api/payments/${held.id}/cancel`, {
      token: agent,
      headers: { "idempotency-key": uniqueId("cancel") },
    });
    expect(cancel.status).toBe(409);
    const items = (await audit(held.id)).body.items as Record<string, unknown>[];
    expect(items.slice(0, 2)).toEqual([
      expect.objectContaining({
        action: "payment.cancel",
        actor: "agent-007",
        outcome: "refused:payment_not_cancelable",
      }),
      expect.objectContaining({
        action: "payment.capture",
        actor: "agent-007",
        outcome: "succeeded",
        detail: expect.objectContaining({ amount: 3_000 }),
      }),
    ]);
  });

  it("is for admins only, and a payment that is not there is 404", async () => {
    const made = await create();
    for (const token of [alice, agent]) {
      const res = await audit(made.id, token);
      expect(res.status).toBe(403);
      expect(res.body.code).toBe("insufficient_scope");
    }
    expect((await audit("pay_00000000000000000000000000")).status).toBe(404);
    expect((await audit("not-a-payment-id")).status).toBe(404);
    const bad = await audit(made.id, support, "?cursor=eyJwayI6IlBBWU1FTlQjeCJ9");
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([expect.objectContaining({ path: "/cursor" })]);
  });
});

describe("finding payments", () => {
  it("by customer (newest first, paged; only one's own unless admin) and by PaymentIntent", async () => {
    const carol = uniqueId("carol");
    const carolToken = await stack.token(carol, "payments:write payments:read");
    const made = [];
    for (let i = 0; i < 3; i++) made.push(await create(carolToken));
    const listed = await allPages(`/api/payments?customerId=${carol}&limit=2`, support);
    expect(listed.map((p) => p.id)).toEqual(made.map((m) => m.id).reverse());
    const ownList = await allPages(`/api/payments?customerId=${carol}`, carolToken);
    expect(ownList).toHaveLength(3);
    // Another customer asking for carol's payments gets none.
    const other = await stack.call("GET", `/api/payments?customerId=${carol}`, { token: alice });
    expect(other.body).toEqual({ items: [], nextCursor: null });

    // A payment created now has no PaymentIntent → payment item: Stripe's metadata finds it.
    expect(await legacyIntentItem(stack, made[0]?.pi ?? "")).toBeUndefined();
    const byIntent = await stack.call("GET", `/api/payments?stripePaymentIntentId=${made[0]?.pi}`, {
      token: support,
    });
    expect((byIntent.body.items as { id: string }[]).map((p) => p.id)).toEqual([made[0]?.id]);
    const notHers = await stack.call("GET", `/api/payments?stripePaymentIntentId=${made[0]?.pi}`, {
      token: alice,
    });
    expect(notHers.body.items).toEqual([]);
  });

  it("by PaymentIntent: a legacy mapping item still finds its payment; metadata naming another's payment or a PaymentIntent Stripe does not know finds none", async () => {
    const ids = (res: ApiResponse) => (res.body.items as { id: string }[]).map((p) => p.id);
    const search = (pi: string) =>
      stack.call("GET", `/api/payments?stripePaymentIntentId=${pi}`, { token: support });

    // A payment of before 2026-12-07: its item, as an earlier create wrote it. Stripe's metadata
    // made not to name it, so that only the item can find it.
    const legacy = await create();
    await stack.stripe.paymentIntents.update(legacy.pi, { metadata: { payment_id: "" } });
    expect(ids(await search(legacy.pi))).toEqual([]);
    await stack.documentClient.send(
      new PutCommand({
        TableName: tables.payments.name,
        Item: { pk: `INTENT#${legacy.pi}`, sk: "INTENT", type: "intent", paymentId: legacy.id },
      }),
    );
    expect(ids(await search(legacy.pi))).toEqual([legacy.id]);

    // Another PaymentIntent on the account whose metadata claims one of our payments.
    const victim = await create();
    const forged = await stack.stripe.paymentIntents.create({
      amount: 5_000,
      currency: "eur",
      metadata: { payment_id: victim.id, order_id: "whatever", customer_id: "alice" },
    });
    const res = await search(forged.id);
    expect(res.status).toBe(200);
    expect(ids(res)).toEqual([]);
    expect(ids(await search(victim.pi))).toEqual([victim.id]);

    const unknown = await search("pi_nobodyknowsthisone");
    expect(unknown.status).toBe(200);
    expect(unknown.body).toEqual({ items: [], nextCursor: null });
  });

  it("the recent list by status and time, newest first, with no scan", async () => {
    const from = new Date().toISOString();
    const failed = await create();
    await pay(failed.pi, "pm_card_chargeDeclined");
    const waiting = await create();
    const ok = await create();
    await pay(ok.pi);
    const to = new Date().toISOString();

    const idsOf = (items: Record<string, unknown>[]) => items.map((p) => String(p.id));
    const failedNow = idsOf(
      await allPages(`/api/payments?status=failed&from=${from}&to=${to}&limit=3`, support),
    );
    expect(failedNow).toContain(failed.id);
    expect(failedNow).not.toContain(waiting.id);
    const initiated = idsOf(await allPages(`/api/payments?status=initiated&from=${from}`, support));
    expect(initiated).toContain(waiting.id);
    expect(initiated).not.toContain(ok.id);
    // "Waiting for more than an hour": none of these yet.
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    const stale = idsOf(
      await allPages(`/api/payments?status=initiated&to=${hourAgo}&limit=100`, support),
    );
    expect(stale).not.toContain(waiting.id);
    // All statuses, paged by two: ours in the order they entered their status, newest first.
    const all = idsOf(await allPages(`/api/payments?from=${from}&to=${to}&limit=2`, support));
    const ours = all.filter((id) => [failed.id, waiting.id, ok.id].includes(id));
    expect(ours).toEqual([ok.id, waiting.id, failed.id]);
    expect(new Set(all).size).toBe(all.length);

    for (const token of [alice, agent]) {
      expect((await stack.call("GET", "/api/payments?status=failed", { token })).status).toBe(403);
    }
    const backwards = await stack.call("GET", `/api/payments?from=${to}&to=${from}`, {
      token: support,
    });
    expect(backwards.status).toBe(400);
  });
});

describe("re-check with Stripe now", () => {
  it("applies what Stripe knows at once, names the agent, and is audited even when nothing changed", async () => {
    const made = await create();
    // The webhooks are lost: only a look at Stripe can tell.
    stack.simulator.setWebhookBehaviour({ mode: "drop" });
    try {
      await pay(made.pi);
    } finally {
      stack.simulator.setWebhookBehaviour({ mode: "normal" });
    }
    expect((await stack.repository.get(made.id))?.status).toBe("initiated");

    const denied = await stack.call("POST", `/api/payments/${made.id}/reconcile`, { token: alice });
    expect(denied.status).toBe(403);
    const res = await stack.call("POST", `/api/payments/${made.id}/reconcile`, { token: agent });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "captured", amountCaptured: 5_000 });
    expect((res.body.history as Record<string, unknown>[]).at(-1)).toMatchObject({
      source: "reconciliation",
      actor: "agent-007",
    });
    const again = await stack.call("POST", `/api/payments/${made.id}/reconcile`, { token: agent });
    expect(again.status).toBe(200);
    const items = (await audit(made.id)).body.items as Record<string, unknown>[];
    expect(items.slice(0, 2)).toEqual([
      expect.objectContaining({
        action: "payment.reconcile",
        actor: "agent-007",
        outcome: "unchanged",
      }),
      expect.objectContaining({
        action: "payment.reconcile",
        actor: "agent-007",
        outcome: "applied",
      }),
    ]);
    const missing = await stack.call(
      "POST",
      "/api/payments/pay_00000000000000000000000000/reconcile",
      {
        token: agent,
      },
    );
    expect(missing.status).toBe(404);
  });
});
