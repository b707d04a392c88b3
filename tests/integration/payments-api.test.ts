/**
 * The payment API through the local gateway, against the local DynamoDB server and the Stripe
 * simulator over HTTP: create, replay, read, list, auth, bad input.
 */
import { GetCommand, QueryCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tables } from "../../infra/tables.js";
import { type Stack, startStack, uniqueId } from "../support/stack.js";

let stack: Stack;
let alice: string;
let bob: string;
let admin: string;
let backOffice: string;

beforeAll(async () => {
  stack = await startStack();
  alice = await stack.token("alice", "payments:write payments:read");
  bob = await stack.token("bob", "payments:write payments:read");
  admin = await stack.token("ops-admin", "payments:admin");
  backOffice = await stack.token("back-office", "payments:refund");
});
afterAll(async () => {
  await stack?.close();
});

const intent = (orderId: string, extra: Record<string, unknown> = {}) => ({
  orderId,
  amount: 2500,
  currency: "EUR",
  ...extra,
});

const create = (token: string, key: string | undefined, body: unknown) =>
  stack.call("POST", "/api/payments/intents", {
    token,
    body,
    ...(key === undefined ? {} : { headers: { "idempotency-key": key } }),
  });

/** PaymentIntents at the simulator for one order (by the metadata the service sets). */
const intentsFor = (orderId: string) =>
  stack.simulator.paymentIntents().filter((pi) => pi.metadata.order_id === orderId);

describe("POST /api/payments/intents", () => {
  it("creates a payment and a PaymentIntent", async () => {
    const orderId = uniqueId("order");
    const res = await create(
      alice,
      uniqueId("key"),
      intent(orderId, { description: "2 books", metadata: { cart: "c1" } }),
    );
    expect(res.status).toBe(201);
    expect(res.headers.get("idempotent-replayed")).toBeNull();
    expect(Object.keys(res.body)).toEqual([
      "id",
      "orderId",
      "customerId",
      "status",
      "amount",
      "currency",
      "captureMethod",
      "clientSecret",
      "stripePaymentIntentId",
      "createdAt",
      "updatedAt",
    ]);
    expect(res.body).toMatchObject({
      orderId,
      customerId: "alice",
      status: "initiated",
      amount: 2500,
      currency: "eur",
      captureMethod: "automatic",
    });
    const [pi] = intentsFor(orderId);
    expect(intentsFor(orderId)).toHaveLength(1);
    expect(res.body.stripePaymentIntentId).toBe(pi?.id);
    expect(res.body.clientSecret).toBe(pi?.client_secret);
    expect(pi).toMatchObject({
      amount: 2500,
      currency: "eur",
      capture_method: "automatic",
      description: "2 books",
    });
    expect(pi?.metadata).toMatchObject({
      cart: "c1",
      order_id: orderId,
      customer_id: "alice",
      payment_id: res.body.id,
    });
  });

  it("writes the payment, its order lock, its outbox and audit items, and no PaymentIntent → payment item", async () => {
    const orderId = uniqueId("order");
    const res = await create(alice, uniqueId("key"), intent(orderId));
    expect(res.status).toBe(201);
    const get = async (pk: string, sk: string) =>
      (
        await stack.documentClient.send(
          new GetCommand({
            TableName: tables.payments.name,
            Key: { pk, sk },
            ConsistentRead: true,
          }),
        )
      ).Item;
    expect(await get(`ORDER#${orderId}`, "ORDER")).toMatchObject({ paymentId: res.body.id });
    // The PaymentIntent's metadata names the payment (checked above); no item says it again.
    expect(await get(`INTENT#${String(res.body.stripePaymentIntentId)}`, "INTENT")).toBeUndefined();
    const { Items = [] } = await stack.documentClient.send(
      new QueryCommand({
        TableName: tables.payments.name,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": `PAYMENT#${String(res.body.id)}` },
        ConsistentRead: true,
      }),
    );
    expect(Items.map((i) => String(i.sk).split("#")[0]).sort()).toEqual([
      "AUDIT",
      "OUTBOX",
      "PAYMENT",
    ]);
  });

  it("replays the same answer for the same caller, key and body, without a second PaymentIntent", async () => {
    const orderId = uniqueId("order");
    const key = uniqueId("key");
    const first = await create(alice, key, intent(orderId));
    const again = await create(alice, key, intent(orderId));
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body).toEqual(first.body);
    expect(intentsFor(orderId)).toHaveLength(1);
  });

  it("treats the body as the same request whatever the case of the currency", async () => {
    const orderId = uniqueId("order");
    const key = uniqueId("key");
    expect((await create(alice, key, intent(orderId, { currency: "EUR" }))).status).toBe(201);
    const again = await create(alice, key, intent(orderId, { currency: "eur" }));
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
  });

  it("answers 422 when a key comes back with another body", async () => {
    const key = uniqueId("key");
    const orderId = uniqueId("order");
    expect((await create(alice, key, intent(orderId))).status).toBe(201);
    const res = await create(alice, key, intent(orderId, { amount: 9999 }));
    expect(res.status).toBe(422);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.body.code).toBe("idempotency_key_reused");
    expect(intentsFor(orderId)).toHaveLength(1);
  });

  it("requires an Idempotency-Key, and a well-formed one", async () => {
    const orderId = uniqueId("order");
    const missing = await create(alice, undefined, intent(orderId));
    expect(missing.status).toBe(400);
    expect(missing.body.code).toBe("idempotency_key_missing");
    const tooLong = await create(alice, "k".repeat(256), intent(orderId));
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.code).toBe("idempotency_key_invalid");
    expect(intentsFor(orderId)).toHaveLength(0);
    expect(await stack.repository.paymentIdForOrder(orderId)).toBeUndefined();
  });

  it("scopes keys to the caller: another caller's same key never sees the first one's answer", async () => {
    const key = uniqueId("shared-key");
    const aliceOrder = uniqueId("order");
    const bobOrder = uniqueId("order");
    const a = await create(alice, key, intent(aliceOrder));
    const b = await create(bob, key, intent(bobOrder));
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.headers.get("idempotent-replayed")).toBeNull();
    expect(b.body.id).not.toBe(a.body.id);
    expect(b.body.customerId).toBe("bob");
    // The same key and the same body from another caller is that caller's own new request:
    // not alice's cached answer, but a fresh attempt that finds the order taken.
    const carol = await stack.token("carol", "payments:write");
    const c = await create(carol, key, intent(aliceOrder));
    expect(c.status).toBe(409);
    expect(c.headers.get("idempotent-replayed")).toBeNull();
    expect(c.body.code).toBe("order_already_has_payment");
    // Alice's order: carol learns it is taken, not which payment took it.
    expect(c.body).not.toHaveProperty("paymentId");
    expect(c.text).not.toContain(String(a.body.id));
  });

  it("another customer's create for a taken order names no payment; the owner's names hers", async () => {
    const orderId = uniqueId("order");
    const mine = await create(alice, uniqueId("key"), intent(orderId));
    expect(mine.status).toBe(201);
    const squat = await create(bob, uniqueId("key"), intent(orderId));
    expect(squat.status).toBe(409);
    expect(squat.body.code).toBe("order_already_has_payment");
    expect(squat.body).not.toHaveProperty("paymentId");
    expect(squat.text).not.toContain(String(mine.body.id));
    const again = await create(alice, uniqueId("key"), intent(orderId));
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({
      code: "order_already_has_payment",
      paymentId: mine.body.id,
    });
    expect(intentsFor(orderId).filter((pi) => pi.status !== "canceled")).toHaveLength(1);
  });

  it("gives an order one payment only: another key for the same order is 409 with the payment id", async () => {
    const orderId = uniqueId("order");
    const first = await create(alice, uniqueId("key"), intent(orderId));
    const second = await create(alice, uniqueId("key"), intent(orderId));
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({
      code: "order_already_has_payment",
      paymentId: first.body.id,
    });
    // The pre-check finds the order taken before Stripe is called.
    expect(intentsFor(orderId)).toHaveLength(1);
  });

  it("20 concurrent identical requests make exactly one PaymentIntent and one payment", async () => {
    const orderId = uniqueId("order");
    const key = uniqueId("key");
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => create(alice, key, intent(orderId))),
    );
    const statuses = answers.map((a) => a.status);
    const created = answers.filter((a) => a.status === 201);
    const inProgress = answers.filter((a) => a.status === 409);
    expect(created.length + inProgress.length).toBe(20);
    expect(created.length).toBeGreaterThanOrEqual(1);
    for (const a of inProgress) {
      expect(a.body.code).toBe("idempotency_request_in_progress");
      expect(a.headers.get("retry-after")).toBe("1");
    }
    // Every 201 is the same payment (the first, or a replay of it).
    expect(new Set(created.map((a) => a.body.id)).size).toBe(1);
    expect(created.filter((a) => a.headers.get("idempotent-replayed") === null)).toHaveLength(1);
    expect(intentsFor(orderId)).toHaveLength(1);
    expect(await stack.repository.paymentIdForOrder(orderId)).toBe(created[0]?.body.id);
    console.info(
      `concurrency, same key: 20 sent, statuses ${JSON.stringify(countBy(statuses))}, PaymentIntents ${intentsFor(orderId).length}`,
    );
  });

  it("concurrent requests for one order with different keys: one payment, the losers' PaymentIntents canceled", async () => {
    const orderId = uniqueId("order");
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => create(alice, uniqueId("key"), intent(orderId))),
    );
    const created = answers.filter((a) => a.status === 201);
    const conflicts = answers.filter((a) => a.status === 409);
    expect(created).toHaveLength(1);
    expect(conflicts).toHaveLength(9);
    const winner = created[0]?.body.id;
    for (const c of conflicts)
      expect(c.body).toMatchObject({ code: "order_already_has_payment", paymentId: winner });
    const pis = intentsFor(orderId);
    const live = pis.filter((pi) => pi.status !== "canceled");
    expect(live).toHaveLength(1);
    expect(live[0]?.id).toBe(created[0]?.body.stripePaymentIntentId);
    expect(await stack.repository.paymentIdForOrder(orderId)).toBe(winner);
    console.info(
      `concurrency, one order: 10 sent, 1 created, 9 conflicts, PaymentIntents ${pis.length} (${pis.length - 1} canceled: ${pis.filter((p) => p.status === "canceled").length})`,
    );
  });

  it.each([
    [
      "malformed JSON",
      { rawBody: '{"orderId": ', headers: { "content-type": "application/json" } },
      400,
      "malformed_json",
    ],
    [
      "a non-JSON content type",
      { rawBody: "orderId=1", headers: { "content-type": "application/x-www-form-urlencoded" } },
      415,
      "unsupported_media_type",
    ],
    [
      "an empty body",
      { rawBody: "", headers: { "content-type": "application/json" } },
      400,
      "malformed_json",
    ],
    ["a JSON array", { body: [1, 2] }, 400, "validation_failed"],
    [
      "a float amount",
      { body: { orderId: "X", amount: 10.5, currency: "usd" } },
      400,
      "validation_failed",
    ],
    [
      "an amount below the minimum",
      { body: { orderId: "X", amount: 10, currency: "usd" } },
      400,
      "validation_failed",
    ],
    [
      "an unknown field",
      { body: { orderId: "X", amount: 1000, currency: "usd", card: "4242424242424242" } },
      400,
      "validation_failed",
    ],
    [
      "an unsupported currency",
      { body: { orderId: "X", amount: 1000, currency: "zzz" } },
      400,
      "validation_failed",
    ],
    [
      "a __proto__ key",
      {
        rawBody: '{"__proto__":{"x":1},"orderId":"X","amount":1000,"currency":"usd"}',
        headers: { "content-type": "application/json" },
      },
      400,
      undefined,
    ],
  ])("answers %s with a 4xx problem and writes nothing", async (_name, request, status, code) => {
    const orderId = uniqueId("bad");
    const options =
      "body" in request && typeof request.body === "object" && !Array.isArray(request.body)
        ? { ...request, body: { ...request.body, orderId } }
        : request;
    const res = await stack.call("POST", "/api/payments/intents", {
      token: alice,
      ...options,
      headers: {
        ...("headers" in options ? options.headers : {}),
        "idempotency-key": uniqueId("key"),
      },
    });
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.body).toMatchObject({
      status,
      type: expect.stringMatching(/^urn:payment-service:problem:/),
    });
    if (code !== undefined) expect(res.body.code).toBe(code);
    expect(await stack.repository.paymentIdForOrder(orderId)).toBeUndefined();
    expect(intentsFor(orderId)).toHaveLength(0);
  });

  it("names each invalid field", async () => {
    const res = await create(alice, uniqueId("key"), {
      orderId: "",
      amount: -1,
      currency: "usd",
      extra: 1,
    });
    expect(res.status).toBe(400);
    const paths = [...new Set((res.body.errors as { path: string }[]).map((e) => e.path))].sort();
    expect(paths).toEqual(["/amount", "/extra", "/orderId"]);
  });

  it("takes zero-decimal currencies in whole units", async () => {
    const orderId = uniqueId("order");
    const res = await create(alice, uniqueId("key"), { orderId, amount: 500, currency: "JPY" });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ amount: 500, currency: "jpy" });
    expect(intentsFor(orderId)[0]).toMatchObject({ amount: 500, currency: "jpy" });
  });

  it("needs the payments:write scope", async () => {
    const readOnly = await stack.token("carol", "payments:read");
    const orderId = uniqueId("order");
    const res = await create(readOnly, uniqueId("key"), intent(orderId));
    expect(res.status).toBe(403);
    expect(res.body.code).toBe("insufficient_scope");
    expect(intentsFor(orderId)).toHaveLength(0);
  });

  it("stores no client secret anywhere: not in payments, not in idempotency records", async () => {
    const res = await create(alice, uniqueId("key"), intent(uniqueId("order")));
    const secret = String(res.body.clientSecret);
    expect(secret).toMatch(/_secret_/);
    for (const table of [tables.payments.name, tables.idempotency.name]) {
      const { Items = [] } = await stack.documentClient.send(new ScanCommand({ TableName: table }));
      expect(Items.length).toBeGreaterThan(0);
      expect(JSON.stringify(Items)).not.toContain("_secret_");
    }
  });
});

describe("authentication at the gateway", () => {
  it.each([
    ["no token", undefined],
    ["a malformed token", "not-a-jwt"],
    ["a token signed by another key", "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln"],
  ])("answers %s with 401 before any handler runs", async (_name, token) => {
    const orderId = uniqueId("order");
    const res = await stack.call("POST", "/api/payments/intents", {
      ...(token === undefined ? {} : { token }),
      body: intent(orderId),
      headers: { "idempotency-key": uniqueId("key") },
    });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe("unauthorized");
    expect(intentsFor(orderId)).toHaveLength(0);
  });

  it("refuses an expired token", async () => {
    const expired = await stack.token("alice", "payments:read", -10);
    const res = await stack.call("GET", "/api/payments/pay_00000000000000000000000000", {
      token: expired,
    });
    expect(res.status).toBe(401);
  });

  it("answers unknown routes with a 404 problem", async () => {
    const res = await stack.call("DELETE", "/api/payments/x", { token: alice });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe("route_not_found");
  });
});

describe("GET /api/payments/{id} and ?orderId=", () => {
  it("shows the owner the payment with its history and client secret", async () => {
    const orderId = uniqueId("order");
    const made = await create(alice, uniqueId("key"), intent(orderId));
    const res = await stack.call("GET", `/api/payments/${made.body.id}`, { token: alice });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: made.body.id,
      orderId,
      status: "initiated",
      amount: 2500,
      amountCaptured: 0,
      amountRefunded: 0,
      clientSecret: made.body.clientSecret,
      history: [{ status: "initiated", source: "api", at: made.body.createdAt }],
    });
    expect(res.body.failureCode).toBeUndefined();
  });

  it("answers another customer 404, as if the payment did not exist", async () => {
    const made = await create(alice, uniqueId("key"), intent(uniqueId("order")));
    const res = await stack.call("GET", `/api/payments/${made.body.id}`, { token: bob });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe("payment_not_found");
    const missing = await stack.call("GET", "/api/payments/pay_00000000000000000000000000", {
      token: bob,
    });
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe(res.body.code);
  });

  it("shows an admin any payment, without the client secret", async () => {
    const made = await create(alice, uniqueId("key"), intent(uniqueId("order")));
    const res = await stack.call("GET", `/api/payments/${made.body.id}`, { token: admin });
    expect(res.status).toBe(200);
    expect(res.body.customerId).toBe("alice");
    expect(res.body.clientSecret).toBeUndefined();
  });

  it("needs a read scope", async () => {
    const res = await stack.call("GET", "/api/payments/pay_00000000000000000000000000", {
      token: backOffice,
    });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe("insufficient_scope");
  });

  it("answers ids of any shape with 404, never 500", async () => {
    for (const id of ["nope", "pay_", "%E2%98%83", "pay_00000000000000000000000000extra"]) {
      const res = await stack.call("GET", `/api/payments/${id}`, { token: alice });
      expect(res.status).toBe(404);
    }
  });

  it("lists an order's payment for those who may read it", async () => {
    const orderId = uniqueId("order");
    const made = await create(alice, uniqueId("key"), intent(orderId));
    const mine = await stack.call("GET", `/api/payments?orderId=${orderId}`, { token: alice });
    expect(mine.status).toBe(200);
    expect(mine.body.items).toEqual([
      expect.objectContaining({ id: made.body.id, clientSecret: made.body.clientSecret }),
    ]);
    const theirs = await stack.call("GET", `/api/payments?orderId=${orderId}`, { token: bob });
    expect(theirs.body.items).toEqual([]);
    const none = await stack.call("GET", `/api/payments?orderId=${uniqueId("order")}`, {
      token: alice,
    });
    expect(none.body.items).toEqual([]);
  });

  it("validates the lookup query", async () => {
    for (const query of [
      "?orderId=",
      "?orderId=has%20space",
      "?other=1",
      "?orderId=a&customerId=b",
      "?orderId=a&status=failed",
      "?stripePaymentIntentId=ch_1",
      "?customerId=alice&limit=0",
      "?customerId=alice&limit=101",
      "?customerId=alice&cursor=not-one-of-ours",
    ]) {
      const res = await stack.call("GET", `/api/payments${query}`, { token: alice });
      expect(res.status, query).toBe(400);
      expect(res.body.code).toBe("validation_failed");
    }
    // No lookup at all is the recent list, which is for admins only.
    const recent = await stack.call("GET", "/api/payments", { token: alice });
    expect(recent.status).toBe(403);
    expect(recent.body.code).toBe("insufficient_scope");
  });
});

function countBy(values: readonly number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

describe("the OpenAPI document", () => {
  it("describes every answer this file received", () => {
    expect(stack.contract.checked).toBeGreaterThan(5);
    expect(stack.contract.violations).toEqual([]);
  });
});
