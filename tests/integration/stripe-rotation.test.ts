/**
 * Rolling the webhook signing secret while webhooks flow, step by step as README's runbook says,
 * with zero failed deliveries; and the service running on a restricted key (`rk_test_…`) the
 * whole time, as after an API key roll to a restricted key.
 *
 * A "deployment" here is the real webhook function (functions/stripe-webhook.ts's
 * `webhookHandler`, the code the deployed handler is) made with that deployment's
 * STRIPE_WEBHOOK_SECRET, behind a gateway of its own, as a new Lambda version is. The simulator
 * signs as Stripe does during a roll: one `v1` per secret until the old one expires.
 */
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { routes } from "../../infra/routes.js";
import { type Gateway, type LambdaHttpHandler, startGateway } from "../../local/gateway.js";
import { signPayload } from "../../local/stripe-simulator/index.js";
import { type Stack, startStack, uniqueId, WEBHOOK_SECRET } from "../support/stack.js";

const OLD = WEBHOOK_SECRET;
const NEW = "whsec_rolled_secret_for_the_rotation_test";
const RESTRICTED_KEY = "rk_test_restricted_key_for_the_rotation_test";

let stack: Stack;
let alice: string;
let clerk: string;
const deployments: Gateway[] = [];
/** Deliveries each deployment's webhook function answered, by deployment name. */
const answered = new Map<string, number[]>();

beforeAll(async () => {
  stack = await startStack({ env: { STRIPE_SECRET_KEY: RESTRICTED_KEY } });
  // README's restricted key: write access to PaymentIntents and Refunds, nothing else.
  stack.simulator.setRestrictedKey(RESTRICTED_KEY, {
    payment_intents: "write",
    refunds: "write",
  });
  alice = await stack.token("alice", "payments:write payments:read");
  clerk = await stack.token("clerk", "payments:refund payments:read");
});
afterAll(async () => {
  for (const d of deployments) await d.close();
  await stack?.close();
});

/** A new version of the webhook function with these secrets (the value of STRIPE_WEBHOOK_SECRET). */
async function deploy(name: string, secretSetting: string): Promise<string> {
  const { webhookHandler } = await import("../../functions/stripe-webhook.js");
  const { parseWebhookSecrets } = await import("../../lib/adapters/stripe-signature.js");
  const fn = webhookHandler(parseWebhookSecrets(secretSetting));
  const statuses: number[] = [];
  answered.set(name, statuses);
  const handler: LambdaHttpHandler = async (event, context) => {
    const result: unknown = await fn(event, context);
    const status =
      typeof result === "object" && result !== null && "statusCode" in result
        ? Number(result.statusCode)
        : 0;
    statuses.push(status);
    return result;
  };
  const gateway = await startGateway({
    port: 0,
    routes: routes.filter((r) => r.handler === "stripe-webhook"),
    verifyToken: async () => undefined,
    loadHandler: async () => handler,
  });
  deployments.push(gateway);
  return `${gateway.url}/api/webhooks/stripe`;
}

/** `n` customers paying at once (create, then confirm at Stripe); answers the payment ids. */
function payments(n: number): Promise<string[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const res = await stack.call("POST", "/api/payments/intents", {
        token: alice,
        body: { orderId: uniqueId("order"), amount: 2_000, currency: "eur" },
        headers: { "idempotency-key": uniqueId("key") },
      });
      expect(res.status, res.text).toBe(201);
      await stack.stripe.paymentIntents.confirm(String(res.body.stripePaymentIntentId), {
        payment_method: "pm_card_visa",
      });
      return String(res.body.id);
    }),
  );
}

describe("rolling the webhook secret (README: Operations, rolling the webhook secret)", () => {
  it("keeps every delivery accepted through each step, with payments and webhooks in flight at every switch", async () => {
    const paid: string[] = [];

    // Before: the endpoint signs with the old secret; the service has the old one.
    const first = await deploy("before", OLD);
    stack.simulator.setWebhookUrl(first);
    paid.push(...(await payments(3)));

    // Step 1: roll the secret at Stripe with the old one kept for a while: two signatures.
    let inFlight = payments(4);
    stack.simulator.setWebhookSecrets([NEW, OLD]);
    paid.push(...(await inFlight));

    // Step 2: deploy STRIPE_WEBHOOK_SECRET=new,old; deliveries move to the new version while
    // the old version still answers those it has.
    const second = await deploy("new,old", `${NEW},${OLD}`);
    inFlight = payments(4);
    stack.simulator.setWebhookUrl(second);
    paid.push(...(await inFlight));

    // Step 3: the old secret expires at Stripe: the new signature alone.
    inFlight = payments(4);
    stack.simulator.setWebhookSecrets([NEW]);
    paid.push(...(await inFlight));

    // Step 4: deploy STRIPE_WEBHOOK_SECRET=new.
    const third = await deploy("new", NEW);
    inFlight = payments(4);
    stack.simulator.setWebhookUrl(third);
    paid.push(...(await inFlight));
    await stack.simulator.drainWebhooks();

    const deliveries = stack.simulator.webhookDeliveries();
    expect(deliveries.length).toBeGreaterThanOrEqual(paid.length);
    expect(deliveries.filter((d) => !d.ok)).toEqual([]);
    expect(stack.simulator.stats().webhooks.failed).toBe(0);
    // Each version took part, and none of them refused anything.
    for (const name of ["before", "new,old", "new"]) {
      const statuses = answered.get(name) ?? [];
      expect(statuses.length, name).toBeGreaterThan(0);
      expect(new Set(statuses), name).toEqual(new Set([200]));
    }
    for (const id of paid) {
      const res = await stack.call("GET", `/api/payments/${id}`, { token: alice });
      expect(res.body.status, id).toBe("captured");
    }

    // The same steps out of order do fail: the old version with the new signature alone, or
    // the last version with the old one.
    const payload = JSON.stringify({ id: uniqueId("evt"), object: "event" });
    const now = Math.floor(Date.now() / 1000);
    for (const [url, secret] of [
      [first, NEW],
      [third, OLD],
    ] as const) {
      const res = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "stripe-signature": signPayload(payload, secret, now),
        },
        body: payload,
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: "invalid_signature" });
    }
  });

  it("runs on a restricted key with only README's permissions: create, refund, re-check, cancel", async () => {
    const [id] = await payments(1);
    await stack.simulator.drainWebhooks();
    const refund = await stack.call("POST", `/api/payments/${id}/refund`, {
      token: clerk,
      body: { amount: 500, reason: "requested_by_customer" },
      headers: { "idempotency-key": uniqueId("refund") },
    });
    expect(refund.status, refund.text).toBe(202);
    await stack.simulator.drainWebhooks();
    const res = await stack.call("GET", `/api/payments/${id}`, { token: alice });
    expect(res.body).toMatchObject({ status: "partially_refunded", amountRefunded: 500 });
    // Reconciliation's reads (the PaymentIntent, its refunds) and a cancel.
    const recheck = await stack.call("POST", `/api/payments/${id}/reconcile`, {
      token: clerk,
      headers: { "idempotency-key": uniqueId("recheck") },
    });
    expect(recheck.status, recheck.text).toBe(200);
    const unpaid = await stack.call("POST", "/api/payments/intents", {
      token: alice,
      body: { orderId: uniqueId("order"), amount: 1_000, currency: "eur" },
      headers: { "idempotency-key": uniqueId("key") },
    });
    const cancel = await stack.call("POST", `/api/payments/${String(unpaid.body.id)}/cancel`, {
      token: clerk,
      body: {},
      headers: { "idempotency-key": uniqueId("cancel") },
    });
    expect(cancel.status, cancel.text).toBe(200);
    // The key is really restricted: anything else is refused, as Stripe does.
    const url = new URL(stack.simulator.url);
    const sdk = new Stripe(RESTRICTED_KEY, {
      host: url.hostname,
      port: Number(url.port),
      protocol: "http",
      maxNetworkRetries: 0,
    });
    await expect(sdk.charges.list()).rejects.toBeInstanceOf(Stripe.errors.StripePermissionError);
    await expect(sdk.webhookEndpoints.list()).rejects.toBeInstanceOf(
      Stripe.errors.StripePermissionError,
    );
  });
});
