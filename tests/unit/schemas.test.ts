import { describe, expect, it } from "vitest";
import { ValidationError } from "../../lib/domain/errors.js";
import {
  createIntentBody,
  IDEMPOTENCY_KEY_PATTERN,
  parseOrThrow,
  refundBody,
} from "../../lib/schemas.js";

const valid = { orderId: "order-1", amount: 1999, currency: "USD" };

function problems(input: unknown): { path: string; message: string }[] {
  try {
    parseOrThrow(createIntentBody, input);
  } catch (error) {
    if (error instanceof ValidationError) return [...error.errors];
    throw error;
  }
  return [];
}

describe("create intent body", () => {
  it("lower-cases the currency and defaults to automatic capture", () => {
    expect(parseOrThrow(createIntentBody, valid)).toEqual({
      orderId: "order-1",
      amount: 1999,
      currency: "usd",
      captureMethod: "automatic",
    });
  });

  it("keeps description, metadata and manual capture", () => {
    const body = {
      ...valid,
      captureMethod: "manual",
      description: "Two books",
      metadata: { cart: "c-9" },
    };
    expect(parseOrThrow(createIntentBody, body)).toMatchObject({
      captureMethod: "manual",
      metadata: { cart: "c-9" },
    });
  });

  it.each([
    ["a float amount", { ...valid, amount: 19.99 }, "/amount"],
    ["a string amount", { ...valid, amount: "1999" }, "/amount"],
    ["a negative amount", { ...valid, amount: -5 }, "/amount"],
    ["an amount over the maximum", { ...valid, amount: 100_000_000 }, "/amount"],
    ["an amount under Stripe's minimum", { ...valid, amount: 49 }, "/amount"],
    ["an unknown currency", { ...valid, currency: "ABC" }, "/currency"],
    ["a currency of the wrong shape", { ...valid, currency: "dollars" }, "/currency"],
    ["an empty order id", { ...valid, orderId: "" }, "/orderId"],
    ["an order id with a space", { ...valid, orderId: "order 1" }, "/orderId"],
    ["an order id of 65 characters", { ...valid, orderId: "x".repeat(65) }, "/orderId"],
    ["an unknown capture method", { ...valid, captureMethod: "later" }, "/captureMethod"],
    ["a missing order id", { amount: 1999, currency: "usd" }, "/orderId"],
    ["a metadata value that is not a string", { ...valid, metadata: { n: 1 } }, "/metadata/n"],
    [
      "a reserved metadata key",
      { ...valid, metadata: { payment_id: "x" } },
      "/metadata/payment_id",
    ],
    ["a metadata key with brackets", { ...valid, metadata: { "a[b]": "x" } }, "/metadata/a[b]"],
    [
      "a metadata value over 500 characters",
      { ...valid, metadata: { a: "x".repeat(501) } },
      "/metadata/a",
    ],
  ])("rejects %s", (_name, input, path) => {
    expect(problems(input).map((p) => p.path)).toContain(path);
  });

  it("rejects unknown fields, naming them", () => {
    const found = problems({ ...valid, amountInDollars: 19.99 });
    expect(found).toHaveLength(1);
    expect(found[0]?.path).toBe("/amountInDollars");
  });

  it("rejects more than 47 metadata keys (Stripe allows 50; three are ours)", () => {
    const metadata = Object.fromEntries(Array.from({ length: 48 }, (_, i) => [`k${i}`, "v"]));
    expect(problems({ ...valid, metadata }).map((p) => p.path)).toContain("/metadata");
  });

  it.each([null, [], "order", 42])("rejects a body that is not an object: %j", (input) => {
    expect(problems(input).length).toBeGreaterThan(0);
  });

  it("accepts zero-decimal currencies in whole units", () => {
    expect(
      parseOrThrow(createIntentBody, { orderId: "o", amount: 50, currency: "jpy" }).amount,
    ).toBe(50);
  });
});

describe("refund body", () => {
  it.each([
    {},
    { amount: 1 },
    { reason: "duplicate" },
    { amount: 500, reason: "requested_by_customer" },
  ])("accepts %j", (body) => {
    expect(() => parseOrThrow(refundBody, body)).not.toThrow();
  });
  it.each([
    { amount: 0 },
    { amount: 1.5 },
    { reason: "changed_mind" },
    { amount: 10, extra: true },
  ])("rejects %j", (body) => {
    expect(() => parseOrThrow(refundBody, body)).toThrow(ValidationError);
  });
});

describe("Idempotency-Key", () => {
  it.each(["a", "550e8400-e29b-41d4-a716-446655440000", "x".repeat(255), "with space ~!"])(
    "accepts %j",
    (key) => {
      expect(IDEMPOTENCY_KEY_PATTERN.test(key)).toBe(true);
    },
  );
  it.each(["", "x".repeat(256), "tab\there", "é", "line\n"])("rejects %j", (key) => {
    expect(IDEMPOTENCY_KEY_PATTERN.test(key)).toBe(false);
  });
});
