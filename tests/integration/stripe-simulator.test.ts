import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import Stripe from "stripe";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type StripeSimulator, startStripeSimulator } from "../../local/stripe-simulator/index.js";

const SECRET = "whsec_simulator_integration_test";
const MAX_ATTEMPTS = 4;

let sim: StripeSimulator;
let stripe: Stripe;

function client(options: Partial<Stripe.StripeConfig> = {}): Stripe {
  return new Stripe("sk_test_123", {
    host: "127.0.0.1",
    port: sim.port,
    protocol: "http",
    maxNetworkRetries: 0,
    telemetry: false,
    ...options,
  });
}

/** Awaits a promise expected to reject with a Stripe SDK error. */
async function stripeError(promise: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Stripe.errors.StripeError) return error;
    throw error;
  }
  throw new Error("expected the call to fail");
}

async function raw(
  path: string,
  init: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; json: unknown }> {
  const response = await fetch(`${sim.url}${path}`, {
    method: init.method ?? "GET",
    headers: {
      Authorization: "Bearer sk_test_123",
      "Content-Type": "application/x-www-form-urlencoded",
      ...init.headers,
    },
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  return { status: response.status, headers: response.headers, json: await response.json() };
}

async function control(method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${sim.url}/_simulator/${path}`, {
    method,
    headers: { "Content-Type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  expect(response.status).toBe(200);
  return response.json();
}

interface Received {
  event: Stripe.Event;
  signature: string;
}

interface Receiver {
  url: string;
  /** Events whose signature verified, in arrival order. */
  received: Received[];
  /** Arrivals whose signature did not verify. */
  rejected: string[];
  attempts: number;
  close(): Promise<void>;
}

/** A local webhook endpoint verifying signatures like a real integration does. */
async function startReceiver(
  status: (attempt: number) => number = () => 200,
  secret: () => string = () => SECRET,
): Promise<Receiver> {
  const receiver: Omit<Receiver, "url" | "close"> = { received: [], rejected: [], attempts: 0 };
  const verifier = new Stripe("sk_test_123");
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      receiver.attempts += 1;
      const body = Buffer.concat(chunks).toString("utf8");
      const signature = String(req.headers["stripe-signature"] ?? "");
      expect(req.headers["content-type"]).toMatch(/^application\/json/);
      try {
        const event = verifier.webhooks.constructEvent(body, signature, secret(), 300);
        const answer = status(receiver.attempts);
        if (answer >= 200 && answer < 300) receiver.received.push({ event, signature });
        res.writeHead(answer).end();
      } catch {
        receiver.rejected.push(body);
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    ...receiver,
    get received() {
      return receiver.received;
    },
    get rejected() {
      return receiver.rejected;
    },
    get attempts() {
      return receiver.attempts;
    },
    url: `http://127.0.0.1:${port}/webhooks/stripe`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

beforeAll(async () => {
  sim = await startStripeSimulator({
    port: 0,
    webhookSecret: SECRET,
    webhookRetry: { maxAttempts: MAX_ATTEMPTS, initialDelayMs: 10, maxDelayMs: 40 },
    asyncDelayMs: 5,
  });
  stripe = client();
});

afterAll(async () => {
  await sim.close();
});

beforeEach(() => {
  sim.reset();
  sim.setWebhookUrl(undefined);
});

describe("auth and routing", () => {
  it("rejects requests without a test secret key, in Stripe's error shape", async () => {
    const missing = await raw("/v1/payment_intents", { headers: { Authorization: "" } });
    expect(missing.status).toBe(401);
    expect(missing.json).toMatchObject({ error: { type: "invalid_request_error" } });

    const live = new Stripe("sk_live_nope", {
      host: "127.0.0.1",
      port: sim.port,
      protocol: "http",
      maxNetworkRetries: 0,
    });
    const error = await stripeError(live.paymentIntents.list());
    expect(error).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect(error.statusCode).toBe(401);
  });

  it("answers unknown routes with a 404 Stripe error", async () => {
    const response = await raw("/v1/widgets");
    expect(response.status).toBe(404);
    expect(response.json).toMatchObject({
      error: { type: "invalid_request_error", message: expect.stringContaining("/v1/widgets") },
    });
    const missing = await stripeError(stripe.paymentIntents.retrieve("pi_doesnotexist"));
    expect(missing.statusCode).toBe(404);
    expect(missing.code).toBe("resource_missing");
  });
});

describe("payment intents", () => {
  it("creates and retrieves a PaymentIntent with metadata", async () => {
    const pi = await stripe.paymentIntents.create({
      amount: 2500,
      currency: "eur",
      description: "order 42",
      metadata: { order_id: "ord_42", tenant: "acme" },
      automatic_payment_methods: { enabled: true },
    });
    expect(pi.id).toMatch(/^pi_\w+$/);
    expect(pi.client_secret).toMatch(new RegExp(`^${pi.id}_secret_\\w+$`));
    expect(pi.status).toBe("requires_payment_method");
    expect(pi).toMatchObject({
      amount: 2500,
      currency: "eur",
      object: "payment_intent",
      livemode: false,
    });
    expect(pi.metadata).toEqual({ order_id: "ord_42", tenant: "acme" });
    expect(pi.automatic_payment_methods).toEqual({ allow_redirects: "always", enabled: true });

    const again = await stripe.paymentIntents.retrieve(pi.id);
    expect(again).toEqual(pi);
    expect(sim.paymentIntents().map((item) => item.id)).toEqual([pi.id]);
  });

  it("validates parameters like Stripe and creates nothing on a validation error", async () => {
    const negative = await stripeError(
      stripe.paymentIntents.create({ amount: -5, currency: "usd" }),
    );
    expect(negative).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(negative).toMatchObject({ code: "parameter_invalid_integer", param: "amount" });

    const notInteger = await raw("/v1/payment_intents", {
      method: "POST",
      body: "amount=12.5&currency=usd",
    });
    expect(notInteger.status).toBe(400);
    expect(notInteger.json).toMatchObject({
      error: { type: "invalid_request_error", code: "parameter_invalid_integer", param: "amount" },
    });

    const currency = await stripeError(
      stripe.paymentIntents.create({ amount: 100, currency: "dollars" }),
    );
    expect(currency.param).toBe("currency");

    const missing = await stripeError(
      stripe.paymentIntents.create({ amount: 100 } as Stripe.PaymentIntentCreateParams),
    );
    expect(missing).toMatchObject({ code: "parameter_missing", param: "currency" });

    const unknown = await raw("/v1/payment_intents", {
      method: "POST",
      body: "amount=100&currency=usd&amont=1",
    });
    expect(unknown.json).toMatchObject({ error: { code: "parameter_unknown", param: "amont" } });

    expect(sim.paymentIntents()).toHaveLength(0);
  });

  it("lists newest first with limit and starting_after", async () => {
    const created: string[] = [];
    for (let i = 1; i <= 5; i += 1) {
      created.push((await stripe.paymentIntents.create({ amount: i * 100, currency: "usd" })).id);
    }
    const first = await stripe.paymentIntents.list({ limit: 2 });
    expect(first.object).toBe("list");
    expect(first.url).toBe("/v1/payment_intents");
    expect(first.has_more).toBe(true);
    expect(first.data.map((pi) => pi.id)).toEqual([created[4], created[3]]);
    const second = await stripe.paymentIntents.list({ limit: 10, starting_after: created[3] });
    expect(second.has_more).toBe(false);
    expect(second.data.map((pi) => pi.id)).toEqual([created[2], created[1], created[0]]);
    const all: string[] = [];
    for await (const pi of stripe.paymentIntents.list({ limit: 2 })) all.push(pi.id);
    expect(all).toEqual([...created].reverse());
  });

  it.each([
    ["pm_card_visa", "visa", "4242"],
    ["pm_card_mastercard", "mastercard", "4444"],
  ])("confirms with %s: succeeded, captured charge", async (paymentMethod, brand, last4) => {
    const pi = await stripe.paymentIntents.create({ amount: 1999, currency: "usd" });
    const confirmed = await stripe.paymentIntents.confirm(pi.id, {
      payment_method: paymentMethod,
      expand: ["latest_charge"],
    });
    expect(confirmed.status).toBe("succeeded");
    expect(confirmed.amount_received).toBe(1999);
    expect(confirmed.payment_method).toMatch(/^pm_/);
    const charge = confirmed.latest_charge;
    if (charge === null || typeof charge === "string")
      throw new Error("latest_charge not expanded");
    expect(charge.id).toMatch(/^ch_/);
    expect(charge).toMatchObject({
      captured: true,
      paid: true,
      status: "succeeded",
      amount_captured: 1999,
    });
    expect(charge.payment_method_details?.card).toMatchObject({ brand, last4 });
  });

  it("confirms at creation with confirm=true", async () => {
    const pi = await stripe.paymentIntents.create({
      amount: 500,
      currency: "usd",
      payment_method: "pm_card_visa",
      confirm: true,
    });
    expect(pi.status).toBe("succeeded");
    expect(pi.latest_charge).toMatch(/^ch_/);
  });

  it.each([
    ["pm_card_chargeDeclined", "card_declined", "generic_decline"],
    ["pm_card_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"],
    ["pm_card_chargeDeclinedExpiredCard", "expired_card", "expired_card"],
  ])(
    "declines %s with code %s / %s, then a good card succeeds",
    async (paymentMethod, code, declineCode) => {
      const pi = await stripe.paymentIntents.create({ amount: 1000, currency: "usd" });
      const error = await stripeError(
        stripe.paymentIntents.confirm(pi.id, { payment_method: paymentMethod }),
      );
      expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
      expect(error.statusCode).toBe(402);
      expect(error.code).toBe(code);
      expect(error.decline_code).toBe(declineCode);
      expect(error.charge).toMatch(/^ch_/);
      expect(error.payment_intent?.id).toBe(pi.id);
      expect(error.payment_intent?.status).toBe("requires_payment_method");

      const failed = await stripe.paymentIntents.retrieve(pi.id);
      expect(failed.status).toBe("requires_payment_method");
      expect(failed.last_payment_error).toMatchObject({
        type: "card_error",
        code,
        decline_code: declineCode,
      });

      const retried = await stripe.paymentIntents.confirm(pi.id, {
        payment_method: "pm_card_visa",
      });
      expect(retried.status).toBe("succeeded");
      expect(retried.last_payment_error).toBeNull();
    },
  );

  it("rejects unknown payment methods and confirming in the wrong state", async () => {
    const pi = await stripe.paymentIntents.create({ amount: 1000, currency: "usd" });
    const unknown = await stripeError(
      stripe.paymentIntents.confirm(pi.id, { payment_method: "pm_card_bogus" }),
    );
    expect(unknown).toMatchObject({
      statusCode: 400,
      code: "resource_missing",
      param: "payment_method",
    });

    await stripe.paymentIntents.confirm(pi.id, { payment_method: "pm_card_visa" });
    const again = await stripeError(
      stripe.paymentIntents.confirm(pi.id, { payment_method: "pm_card_visa" }),
    );
    expect(again).toMatchObject({ statusCode: 400, code: "payment_intent_unexpected_state" });
  });

  it("authorizes with manual capture, then captures part of it", async () => {
    const pi = await stripe.paymentIntents.create({
      amount: 1000,
      currency: "usd",
      capture_method: "manual",
      payment_method: "pm_card_visa",
      confirm: true,
    });
    expect(pi.status).toBe("requires_capture");
    expect(pi.amount_capturable).toBe(1000);
    expect(pi.amount_received).toBe(0);

    const tooMuch = await stripeError(
      stripe.paymentIntents.capture(pi.id, { amount_to_capture: 1001 }),
    );
    expect(tooMuch.param).toBe("amount_to_capture");

    const captured = await stripe.paymentIntents.capture(pi.id, { amount_to_capture: 600 });
    expect(captured).toMatchObject({
      status: "succeeded",
      amount_received: 600,
      amount_capturable: 0,
    });

    const twice = await stripeError(stripe.paymentIntents.capture(pi.id));
    expect(twice).toMatchObject({ statusCode: 400, code: "payment_intent_unexpected_state" });

    const notAuthorized = await stripe.paymentIntents.create({ amount: 100, currency: "usd" });
    const early = await stripeError(stripe.paymentIntents.capture(notAuthorized.id));
    expect(early.code).toBe("payment_intent_unexpected_state");
  });

  it("cancels uncaptured and unconfirmed intents but not succeeded ones", async () => {
    const held = await stripe.paymentIntents.create({
      amount: 700,
      currency: "usd",
      capture_method: "manual",
      payment_method: "pm_card_visa",
      confirm: true,
    });
    const canceled = await stripe.paymentIntents.cancel(held.id, {
      cancellation_reason: "requested_by_customer",
    });
    expect(canceled).toMatchObject({
      status: "canceled",
      cancellation_reason: "requested_by_customer",
    });
    expect(canceled.canceled_at).toEqual(expect.any(Number));

    const fresh = await stripe.paymentIntents.create({ amount: 700, currency: "usd" });
    expect((await stripe.paymentIntents.cancel(fresh.id)).status).toBe("canceled");

    const paid = await stripe.paymentIntents.create({
      amount: 700,
      currency: "usd",
      payment_method: "pm_card_visa",
      confirm: true,
    });
    const error = await stripeError(stripe.paymentIntents.cancel(paid.id));
    expect(error).toMatchObject({ statusCode: 400, code: "payment_intent_unexpected_state" });
  });

  it("keeps a processing intent until the control API settles it", async () => {
    const pi = await stripe.paymentIntents.create({
      amount: 300,
      currency: "usd",
      payment_method: "pm_card_processing",
      confirm: true,
    });
    expect(pi.status).toBe("processing");
    const settled = await control("POST", `payment_intents/${pi.id}/settle`, {
      outcome: "succeeded",
    });
    expect(settled).toMatchObject({ id: pi.id, status: "succeeded", amount_received: 300 });
    const types = sim.events().map((event) => event.type);
    expect(types).toEqual([
      "payment_intent.created",
      "charge.pending",
      "payment_intent.processing",
      "charge.succeeded",
      "payment_intent.succeeded",
    ]);
  });
});

describe("refunds", () => {
  async function paid(
    amount: number,
    paymentMethod = "pm_card_visa",
  ): Promise<Stripe.PaymentIntent> {
    return stripe.paymentIntents.create({
      amount,
      currency: "usd",
      payment_method: paymentMethod,
      confirm: true,
    });
  }

  it("refunds partially, then the rest by default, updating the charge", async () => {
    const pi = await paid(1000);
    const partial = await stripe.refunds.create({
      payment_intent: pi.id,
      amount: 300,
      reason: "requested_by_customer",
    });
    expect(partial).toMatchObject({
      status: "succeeded",
      amount: 300,
      payment_intent: pi.id,
      reason: "requested_by_customer",
    });
    expect(partial.id).toMatch(/^re_/);
    let charge = await stripe.charges.retrieve(String(pi.latest_charge));
    expect(charge).toMatchObject({ amount_refunded: 300, refunded: false });

    const rest = await stripe.refunds.create({
      payment_intent: pi.id,
      metadata: { ticket: "T-1" },
    });
    expect(rest.amount).toBe(700);
    expect(rest.metadata).toEqual({ ticket: "T-1" });
    charge = await stripe.charges.retrieve(String(pi.latest_charge));
    expect(charge).toMatchObject({ amount_refunded: 1000, refunded: true });

    const listed = await stripe.refunds.list({ payment_intent: pi.id });
    expect(listed.data.map((refund) => refund.id)).toEqual([rest.id, partial.id]);
    expect((await stripe.refunds.retrieve(partial.id)).amount).toBe(300);
  });

  it("rejects too large, already refunded and uncaptured refunds", async () => {
    const pi = await paid(1000);
    const tooLarge = await stripeError(
      stripe.refunds.create({ payment_intent: pi.id, amount: 1001 }),
    );
    expect(tooLarge).toMatchObject({ statusCode: 400, code: "amount_too_large" });

    await stripe.refunds.create({ charge: String(pi.latest_charge) });
    const again = await stripeError(stripe.refunds.create({ payment_intent: pi.id }));
    expect(again).toMatchObject({ statusCode: 400, code: "charge_already_refunded" });

    const held = await stripe.paymentIntents.create({
      amount: 500,
      currency: "usd",
      capture_method: "manual",
      payment_method: "pm_card_visa",
      confirm: true,
    });
    const uncaptured = await stripeError(stripe.refunds.create({ payment_intent: held.id }));
    expect(uncaptured.code).toBe("charge_not_captured");

    const unpaid = await stripe.paymentIntents.create({ amount: 500, currency: "usd" });
    const nothing = await stripeError(stripe.refunds.create({ payment_intent: unpaid.id }));
    expect(nothing.statusCode).toBe(400);
    expect(sim.refunds()).toHaveLength(1);
  });

  it("fails refunds on pm_card_refundFail asynchronously", async () => {
    const pi = await paid(800, "pm_card_refundFail");
    const refund = await stripe.refunds.create({ payment_intent: pi.id });
    expect(refund.status).toBe("pending");
    await sim.drainWebhooks();
    const failed = await stripe.refunds.retrieve(refund.id);
    expect(failed).toMatchObject({ status: "failed", failure_reason: "declined" });
    const charge = await stripe.charges.retrieve(String(pi.latest_charge));
    expect(charge).toMatchObject({ amount_refunded: 0, refunded: false });
    const types = (await stripe.events.list({ type: "refund.*" })).data.map((event) => event.type);
    expect(types).toEqual(["refund.failed", "refund.updated", "refund.created"]);
  });
});

describe("idempotency", () => {
  it("replays the stored response for the same key and parameters", async () => {
    const params = { amount: 1200, currency: "usd", metadata: { order_id: "o1" } };
    const first = await stripe.paymentIntents.create(params, { idempotencyKey: "key-replay" });
    const second = await stripe.paymentIntents.create(params, { idempotencyKey: "key-replay" });
    expect(second.id).toBe(first.id);
    expect(second.lastResponse.headers["idempotent-replayed"]).toBe("true");
    expect(sim.paymentIntents()).toHaveLength(1);
    expect(sim.events().filter((event) => event.type === "payment_intent.created")).toHaveLength(1);
    expect(sim.events()[0]?.request).toEqual({
      id: first.lastResponse.requestId,
      idempotency_key: "key-replay",
    });
  });

  it("rejects the same key with different parameters", async () => {
    await stripe.paymentIntents.create(
      { amount: 100, currency: "usd" },
      { idempotencyKey: "key-mismatch" },
    );
    const error = await stripeError(
      stripe.paymentIntents.create(
        { amount: 200, currency: "usd" },
        { idempotencyKey: "key-mismatch" },
      ),
    );
    expect(error).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(error.statusCode).toBe(400);
    expect(sim.paymentIntents()).toHaveLength(1);
  });

  it("scopes keys to the API key", async () => {
    const otherStripe = new Stripe("sk_test_other", {
      host: "127.0.0.1",
      port: sim.port,
      protocol: "http",
      maxNetworkRetries: 0,
    });
    const a = await stripe.paymentIntents.create(
      { amount: 100, currency: "usd" },
      { idempotencyKey: "shared" },
    );
    const b = await otherStripe.paymentIntents.create(
      { amount: 100, currency: "usd" },
      { idempotencyKey: "shared" },
    );
    expect(b.id).not.toBe(a.id);
  });

  it("stores card errors but not validation errors", async () => {
    const pi = await stripe.paymentIntents.create({ amount: 900, currency: "usd" });
    const options = { idempotencyKey: "key-decline" };
    const first = await stripeError(
      stripe.paymentIntents.confirm(pi.id, { payment_method: "pm_card_chargeDeclined" }, options),
    );
    const second = await stripeError(
      stripe.paymentIntents.confirm(pi.id, { payment_method: "pm_card_chargeDeclined" }, options),
    );
    expect(second.statusCode).toBe(402);
    expect(second.charge).toBe(first.charge);
    expect(second.headers?.["idempotent-replayed"]).toBe("true");
    expect(sim.events().filter((event) => event.type === "charge.failed")).toHaveLength(1);

    const invalid = await stripeError(
      stripe.paymentIntents.create(
        { amount: 0, currency: "usd" },
        { idempotencyKey: "key-invalid" },
      ),
    );
    expect(invalid.code).toBe("parameter_invalid_integer");
    const valid = await stripe.paymentIntents.create(
      { amount: 50, currency: "usd" },
      { idempotencyKey: "key-invalid" },
    );
    expect(valid.status).toBe("requires_payment_method");
  });

  it("answers 409 while a request with the same key is still running", async () => {
    sim.setFaults({ delayMs: 150, paths: "/v1/payment_intents" });
    const send = () =>
      raw("/v1/payment_intents", {
        method: "POST",
        body: "amount=100&currency=usd",
        headers: { "Idempotency-Key": "key-concurrent" },
      });
    const results = await Promise.all([send(), send()]);
    sim.clearFaults();
    expect(results.map((result) => result.status).sort()).toEqual([200, 409]);
    expect(results.find((result) => result.status === 409)?.json).toMatchObject({
      error: { type: "idempotency_error" },
    });
    expect(sim.paymentIntents()).toHaveLength(1);
  });
});

describe("fault injection", () => {
  it("injects 500 and 429 answers the SDK maps to its error classes", async () => {
    await control("POST", "faults", { failNext: 1, status: 500 });
    const serverError = await stripeError(
      stripe.paymentIntents.create({ amount: 100, currency: "usd" }),
    );
    expect(serverError).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect(serverError.statusCode).toBe(500);

    await control("POST", "faults", { failNext: 1, status: 429 });
    const rateLimited = await stripeError(
      stripe.paymentIntents.create({ amount: 100, currency: "usd" }),
    );
    expect(rateLimited).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    expect(rateLimited.code).toBe("rate_limit");

    const ok = await stripe.paymentIntents.create({ amount: 100, currency: "usd" });
    expect(ok.status).toBe("requires_payment_method");
    expect(sim.paymentIntents()).toHaveLength(1);
    expect(sim.stats().faultsInjected).toBe(2);
  });

  it("lets the SDK's retries get through a single 500, creating one intent", async () => {
    const retrying = client({ maxNetworkRetries: 2 });
    await control("POST", "faults", { failNext: 1, status: 500 });
    const pi = await retrying.paymentIntents.create({ amount: 100, currency: "usd" });
    expect(pi.id).toMatch(/^pi_/);
    expect(sim.paymentIntents()).toHaveLength(1);
    expect(sim.stats().requests).toBe(2);
  });

  it("executes the request but loses the answer with when=after; the SDK retry replays it", async () => {
    const retrying = client({ maxNetworkRetries: 2 });
    sim.setFaults({ failNext: 1, status: 503, when: "after" });
    const pi = await retrying.paymentIntents.create({ amount: 100, currency: "usd" });
    expect(pi.lastResponse.headers["idempotent-replayed"]).toBe("true");
    expect(sim.paymentIntents().map((item) => item.id)).toEqual([pi.id]);
  });

  it("drops connections: the SDK retries a reset once, then reports a connection error", async () => {
    sim.setFaults({ failNext: 1, reset: true });
    const pi = await stripe.paymentIntents.create({ amount: 100, currency: "usd" });
    expect(pi.status).toBe("requires_payment_method");
    sim.setFaults({ failNext: 2, reset: true });
    const error = await stripeError(stripe.paymentIntents.create({ amount: 100, currency: "usd" }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    expect(sim.paymentIntents()).toHaveLength(1);
  });

  it("clears faults with DELETE", async () => {
    await control("POST", "faults", { failNext: 5, status: 500, paths: "/v1/refunds" });
    const listed = await stripe.paymentIntents.list();
    expect(listed.data).toEqual([]);
    await control("DELETE", "faults");
    const refunds = await stripe.refunds.list();
    expect(refunds.object).toBe("list");
  });
});

describe("events", () => {
  it("records Stripe's events and filters them by type, including wildcards", async () => {
    const pi = await stripe.paymentIntents.create({
      amount: 1000,
      currency: "usd",
      payment_method: "pm_card_visa",
      confirm: true,
    });
    await stripe.refunds.create({ payment_intent: pi.id, amount: 100 });

    const all = await stripe.events.list({ limit: 100 });
    expect(all.data.map((event) => event.type)).toEqual([
      "charge.refunded",
      "refund.created",
      "payment_intent.succeeded",
      "charge.succeeded",
      "payment_intent.created",
    ]);
    const event = all.data[0];
    if (!event) throw new Error("no event");
    expect(event.id).toMatch(/^evt_/);
    expect(event.api_version).toBe(Stripe.API_VERSION);
    expect(event.livemode).toBe(false);
    expect(event.request?.id).toMatch(/^req_/);

    const piEvents = await stripe.events.list({ type: "payment_intent.*" });
    expect(piEvents.data.map((item) => item.type)).toEqual([
      "payment_intent.succeeded",
      "payment_intent.created",
    ]);
    const exact = await stripe.events.list({ type: "charge.succeeded" });
    expect(exact.data).toHaveLength(1);
    const created = exact.data[0];
    if (created?.type !== "charge.succeeded") throw new Error("wrong event");
    expect(created.data.object.amount_refunded).toBe(0);

    const page = await stripe.events.list({ limit: 2, starting_after: all.data[1]?.id });
    expect(page.data.map((item) => item.type)).toEqual([
      "payment_intent.succeeded",
      "charge.succeeded",
    ]);
    expect(page.has_more).toBe(true);
    expect((await stripe.events.retrieve(event.id)).type).toBe("charge.refunded");
  });

  it("snapshots objects at the moment of the event", async () => {
    const pi = await stripe.paymentIntents.create({ amount: 400, currency: "usd" });
    await stripe.paymentIntents.confirm(pi.id, { payment_method: "pm_card_visa" });
    const [created] = (await stripe.events.list({ type: "payment_intent.created" })).data;
    if (created?.type !== "payment_intent.created") throw new Error("missing event");
    expect(created.data.object.status).toBe("requires_payment_method");
  });
});

describe("webhooks", () => {
  let receiver: Receiver | undefined;

  afterEach(async () => {
    sim.setWebhookUrl(undefined);
    await receiver?.close();
    receiver = undefined;
  });

  it("delivers signed events in order, verifiable with constructEvent", async () => {
    receiver = await startReceiver();
    sim.setWebhookUrl(receiver.url);
    const pi = await stripe.paymentIntents.create({
      amount: 1500,
      currency: "usd",
      payment_method: "pm_card_visa",
      confirm: true,
      metadata: { order_id: "ord_7" },
    });
    await sim.drainWebhooks();
    expect(receiver.rejected).toEqual([]);
    expect(receiver.received.map((item) => item.event.type)).toEqual([
      "payment_intent.created",
      "charge.succeeded",
      "payment_intent.succeeded",
    ]);
    const succeeded = receiver.received[2]?.event;
    if (succeeded?.type !== "payment_intent.succeeded") throw new Error("missing event");
    expect(succeeded.data.object).toMatchObject({
      id: pi.id,
      status: "succeeded",
      metadata: { order_id: "ord_7" },
    });
    expect(receiver.received[0]?.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(sim.stats().webhooks).toMatchObject({ attempted: 3, succeeded: 3, failed: 0 });
    expect((await stripe.events.retrieve(succeeded.id)).pending_webhooks).toBe(0);
  });

  it("retries a failed delivery with backoff until it is accepted", async () => {
    receiver = await startReceiver((attempt) => (attempt === 1 ? 500 : 200));
    sim.setWebhookUrl(receiver.url);
    await stripe.paymentIntents.create({ amount: 100, currency: "usd" });
    await sim.drainWebhooks();
    expect(receiver.attempts).toBe(2);
    expect(receiver.received.map((item) => item.event.type)).toEqual(["payment_intent.created"]);
    expect(sim.webhookDeliveries().map((delivery) => [delivery.attempt, delivery.status])).toEqual([
      [1, 500],
      [2, 200],
    ]);
  });

  it("gives up after the configured number of attempts", async () => {
    receiver = await startReceiver(() => 503);
    sim.setWebhookUrl(receiver.url);
    await stripe.paymentIntents.create({ amount: 100, currency: "usd" });
    await sim.drainWebhooks();
    expect(receiver.attempts).toBe(MAX_ATTEMPTS);
    expect(sim.stats().webhooks).toMatchObject({
      attempted: MAX_ATTEMPTS,
      failed: MAX_ATTEMPTS,
      gaveUp: 1,
    });
  });

  it("retries after a connection error", async () => {
    const closed = await startReceiver();
    const deadUrl = closed.url;
    await closed.close();
    sim.setWebhookUrl(deadUrl);
    await stripe.paymentIntents.create({ amount: 100, currency: "usd" });
    await sim.drainWebhooks();
    const deliveries = sim.webhookDeliveries();
    expect(deliveries).toHaveLength(MAX_ATTEMPTS);
    expect(deliveries.every((delivery) => delivery.status === null && !delivery.ok)).toBe(true);
  });

  it("drops and duplicates deliveries on request", async () => {
    receiver = await startReceiver();
    sim.setWebhookUrl(receiver.url);
    await control("POST", "webhooks", { mode: "drop", count: 1 });
    await stripe.paymentIntents.create({ amount: 100, currency: "usd" });
    await control("POST", "webhooks", { mode: "duplicate", count: 1 });
    const second = await stripe.paymentIntents.create({ amount: 200, currency: "usd" });
    await stripe.paymentIntents.create({ amount: 300, currency: "usd" });
    await sim.drainWebhooks();
    const amounts = receiver.received.map((item) =>
      item.event.type === "payment_intent.created" ? item.event.data.object.amount : -1,
    );
    expect(amounts).toEqual([200, 200, 300]);
    expect(receiver.received[0]?.event.id).toBe(receiver.received[1]?.event.id);
    expect(
      receiver.received[0]?.event.type === "payment_intent.created" &&
        receiver.received[0].event.data.object.id,
    ).toBe(second.id);
    expect(sim.stats().webhooks).toMatchObject({ dropped: 1, duplicated: 1 });
  });

  it("holds deliveries and releases them reversed", async () => {
    receiver = await startReceiver();
    sim.setWebhookUrl(receiver.url);
    await control("POST", "webhooks", { mode: "hold" });
    await stripe.paymentIntents.create({
      amount: 100,
      currency: "usd",
      payment_method: "pm_card_visa",
      confirm: true,
    });
    await sim.drainWebhooks();
    expect(receiver.attempts).toBe(0);
    expect(await control("POST", "webhooks/release", { order: "reverse" })).toEqual({
      released: 3,
    });
    await sim.drainWebhooks();
    expect(receiver.received.map((item) => item.event.type)).toEqual([
      "payment_intent.succeeded",
      "charge.succeeded",
      "payment_intent.created",
    ]);
  });

  it("reorders a batch automatically once batchSize events are held", async () => {
    receiver = await startReceiver();
    sim.setWebhookUrl(receiver.url);
    sim.setWebhookBehaviour({ mode: "reorder", batchSize: 2 });
    const first = await stripe.paymentIntents.create({ amount: 1, currency: "usd" });
    const second = await stripe.paymentIntents.create({ amount: 2, currency: "usd" });
    await sim.drainWebhooks();
    const ids = receiver.received.map((item) =>
      item.event.type === "payment_intent.created" ? item.event.data.object.id : "",
    );
    expect(ids).toEqual([second.id, first.id]);
  });

  it("signs with a wrong secret when asked, which constructEvent rejects", async () => {
    receiver = await startReceiver();
    sim.setWebhookUrl(receiver.url);
    sim.setWebhookBehaviour({ signature: "invalid" });
    await stripe.paymentIntents.create({ amount: 100, currency: "usd" });
    await sim.drainWebhooks();
    expect(receiver.received).toEqual([]);
    expect(receiver.rejected).toHaveLength(MAX_ATTEMPTS);
  });
});

describe("webhook endpoints", () => {
  const receivers: Receiver[] = [];
  afterEach(async () => {
    for (const r of receivers.splice(0)) await r.close();
  });
  const receiver = async (secret?: () => string) => {
    const r = await startReceiver(() => 200, secret);
    receivers.push(r);
    return r;
  };
  /** A receiver behind a new endpoint, verifying with that endpoint's own secret. */
  const endpoint = async (enabled: Stripe.WebhookEndpointCreateParams.EnabledEvent[]) => {
    let secret = "";
    const r = await receiver(() => secret);
    const created = await stripe.webhookEndpoints.create({ url: r.url, enabled_events: enabled });
    secret = created.secret ?? "";
    return { id: created.id, secret, receiver: r };
  };
  const pay = async () => {
    await stripe.paymentIntents.create({
      amount: 500,
      currency: "usd",
      payment_method: "pm_card_visa",
      confirm: true,
    });
    await sim.drainWebhooks();
  };
  const types = (r: Receiver) => r.received.map((x) => x.event.type);
  const PAID = ["payment_intent.created", "charge.succeeded", "payment_intent.succeeded"];

  it("every enabled endpoint gets the events it subscribes to, signed with its own secret", async () => {
    const start = await receiver();
    sim.setWebhookUrl(start.url);
    const intents = await endpoint(["payment_intent.created", "payment_intent.succeeded"]);
    const charges = await endpoint(["charge.succeeded", "charge.refunded"]);
    expect(intents.secret).not.toBe(charges.secret);
    await pay();
    expect(types(intents.receiver)).toEqual(["payment_intent.created", "payment_intent.succeeded"]);
    expect(types(charges.receiver)).toEqual(["charge.succeeded"]);
    for (const r of [intents.receiver, charges.receiver]) expect(r.rejected).toEqual([]);
    expect(start.attempts).toBe(0);
    expect(new Set(sim.webhookDeliveries().map((d) => d.url))).toEqual(
      new Set([intents.receiver.url, charges.receiver.url]),
    );

    // Disabled: nothing more for it.
    await stripe.webhookEndpoints.update(charges.id, { disabled: true });
    await pay();
    expect(charges.receiver.attempts).toBe(1);
    expect(intents.receiver.attempts).toBe(4);

    // One endpoint left (disabled): nothing is delivered. None left: the start URL and secret.
    await stripe.webhookEndpoints.del(intents.id);
    await pay();
    expect(intents.receiver.attempts).toBe(4);
    expect(start.attempts).toBe(0);
    await stripe.webhookEndpoints.del(charges.id);
    await pay();
    expect(types(start)).toEqual(PAID);
    expect(start.rejected).toEqual([]);
  });

  it("reset forgets endpoints, rolled secrets and event filters (the URL stays)", async () => {
    const start = await receiver();
    sim.setWebhookUrl(start.url);
    const elsewhere = await endpoint(["*"]);
    sim.setWebhookSecrets(["whsec_rolled"]);
    sim.setWebhookEvents(["refund.*"]);
    await control("POST", "reset");
    expect((await stripe.webhookEndpoints.list()).data).toEqual([]);
    await pay();
    expect(elsewhere.receiver.attempts).toBe(0);
    expect(start.rejected).toEqual([]);
    expect(types(start)).toEqual(PAID);
  });
});

describe("control API", () => {
  it("reports stats and resets state", async () => {
    await stripe.paymentIntents.create({
      amount: 100,
      currency: "usd",
      payment_method: "pm_card_visa",
      confirm: true,
    });
    const stats = await control("GET", "stats");
    expect(stats).toMatchObject({ paymentIntents: 1, charges: 1, refunds: 0, events: 3 });
    await control("POST", "reset");
    expect(sim.paymentIntents()).toEqual([]);
    expect(sim.events()).toEqual([]);
    expect((await stripe.paymentIntents.list()).data).toEqual([]);
  });
});
