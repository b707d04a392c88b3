/**
 * The support console in a real browser (Debian's chromium, headless, driven by playwright-core)
 * against the real gateway, handlers, local DynamoDB and the Stripe simulator: sign in, find a
 * payment by order id, refund part of it with a reason, see the new status, the timeline and the
 * audit entry; a support user without payments:refund sees no Refund and the API refuses it
 * anyway; redrive a dead letter. The payment page's screenshot goes to docs/console-payment.png.
 */
import { existsSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { paymentIdForOrderPlaced } from "../../lib/domain/ids.js";
import { type Stack, startStack, uniqueId } from "../support/stack.js";
import { scaled } from "../support/time.js";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const SCREENSHOT = fileURLToPath(new URL("../../docs/console-payment.png", import.meta.url));

let stack: Stack;
let browser: Browser;
let alice: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no browser at ${CHROMIUM}: install Debian's chromium (apt-get install chromium; npm install does it as root) or set CHROMIUM`,
    );
  }
  stack = await startStack();
  alice = await stack.token("alice", "payments:write payments:read");
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

async function paidPayment(
  amount = 5_000,
  paymentMethod = "pm_card_visa",
): Promise<{ id: string; orderId: string; pi: string }> {
  const orderId = uniqueId("order");
  const res = await stack.call("POST", "/api/payments/intents", {
    token: alice,
    body: { orderId, amount, currency: "eur" },
    headers: { "idempotency-key": uniqueId("key") },
  });
  expect(res.status).toBe(201);
  const pi = String(res.body.stripePaymentIntentId);
  await stack.stripe.paymentIntents.confirm(pi, { payment_method: paymentMethod });
  await stack.simulator.drainWebhooks();
  return { id: String(res.body.id), orderId, pi };
}

async function signIn(sub: string, scopes: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  page.setDefaultTimeout(scaled(10_000));
  await page.goto(`${stack.url}/console/`);
  await page.getByLabel("Subject").fill(sub);
  await page.getByLabel("Scopes").fill(scopes);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByLabel("Search payments").waitFor();
  return page;
}

async function open(page: Page, orderId: string, id: string): Promise<void> {
  await page.getByLabel("Search payments").fill(orderId);
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await page.getByRole("heading", { name: `Payment ${id}` }).waitFor();
}

const text = async (page: Page, field: string) =>
  (await page.locator(`[data-field=${field}]`).textContent()) ?? "";

describe("the support console", () => {
  it("finds a payment by order id, refunds part of it with a reason, and shows it on record", async () => {
    const { id, orderId } = await paidPayment();
    const page = await signIn("sam-support", "payments:admin payments:refund");
    await open(page, orderId, id);
    expect(await text(page, "status")).toBe("captured");
    expect(await text(page, "captured")).toBe("€50.00");

    await page.getByRole("button", { name: "Refund" }).click();
    await page.getByLabel("Amount", { exact: true }).fill("10.00");
    await page.getByLabel("Reason", { exact: true }).selectOption("requested_by_customer");
    // A double click is one attempt: one key, one refund.
    await page.getByRole("button", { name: "Confirm refund" }).dblclick();
    await page.getByRole("dialog").waitFor({ state: "detached" });
    await stack.simulator.drainWebhooks();
    await page.getByRole("button", { name: "Reload" }).click();
    await page.locator("[data-field=status]", { hasText: "partially_refunded" }).waitFor();
    expect(await text(page, "refunded")).toBe("€10.00");
    expect(await text(page, "remaining")).toBe("€40.00");
    await page
      .getByRole("list", { name: "Timeline" })
      .getByText(/partially_refunded · by stripe/)
      .waitFor();
    const audit = page.getByRole("region", { name: "Audit" });
    await audit
      .getByText(/payment\.refund by sam-support · succeeded · requested_by_customer/)
      .waitFor();
    expect(
      stack.simulator.refunds().filter((r) => r.amount === 1_000 && r.metadata?.payment_id === id),
    ).toHaveLength(1);

    mkdirSync(fileURLToPath(new URL("../../docs/", import.meta.url)), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    await page.context().close();
  });

  it("shows no Refund to a support user without payments:refund, and the API refuses it anyway", async () => {
    const { id, orderId } = await paidPayment();
    const page = await signIn("viewer", "payments:admin");
    await open(page, orderId, id);
    await page.getByRole("region", { name: "Audit" }).waitFor();
    expect(await page.getByRole("button", { name: "Refund" }).count()).toBe(0);
    const refused = await stack.call("POST", `/api/payments/${id}/refund`, {
      token: await stack.token("viewer", "payments:admin"),
      body: { amount: 100 },
      headers: { "idempotency-key": uniqueId("rkey") },
    });
    expect(refused.status).toBe(403);
    await page.context().close();
  });

  it("shows the dispute, and a Refund only once the service says the dispute allows one", async () => {
    const { id, orderId, pi } = await paidPayment(5_000, "pm_card_createDispute");
    const disputeId = stack.simulator.disputes().find((d) => d.payment_intent === pi)?.id;
    if (disputeId === undefined) throw new Error("no dispute opened");
    const page = await signIn("sam-support", "payments:admin payments:refund");
    await open(page, orderId, id);
    expect(await text(page, "dispute")).toMatch(/^needs_response · fraudulent · €50\.00$/);
    await page.getByRole("region", { name: "Audit" }).waitFor();
    expect(await page.getByRole("button", { name: "Refund" }).count()).toBe(0);
    const closed = await fetch(`${stack.simulator.url}/_simulator/disputes/${disputeId}/close`, {
      method: "POST",
      body: JSON.stringify({ outcome: "won" }),
    });
    expect(closed.status).toBe(200);
    await stack.simulator.drainWebhooks();
    await page.getByRole("button", { name: "Reload" }).click();
    await page.locator("[data-field=dispute]", { hasText: "won" }).waitFor();
    await page.getByRole("button", { name: "Refund" }).waitFor();
    await page.context().close();
  });

  it("redrives a dead letter from the Dead letters page", async () => {
    const orderId = uniqueId("dl-order");
    // Stripe refuses the PaymentIntent once: the record is set aside.
    stack.simulator.setFaults({
      failNext: 1,
      status: 400,
      paths: "/v1/payment_intents",
      method: "POST",
    });
    const { handler } = await import("../../functions/order-placed.js");
    const value = JSON.stringify({ orderId, customerId: "bob", amount: 2_500, currency: "usd" });
    const summary = await handler({
      eventSource: "aws:kafka",
      records: {
        "order.placed-0": [
          {
            topic: "order.placed",
            partition: 0,
            offset: Date.now(),
            timestamp: Date.now(),
            timestampType: "CREATE_TIME",
            value: Buffer.from(value).toString("base64"),
            headers: [],
          },
        ],
      },
    });
    expect(summary.deadLetters).toBe(1);

    const page = await signIn("sam-support", "payments:admin payments:refund");
    await page.getByRole("button", { name: "Dead letters" }).click();
    const row = page.getByRole("row").filter({ hasText: orderId });
    await row.getByRole("button", { name: "Redrive" }).click();
    await page
      .getByRole("status")
      .getByText(/: created$/)
      .waitFor();
    expect(await page.getByRole("row").filter({ hasText: orderId }).count()).toBe(0);
    expect((await stack.repository.get(paymentIdForOrderPlaced(orderId)))?.status).toBe(
      "initiated",
    );
    await page.context().close();
  });
});
