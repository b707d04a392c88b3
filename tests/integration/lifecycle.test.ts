/**
 * The payment lifecycle end to end: the API, the customer's confirmation at the simulator with
 * Stripe's test cards, and the simulator's signed webhooks to the service, including duplicated,
 * reordered and dropped deliveries, and reconciliation for what never arrives.
 */
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { tables } from "../../infra/tables.js";
import { readOutboxItem } from "../../lib/adapters/dynamo-codecs.js";
import type { OutboxEventRecord } from "../../lib/domain/outbox.js";
import type { ChangePlan, PaymentRepository } from "../../lib/ports.js";
import { type Stack, startStack, uniqueId } from "../support/stack.js";
import { scaled } from "../support/time.js";

let stack: Stack;
let alice: string;
let ops: string;
let reconcile: () => Promise<{
  looked: number;
  changed: number;
  refundsReleased: number;
  failed: number;
}>;

beforeAll(async () => {
  // Reconciliation looks at anything open at once, so a test can run it right away.
  stack = await startStack({ env: { RECONCILE_AFTER_SECONDS: "0" } });
  alice = await stack.token("alice", "payments:write payments:read");
  ops = await stack.token("ops", "payments:refund payments:admin");
  const mod = await import("../../functions/reconcile.js");
  reconcile = mod.handler;
});
afterEach(async () => {
  stack.simulator.setWebhookBehaviour({ mode: "normal" });
  await stack.simulator.drainWebhooks();
});
afterAll(async () => {
  await stack?.close();
});

async function create(captureMethod: "automatic" | "manual" = "automatic", amount = 10_000) {
  const res = await stack.call("POST", "/api/payments/intents", {
    token: alice,
    body: { orderId: uniqueId("order"), amount, currency: "usd", captureMethod },
    headers: { "idempotency-key": uniqueId("key") },
  });
  expect(res.status).toBe(201);
  return { id: String(res.body.id), pi: String(res.body.stripePaymentIntentId) };
}

async function confirm(pi: string, paymentMethod: string) {
  try {
    await stack.stripe.paymentIntents.confirm(pi, { payment_method: paymentMethod });
  } catch (error) {
    // Declines come back as card errors; the webhooks carry them to the service.
    if (!(error instanceof Error && "type" in error && error.type === "StripeCardError"))
      throw error;
  }
  await stack.simulator.drainWebhooks();
}

const read = async (id: string, token = alice) =>
  (await stack.call("GET", `/api/payments/${id}`, { token })).body;
const historyOf = async (id: string) =>
  (await read(id, ops)).history as { status: string; source: string }[];

/** The payment's outgoing events (their envelopes), in the order they were written (every page). */
async function outboxEvents(id: string): Promise<OutboxEventRecord[]> {
  const events: OutboxEventRecord[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await stack.documentClient.send(
      new QueryCommand({
        TableName: tables.payments.name,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :o)",
        ExpressionAttributeValues: { ":pk": `PAYMENT#${id}`, ":o": "OUTBOX#" },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    for (const found of page.Items ?? []) events.push(...(readOutboxItem(found)?.events ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return events;
}

const outboxTypes = async (id: string): Promise<string[]> =>
  (await outboxEvents(id)).map((e) => e.type);

const post = (path: string, body: unknown = {}) =>
  stack.call("POST", path, { token: ops, body, headers: { "idempotency-key": uniqueId("op") } });

describe("automatic capture", () => {
  it("a good card: initiated -> authorized -> captured, one event each", async () => {
    const { id, pi } = await create();
    await confirm(pi, "pm_card_visa");
    const payment = await read(id);
    expect(payment).toMatchObject({
      status: "captured",
      amountCaptured: 10_000,
      amountRefunded: 0,
    });
    expect(payment.clientSecret).toBeUndefined();
    expect((await historyOf(id)).map((h) => `${h.status}:${h.source}`)).toEqual([
      "initiated:api",
      "authorized:stripe",
      "captured:stripe",
    ]);
    expect(await outboxTypes(id)).toEqual([
      "payment.initiated",
      "payment.authorized",
      "payment.captured",
    ]);
  });

  it.each([
    ["pm_card_chargeDeclined", "generic_decline"],
    ["pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"],
    ["pm_card_chargeDeclinedExpiredCard", "expired_card"],
  ])("%s: failed with decline code %s, then a good card captures it", async (card, code) => {
    const { id, pi } = await create();
    await confirm(pi, card);
    const failed = await read(id);
    expect(failed).toMatchObject({ status: "failed", failureCode: code });
    expect(String(failed.failureMessage).length).toBeGreaterThan(0);
    // Still the customer's to pay: the owner sees the client secret again.
    expect(String(failed.clientSecret)).toMatch(/_secret_/);

    await confirm(pi, "pm_card_visa");
    expect(await read(id)).toMatchObject({ status: "captured" });
    expect(await outboxTypes(id)).toEqual([
      "payment.initiated",
      "payment.failed",
      "payment.authorized",
      "payment.captured",
    ]);
  });
});

/** The customer's 3-D Secure answer, through the simulator's control API; then the webhooks. */
async function authenticate(pi: string, outcome: "succeed" | "fail") {
  const res = await fetch(`${stack.simulator.url}/_simulator/payment_intents/${pi}/authenticate`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ outcome }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  await stack.simulator.drainWebhooks();
}

describe("3-D Secure", () => {
  it.each(["pm_card_threeDSecure2Required", "pm_card_authenticationRequired"])(
    "%s: requires_action (the owner keeps the client secret), then captured once authenticated",
    async (card) => {
      const { id, pi } = await create();
      await confirm(pi, card);
      const waiting = await read(id);
      expect(waiting.status).toBe("requires_action");
      expect(String(waiting.clientSecret)).toMatch(/_secret_/);
      expect((await read(id, ops)).clientSecret).toBeUndefined();
      await authenticate(pi, "succeed");
      expect(await read(id)).toMatchObject({ status: "captured", amountCaptured: 10_000 });
      expect((await historyOf(id)).map((h) => `${h.status}:${h.source}`)).toEqual([
        "initiated:api",
        "requires_action:stripe",
        "authorized:stripe",
        "captured:stripe",
      ]);
      expect(await outboxTypes(id)).toEqual([
        "payment.initiated",
        "payment.authorized",
        "payment.captured",
      ]);
    },
  );

  it("manual capture: authorized after authentication, then captured", async () => {
    const { id, pi } = await create("manual");
    await confirm(pi, "pm_card_threeDSecure2Required");
    expect((await read(id)).status).toBe("requires_action");
    await authenticate(pi, "succeed");
    expect(await read(id)).toMatchObject({ status: "authorized" });
    expect((await post(`/api/payments/${id}/capture`)).status).toBe(200);
    await stack.simulator.drainWebhooks();
    expect(await read(id)).toMatchObject({ status: "captured" });
  });

  it("a failed authentication: failed with Stripe's code, and the customer may pay again", async () => {
    const { id, pi } = await create();
    await confirm(pi, "pm_card_threeDSecure2Required");
    await authenticate(pi, "fail");
    const failed = await read(id);
    expect(failed).toMatchObject({
      status: "failed",
      failureCode: "payment_intent_authentication_failure",
    });
    expect(String(failed.clientSecret)).toMatch(/_secret_/);
    await confirm(pi, "pm_card_visa");
    expect((await read(id)).status).toBe("captured");
    expect(await outboxTypes(id)).toEqual([
      "payment.initiated",
      "payment.failed",
      "payment.authorized",
      "payment.captured",
    ]);
  });

  it("with every webhook dropped, reconciliation finds requires_action, then the capture", async () => {
    const { id, pi } = await create();
    stack.simulator.setWebhookBehaviour({ mode: "drop" });
    await confirm(pi, "pm_card_authenticationRequired");
    expect((await read(id)).status).toBe("initiated");
    expect((await reconcile()).failed).toBe(0);
    expect((await read(id)).status).toBe("requires_action");
    await authenticate(pi, "succeed");
    expect((await read(id)).status).toBe("requires_action");
    expect((await reconcile()).failed).toBe(0);
    expect((await read(id)).status).toBe("captured");
    expect((await historyOf(id)).map((h) => `${h.status}:${h.source}`)).toEqual([
      "initiated:api",
      "requires_action:reconciliation",
      "authorized:reconciliation",
      "captured:reconciliation",
    ]);
  });

  it.each(["fifo", "reverse"] as const)(
    "a decline, then an authentication that fails, delivered %s: failed with the authentication's code",
    async (order) => {
      const { id, pi } = await create();
      stack.simulator.setWebhookBehaviour({ mode: "hold" });
      await confirm(pi, "pm_card_chargeDeclined");
      await stack.stripe.paymentIntents.confirm(pi, {
        payment_method: "pm_card_threeDSecure2Required",
      });
      await authenticate(pi, "fail");
      // payment_failed, requires_action, payment_failed
      expect(stack.simulator.releaseWebhooks(order)).toBe(3);
      await stack.simulator.drainWebhooks();
      expect(await read(id)).toMatchObject({
        status: "failed",
        failureCode: "payment_intent_authentication_failure",
      });
    },
  );

  it("a capture or a second authentication of a PaymentIntent that is not waiting is refused", async () => {
    const { id, pi } = await create("manual");
    await confirm(pi, "pm_card_threeDSecure2Required");
    // Waiting for the customer: nothing to capture yet (Stripe is asked first).
    expect((await post(`/api/payments/${id}/capture`)).status).toBe(409);
    await authenticate(pi, "succeed");
    const again = await fetch(
      `${stack.simulator.url}/_simulator/payment_intents/${pi}/authenticate`,
      { method: "POST", body: "{}" },
    );
    expect(again.status).toBe(400);
  });
});

/** The dispute Stripe opened on the PaymentIntent's charge (test card pm_card_createDispute). */
function disputeOf(pi: string) {
  const found = stack.simulator.disputes().find((d) => d.payment_intent === pi);
  if (found === undefined) throw new Error(`no dispute for ${pi}`);
  return found;
}

async function closeDispute(disputeId: string, outcome: "won" | "lost") {
  const res = await fetch(`${stack.simulator.url}/_simulator/disputes/${disputeId}/close`, {
    method: "POST",
    body: JSON.stringify({ outcome }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  await stack.simulator.drainWebhooks();
}

describe("disputes", () => {
  it("a chargeback: disputed (status stays), refunds refused while open, followed to won, closed once", async () => {
    const { id, pi } = await create();
    await confirm(pi, "pm_card_createDispute");
    const dispute = disputeOf(pi);
    expect(await read(id)).toMatchObject({
      status: "captured",
      dispute: {
        id: dispute.id,
        status: "needs_response",
        reason: "fraudulent",
        amount: 10_000,
        blocksRefunds: true,
      },
    });
    const refused = await post(`/api/payments/${id}/refund`, { amount: 1_000 });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe("payment_disputed");
    expect((await read(id, ops)).refunds).toEqual([]);

    // Evidence through Stripe's own API (the SDK), then the network decides.
    await stack.stripe.disputes.update(dispute.id, {
      evidence: { uncategorized_text: "Delivered, signed for." },
      submit: true,
    });
    await stack.simulator.drainWebhooks();
    expect((await read(id)).dispute).toMatchObject({ status: "under_review" });
    await closeDispute(dispute.id, "won");
    expect(await read(id)).toMatchObject({
      status: "captured",
      dispute: { status: "won", blocksRefunds: false },
    });
    expect(await outboxTypes(id)).toEqual([
      "payment.initiated",
      "payment.authorized",
      "payment.captured",
      "payment.disputed",
      "payment.dispute_closed",
    ]);
    const events = await outboxEvents(id);
    expect(events.at(-1)).toMatchObject({
      data: { dispute: { id: dispute.id, status: "won", reason: "fraudulent", amount: 10_000 } },
    });
    expect(
      (await historyOf(id)).map((h) => `${h.status}:${String(Reflect.get(h, "dispute"))}`),
    ).toEqual([
      "initiated:undefined",
      "authorized:undefined",
      "captured:undefined",
      "captured:needs_response",
      "captured:won",
    ]);
    // Decided: refunds are possible again.
    expect((await post(`/api/payments/${id}/refund`, { amount: 1_000 })).status).toBe(202);
  });

  it("a refund asked before the dispute's webhook arrives: Stripe's charge_disputed is 409 payment_disputed, nothing held", async () => {
    const { id, pi } = await create();
    stack.simulator.setWebhookBehaviour({ mode: "hold", only: ["charge.dispute.*"] });
    await confirm(pi, "pm_card_createDispute");
    expect(await read(id)).toMatchObject({ status: "captured" });
    expect((await read(id)).dispute).toBeUndefined();
    const refused = await post(`/api/payments/${id}/refund`, { amount: 1_000 });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe("payment_disputed");
    const after = await read(id, ops);
    expect(after).toMatchObject({ amountRefunded: 0 });
    expect(after.refunds).toMatchObject([{ status: "failed" }]);
    stack.simulator.releaseWebhooks();
    await stack.simulator.drainWebhooks();
    expect((await read(id)).dispute).toMatchObject({ status: "needs_response" });
  });

  it("dispute events held and delivered in reverse, each twice: the same end, each event once", async () => {
    const { id, pi } = await create();
    await confirm(pi, "pm_card_createDispute");
    const dispute = disputeOf(pi);
    stack.simulator.setWebhookBehaviour({ mode: "hold" });
    await stack.stripe.disputes.update(dispute.id, { submit: true });
    stack.simulator.closeDispute(dispute.id, "lost");
    stack.simulator.setWebhookBehaviour({ mode: "duplicate" });
    expect(stack.simulator.releaseWebhooks("reverse")).toBeGreaterThanOrEqual(2);
    await stack.simulator.drainWebhooks();
    expect(await read(id)).toMatchObject({
      status: "captured",
      dispute: { status: "lost", blocksRefunds: true },
    });
    // Lost: the cardholder has the money back, so no refund on top.
    const refused = await post(`/api/payments/${id}/refund`, { amount: 1_000 });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe("payment_disputed");
    const types = await outboxTypes(id);
    expect(types.filter((t) => t === "payment.disputed")).toHaveLength(1);
    expect(types.filter((t) => t === "payment.dispute_closed")).toHaveLength(1);
  });
});

describe("manual capture", () => {
  it("authorized, then a partial capture", async () => {
    const { id, pi } = await create("manual");
    await confirm(pi, "pm_card_mastercard");
    expect((await read(id)).status).toBe("authorized");
    const tooMuch = await post(`/api/payments/${id}/capture`, { amount: 10_001 });
    expect(tooMuch.status).toBe(422);
    expect(tooMuch.body).toMatchObject({ code: "capture_exceeds_authorized", authorized: 10_000 });

    const captured = await post(`/api/payments/${id}/capture`, { amount: 6_000 });
    expect(captured.status).toBe(200);
    expect(captured.body.status).toBe("captured");
    await stack.simulator.drainWebhooks();
    // A partial capture shows before any refund does.
    expect(await read(id)).toMatchObject({
      amount: 10_000,
      amountCaptured: 6_000,
      amountRefunded: 0,
    });
    expect((await historyOf(id)).map((h) => h.status)).toEqual([
      "initiated",
      "authorized",
      "captured",
    ]);
    expect(await outboxTypes(id)).toEqual([
      "payment.initiated",
      "payment.authorized",
      "payment.captured",
    ]);
    // Only what was captured can be refunded.
    const refund = await post(`/api/payments/${id}/refund`, { amount: 6_001 });
    expect(refund.body).toMatchObject({ code: "refund_exceeds_remaining", remaining: 6_000 });
  });

  it("capture is refused for a payment that is not authorized", async () => {
    const { id } = await create("manual");
    const res = await post(`/api/payments/${id}/capture`);
    expect(res.status).toBe(409);
    expect(res.body.code).toBe("payment_not_capturable");
  });

  it("cancel releases an authorized payment; canceled is final", async () => {
    const { id, pi } = await create("manual");
    await confirm(pi, "pm_card_visa");
    const res = await post(`/api/payments/${id}/cancel`);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe("canceled");
    await stack.simulator.drainWebhooks();
    expect((await historyOf(id)).map((h) => h.status)).toEqual([
      "initiated",
      "authorized",
      "canceled",
    ]);
    const again = await post(`/api/payments/${id}/cancel`);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe("payment_not_cancelable");
    const capture = await post(`/api/payments/${id}/capture`);
    expect(capture.body.code).toBe("payment_not_capturable");
  });

  it("cancel is refused for a captured payment", async () => {
    const { id, pi } = await create();
    await confirm(pi, "pm_card_visa");
    const res = await post(`/api/payments/${id}/cancel`);
    expect(res.status).toBe(409);
    expect(res.body.code).toBe("payment_not_cancelable");
  });
});

describe("refunds settled by Stripe", () => {
  it("a refund that Stripe later fails gives its amount back", async () => {
    const { id, pi } = await create();
    await confirm(pi, "pm_card_refundFail");
    expect((await read(id)).status).toBe("captured");
    const refund = await post(`/api/payments/${id}/refund`, { amount: 4_000 });
    expect(refund.status).toBe(202);
    await stack.simulator.drainWebhooks();
    const payment = await stack.repository.get(id);
    expect(payment).toMatchObject({
      status: "captured",
      amountRefunded: 0,
      amountRefundPending: 0,
    });
    expect(await outboxTypes(id)).not.toContain("payment.refunded");
    // All of it can be refunded again.
    const again = await post(`/api/payments/${id}/refund`, { amount: 10_001 });
    expect(again.body).toMatchObject({ code: "refund_exceeds_remaining", remaining: 10_000 });
  });
});

describe("webhooks late, twice, out of order", () => {
  it("every event delivered twice: the same outcome, nothing recorded twice", async () => {
    stack.simulator.setWebhookBehaviour({ mode: "duplicate" });
    const { id, pi } = await create();
    await confirm(pi, "pm_card_chargeDeclined");
    await confirm(pi, "pm_card_visa");
    await post(`/api/payments/${id}/refund`, { amount: 2_500 });
    await stack.simulator.drainWebhooks();
    expect(await read(id, ops)).toMatchObject({
      status: "partially_refunded",
      amountRefunded: 2_500,
    });
    expect(await outboxTypes(id)).toEqual([
      "payment.initiated",
      "payment.failed",
      "payment.authorized",
      "payment.captured",
      "payment.refunded",
    ]);
  });

  it("a held batch delivered in reverse order ends in the same state", async () => {
    const { id, pi } = await create();
    stack.simulator.setWebhookBehaviour({ mode: "hold" });
    try {
      await stack.stripe.paymentIntents.confirm(pi, { payment_method: "pm_card_chargeDeclined" });
    } catch {
      // declined, as intended
    }
    await stack.stripe.paymentIntents.confirm(pi, { payment_method: "pm_card_visa" });
    await stack.stripe.refunds.create({ payment_intent: pi, amount: 10_000 });
    const released = stack.simulator.releaseWebhooks("reverse");
    // Of the subscribed types: payment_failed, succeeded, charge.refunded.
    expect(released).toBe(3);
    await stack.simulator.drainWebhooks();
    const payment = await read(id, ops);
    expect(payment).toMatchObject({ status: "refunded", amountRefunded: 10_000 });
    // The late decline never moved it back; refunded is final.
    expect(await outboxTypes(id)).not.toContain("payment.failed");
    expect((await outboxTypes(id)).filter((t) => t === "payment.captured")).toHaveLength(1);
  });
});

describe("reconciliation", () => {
  it("a payment whose webhooks were all dropped is brought up to date from Stripe", async () => {
    const { id, pi } = await create();
    stack.simulator.setWebhookBehaviour({ mode: "drop" });
    await confirm(pi, "pm_card_visa");
    expect((await read(id)).status).toBe("initiated");
    stack.simulator.setWebhookBehaviour({ mode: "normal" });

    const summary = await reconcile();
    expect(summary.failed).toBe(0);
    expect(summary.changed).toBeGreaterThanOrEqual(1);
    expect(await read(id)).toMatchObject({ status: "captured" });
    expect((await historyOf(id)).map((h) => `${h.status}:${h.source}`)).toEqual([
      "initiated:api",
      "authorized:reconciliation",
      "captured:reconciliation",
    ]);
    // Settled: no longer on reconciliation's list, and the late webhook changes nothing.
    expect(
      await stack.repository.dueForReconciliation(
        new Date(Date.now() + 86_400_000 * 2).toISOString(),
        1000,
      ),
    ).not.toContain(id);
  });

  it.each([
    ["a declined card", false],
    ["a failed 3-D Secure authentication (no charge to name it)", true],
  ])("looking again at a failed payment publishes nothing new: %s", async (_, threeDSecure) => {
    const { id, pi } = await create();
    if (threeDSecure) {
      await confirm(pi, "pm_card_threeDSecure2Required");
      await authenticate(pi, "fail");
    } else {
      await confirm(pi, "pm_card_chargeDeclinedInsufficientFunds");
    }
    expect((await read(id)).status).toBe("failed");
    for (let look = 0; look < 3; look++) {
      const summary = await reconcile();
      expect(summary.failed).toBe(0);
    }
    expect(await outboxTypes(id)).toEqual(["payment.initiated", "payment.failed"]);
    expect((await historyOf(id)).map((h) => h.status)).toEqual(
      threeDSecure ? ["initiated", "requires_action", "failed"] : ["initiated", "failed"],
    );
  });

  it("a refund whose webhooks were dropped is settled from Stripe's refund list", async () => {
    const { id, pi } = await create();
    await confirm(pi, "pm_card_visa");
    stack.simulator.setWebhookBehaviour({ mode: "drop" });
    expect((await post(`/api/payments/${id}/refund`, { amount: 3_000 })).status).toBe(202);
    await stack.simulator.drainWebhooks();
    expect(await stack.repository.get(id)).toMatchObject({
      amountRefundPending: 3_000,
      amountRefunded: 0,
    });
    stack.simulator.setWebhookBehaviour({ mode: "normal" });
    await reconcile();
    expect(await stack.repository.get(id)).toMatchObject({
      status: "partially_refunded",
      amountRefundPending: 0,
      amountRefunded: 3_000,
    });
    expect(await outboxTypes(id)).toContain("payment.refunded");
  });
});

describe("reconciliation limits", () => {
  const REFUNDS = 100;

  /** A captured payment of 10,000 and REFUNDS refunds of 100 through the API, webhooks dropped. */
  async function refundedWithoutWebhooks(): Promise<{
    id: string;
    pi: string;
    refundIds: string[];
  }> {
    const { id, pi } = await create();
    await confirm(pi, "pm_card_visa");
    stack.simulator.setWebhookBehaviour({ mode: "drop" });
    const refundIds: string[] = [];
    for (let n = 0; n < REFUNDS; n++) {
      const res = await post(`/api/payments/${id}/refund`, { amount: 100 });
      expect(res.status).toBe(202);
      refundIds.push(String(res.body.id));
    }
    await stack.simulator.drainWebhooks();
    stack.simulator.setWebhookBehaviour({ mode: "normal" });
    expect(await stack.repository.get(id)).toMatchObject({
      status: "captured",
      amountRefunded: 0,
      amountRefundPending: 10_000,
    });
    return { id, pi, refundIds };
  }

  /** Every refund settled once: one payment.refunded event and one history entry each. */
  async function expectSettledOnce(id: string, refundIds: string[], source: string) {
    expect(await stack.repository.get(id)).toMatchObject({
      status: "refunded",
      amountRefunded: 10_000,
      amountRefundPending: 0,
    });
    const refunded = (await outboxEvents(id)).filter((e) => e.type === "payment.refunded");
    const data = refunded.map((e) => e.data as Record<string, unknown>);
    expect(data.map((d) => d.refundId).sort()).toEqual([...refundIds].sort());
    // Each event tells a true state: the amount refunded grows by one refund at a time.
    expect(data.map((d) => d.amountRefunded)).toEqual(
      Array.from({ length: REFUNDS }, (_, n) => (n + 1) * 100),
    );
    const settled = (await historyOf(id)).filter(
      (h) => h.status === "partially_refunded" || h.status === "refunded",
    );
    expect(settled).toHaveLength(REFUNDS);
    expect(settled.every((h) => h.source === source)).toBe(true);
    const records = await stack.repository.listRefunds(id);
    expect(records).toHaveLength(REFUNDS);
    expect(records.every((r) => r.reservation === "settled")).toBe(true);
  }

  it(
    `${REFUNDS} refunds whose webhooks were dropped are all settled by reconciliation, once each`,
    async () => {
      const { id, refundIds } = await refundedWithoutWebhooks();
      // Other payments may be due first: run until this one is settled (each run takes 100).
      for (let run = 0; run < 10; run++) {
        await reconcile();
        if ((await stack.repository.get(id))?.amountRefundPending === 0) break;
      }
      await expectSettledOnce(id, refundIds, "reconciliation");
      const events = (await outboxEvents(id)).length;
      await reconcile();
      expect((await outboxEvents(id)).length).toBe(events);
    },
    scaled(180_000),
  );

  it(
    `a re-sent charge.refunded settles ${REFUNDS} dropped refunds, once each`,
    async () => {
      const { id, pi, refundIds } = await refundedWithoutWebhooks();
      const chargeRefunded = stack.simulator
        .events()
        .filter(
          (e) =>
            e.type === "charge.refunded" &&
            (e.data.object as { payment_intent?: unknown }).payment_intent === pi,
        );
      expect(chargeRefunded).toHaveLength(REFUNDS);
      const resend = async (eventId: string) => {
        const res = await fetch(`${stack.simulator.url}/_simulator/events/${eventId}/resend`, {
          method: "POST",
        });
        expect(res.status).toBe(200);
        await stack.simulator.drainWebhooks();
        return stack.simulator.webhookDeliveries().filter((d) => d.eventId === eventId);
      };
      const first = chargeRefunded[0]?.id ?? "";
      const last = chargeRefunded[REFUNDS - 1]?.id ?? "";
      const deliveries = await resend(first);
      expect(deliveries.map((d) => d.status)).toEqual([200]);
      await expectSettledOnce(id, refundIds, "stripe");

      // Another of them, and the first again: nothing settles twice.
      const events = (await outboxEvents(id)).length;
      expect((await resend(last)).map((d) => d.status)).toEqual([200]);
      expect((await resend(first)).map((d) => d.status)).toEqual([200, 200]);
      expect((await outboxEvents(id)).length).toBe(events);
    },
    scaled(180_000),
  );

  it(
    `a charge.refunded that stops between the writes of its ${REFUNDS} refunds finishes when delivered again, once each`,
    async () => {
      const { id, pi, refundIds } = await refundedWithoutWebhooks();
      const event = stack.simulator
        .events()
        .find(
          (e) =>
            e.type === "charge.refunded" &&
            (e.data.object as { payment_intent?: unknown }).payment_intent === pi,
        );
      if (event === undefined) throw new Error("no charge.refunded");
      const { noticeOf } = await import("../../lib/adapters/stripe-events.js");
      const { handleStripeEvent } = await import("../../lib/use-cases/handle-stripe-event.js");
      const runtime = await import("../../lib/runtime/storage.js");
      const stripe = await import("../../lib/runtime/stripe.js");
      const notice = noticeOf(event);
      if (notice === undefined) throw new Error("charge.refunded is not a notice");
      // The function dies after the first of the writes the refunds take (one transaction holds
      // at most 100 items): the real repository, whose second applyChange never happens.
      const real = runtime.repository;
      let writes = 0;
      const dying: PaymentRepository = Object.assign(Object.create(real), {
        applyChange: async (plan: ChangePlan) => {
          writes++;
          if (writes > 1) throw new Error("the function died between two writes");
          return real.applyChange(plan);
        },
      });
      await expect(
        handleStripeEvent(
          { repository: dying, provider: stripe.provider, clock: runtime.clock },
          notice,
        ),
      ).rejects.toThrow(/died/);
      const partly = await stack.repository.get(id);
      expect(partly?.amountRefunded).toBeGreaterThan(0);
      expect(partly?.amountRefunded).toBeLessThan(10_000);
      // Not recorded as applied: the event id goes with the last write only.
      expect(partly?.appliedStripeEvents ?? []).not.toContain(event.id);

      // Stripe delivers it again (the webhook answered nothing): the rest settles, once each.
      const res = await fetch(`${stack.simulator.url}/_simulator/events/${event.id}/resend`, {
        method: "POST",
      });
      expect(res.status).toBe(200);
      await stack.simulator.drainWebhooks();
      await expectSettledOnce(id, refundIds, "stripe");
      expect((await stack.repository.get(id))?.appliedStripeEvents).toContain(event.id);
    },
    scaled(180_000),
  );
});

describe("abandoned checkouts", () => {
  const HOUR = 3_600_000;
  /** One reconciliation run as the scheduled one does it, at `createdAt + hours`. */
  async function reconcileAt(
    createdAt: string,
    hours: number,
    provider?: import("../../lib/ports.js").PaymentProvider,
  ) {
    const runtime = await import("../../lib/runtime/storage.js");
    const stripe = await import("../../lib/runtime/stripe.js");
    const { reconcile: run } = await import("../../lib/use-cases/reconcile.js");
    const at = new Date(Date.parse(createdAt) + hours * HOUR).toISOString();
    return await run(
      {
        repository: runtime.repository,
        provider: provider ?? stripe.provider,
        clock: { now: () => at },
      },
      { afterSeconds: runtime.storageConfig.RECONCILE_AFTER_SECONDS, limit: 1000 },
    );
  }
  const createdAt = async (id: string) => String((await read(id)).createdAt);
  const due = (at: string) => stack.repository.dueForReconciliation(at, 1000);

  it.each([
    ["initiated", undefined],
    ["failed", "pm_card_chargeDeclined"],
  ])("%s payment, unpaid for 24 h: canceled at Stripe as abandoned", async (status, card) => {
    const { id, pi } = await create();
    if (card !== undefined) await confirm(pi, card);
    const created = await createdAt(id);
    expect((await read(id)).status).toBe(status);

    // Within the window: left as it is, and looked at again when the window closes.
    await reconcileAt(created, 23);
    expect((await read(id)).status).toBe(status);
    const closes = new Date(Date.parse(created) + 24 * HOUR).toISOString();
    expect(await due(new Date(Date.parse(closes) - 1000).toISOString())).not.toContain(id);
    expect(await due(closes)).toContain(id);

    const summary = await reconcileAt(created, 24);
    expect(summary.abandoned).toBeGreaterThanOrEqual(1);
    const intent = await stack.stripe.paymentIntents.retrieve(pi);
    expect(intent).toMatchObject({ status: "canceled", cancellation_reason: "abandoned" });
    expect(await read(id, ops)).toMatchObject({ status: "canceled" });
    expect((await historyOf(id)).at(-1)).toEqual(
      expect.objectContaining({ status: "canceled", source: "reconciliation" }),
    );
    // Canceled is final: off the list for good, and the customer can no longer pay.
    expect(await due(new Date(Date.parse(created) + 30 * 24 * HOUR).toISOString())).not.toContain(
      id,
    );
    await expect(
      stack.stripe.paymentIntents.confirm(pi, { payment_method: "pm_card_visa" }),
    ).rejects.toThrow();
  });

  it("a customer who pays while the cancel is on its way keeps the payment: Stripe's state wins", async () => {
    const { id, pi } = await create();
    const created = await createdAt(id);
    const { StripePaymentProvider } = await import("../../lib/adapters/stripe-payment-provider.js");
    const { stripe } = await import("../../lib/runtime/stripe.js");
    // The customer pays (its webhooks lost) between reconciliation's read and its cancel.
    class CustomerPaysFirst extends StripePaymentProvider {
      override async cancelPaymentIntent(
        paymentIntentId: string,
        idempotencyKey: string,
        reason: "duplicate" | "requested_by_customer" | "abandoned",
      ) {
        stack.simulator.setWebhookBehaviour({ mode: "drop" });
        await confirm(pi, "pm_card_visa");
        stack.simulator.setWebhookBehaviour({ mode: "normal" });
        return await super.cancelPaymentIntent(paymentIntentId, idempotencyKey, reason);
      }
    }
    await reconcileAt(created, 25, new CustomerPaysFirst(stripe));
    expect((await stack.stripe.paymentIntents.retrieve(pi)).status).toBe("succeeded");
    expect(await read(id)).toMatchObject({ status: "captured" });
    expect((await historyOf(id)).map((h) => `${h.status}:${h.source}`)).toEqual([
      "initiated:api",
      "authorized:reconciliation",
      "captured:reconciliation",
    ]);
    expect(await outboxTypes(id)).toEqual([
      "payment.initiated",
      "payment.authorized",
      "payment.captured",
    ]);
  });
});
