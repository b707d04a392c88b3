import { describe, expect, it } from "vitest";
import { callerFromClaims, mayRead, requireAnyScope, SCOPES } from "../../lib/auth.js";
import {
  InsufficientScopeError,
  OrderAlreadyHasPaymentError,
  UnauthenticatedError,
  ValidationError,
} from "../../lib/domain/errors.js";
import { problemFromError } from "../../lib/http/problem.js";
import {
  countEvents,
  eventMetricName,
  isCardNumber,
  metrics,
  passesLuhn,
  RedactingLogFormatter,
  redact,
} from "../../lib/observability.js";

describe("caller from claims", () => {
  it("reads sub and the space-separated scope claim", () => {
    const caller = callerFromClaims({ sub: "alice", scope: "payments:read payments:write" });
    expect(caller.sub).toBe("alice");
    expect([...caller.scopes].sort()).toEqual(["payments:read", "payments:write"]);
  });

  it("reads a scope list that API Gateway rendered as text", () => {
    expect(
      [...callerFromClaims({ sub: "a", scp: "[payments:read payments:admin]" }).scopes].sort(),
    ).toEqual(["payments:admin", "payments:read"]);
  });

  it("refuses claims without a subject", () => {
    expect(() => callerFromClaims({ scope: "payments:read" })).toThrow(UnauthenticatedError);
    expect(() => callerFromClaims(undefined)).toThrow(UnauthenticatedError);
  });

  it("enforces scopes", () => {
    const caller = callerFromClaims({ sub: "a", scope: "payments:read" });
    expect(() => requireAnyScope(caller, SCOPES.write)).toThrow(InsufficientScopeError);
    expect(() => requireAnyScope(caller, SCOPES.write, SCOPES.read)).not.toThrow();
  });

  it.each([
    ["payments:read", "alice", true],
    ["payments:read", "bob", false],
    ["payments:admin", "bob", true],
    ["payments:write", "alice", false],
    ["payments:refund", "bob", false],
  ])("with %s, alice may read a payment of %s: %s", (scope, owner, expected) => {
    expect(mayRead(callerFromClaims({ sub: "alice", scope }), owner)).toBe(expected);
  });
});

describe("problem details", () => {
  it("answers validation errors with their field errors", () => {
    const { response, unexpected } = problemFromError(
      new ValidationError([{ path: "/amount", message: "bad" }]),
    );
    expect(unexpected).toBe(false);
    expect(response.statusCode).toBe(400);
    expect(response.headers?.["content-type"]).toBe("application/problem+json");
    expect(JSON.parse(response.body ?? "")).toMatchObject({
      status: 400,
      code: "validation_failed",
      errors: [{ path: "/amount", message: "bad" }],
    });
  });

  it("carries extensions such as the existing payment id", () => {
    const { response } = problemFromError(new OrderAlreadyHasPaymentError("pay_1"));
    expect(response.statusCode).toBe(409);
    expect(JSON.parse(response.body ?? "")).toMatchObject({
      code: "order_already_has_payment",
      paymentId: "pay_1",
    });
  });

  it("turns anything unknown into a 500 that says nothing of it", () => {
    const { response, unexpected } = problemFromError(
      new Error("connection string postgres://secret@db"),
    );
    expect(unexpected).toBe(true);
    expect(response.statusCode).toBe(500);
    expect(response.body).not.toContain("secret");
  });
});

describe("redaction", () => {
  it("removes client secrets, card numbers and secret-named fields", () => {
    const out = JSON.stringify(
      redact({
        message: "pi_123_secret_abc for 4242 4242 4242 4242",
        clientSecret: "anything",
        nested: { stripeSignature: "t=1,v1=x", amount: 1000 },
      }),
    );
    expect(out).not.toContain("pi_123_secret_abc");
    expect(out).not.toContain("4242 4242");
    expect(out).not.toContain("t=1,v1=x");
    expect(out).toContain("1000");
  });

  it("masks card numbers and keeps ids whose digits are no card number", () => {
    // Stripe's test cards (Visa, Mastercard, Amex, 19-digit Visa), grouped or not.
    for (const card of [
      "4242424242424242",
      "5555-5555-5555-4444",
      "378282246310005",
      "4000056655665556",
    ])
      expect(redact(`paid with ${card}.`)).toBe("paid with [redacted].");
    expect(redact("order o-card-17961608786640 paid")).toBe("order o-card-17961608786640 paid");
    expect(redact("pi_3PZ1234567890123 and 1234567890123")).toBe(
      "pi_3PZ1234567890123 and 1234567890123",
    );
  });

  it("implements Luhn as card issuers do", () => {
    expect(passesLuhn("79927398713")).toBe(true);
    expect(passesLuhn("79927398710")).toBe(false);
    expect(passesLuhn("4242424242424242")).toBe(true);
    expect(passesLuhn("4242424242424241")).toBe(false);
  });

  it("takes a card number only with a card network's first digit, a card's length and Luhn", () => {
    expect(isCardNumber("17961608786640")).toBe(false); // passes Luhn, no network starts with 1
    expect(isCardNumber("36227206271667")).toBe(true); // Diners, 14 digits
    expect(isCardNumber("424242424242")).toBe(false); // 12 digits
    expect(isCardNumber("4242424242424241")).toBe(false); // fails Luhn
  });
});

describe("log formatter", () => {
  it("prints Powertools' keys and masks secrets in the message and in attributes", () => {
    const item = new RedactingLogFormatter().formatAttributes(
      {
        logLevel: "INFO",
        message: "created pi_1_secret_abc",
        timestamp: new Date("2026-01-01T00:00:00Z"),
        serviceName: "payment-service",
        sampleRateValue: 0,
        awsRegion: "us-east-1",
      },
      {
        correlation_id: "req-1",
        stripeSignature: "t=1,v1=abc",
        card: { number: "4242424242424242" },
      },
    );
    const printed = JSON.stringify(item.getAttributes());
    expect(item.getAttributes()).toMatchObject({
      level: "INFO",
      service: "payment-service",
      correlation_id: "req-1",
    });
    expect(printed).not.toContain("pi_1_secret_abc");
    expect(printed).not.toContain("t=1,v1=abc");
    expect(printed).not.toContain("4242424242424242");
  });
});

describe("metric names", () => {
  it("name outgoing events and the capture's processing time", () => {
    expect(eventMetricName("payment.captured")).toBe("PaymentCaptured");
    metrics.clearMetrics();
    countEvents(["payment.authorized", "payment.captured"], {
      createdAt: "2026-01-01T00:00:00.000Z",
      updatedAt: "2026-01-01T00:00:02.500Z",
    });
    const emf = metrics.serializeMetrics();
    expect(emf).toMatchObject({
      PaymentAuthorized: 1,
      PaymentCaptured: 1,
      PaymentProcessingTime: 2500,
    });
    metrics.clearMetrics();
  });
});
