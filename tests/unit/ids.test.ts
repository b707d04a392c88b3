import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  deriveId,
  isPaymentId,
  paymentIdForRequest,
  refundIdForRequest,
} from "../../lib/domain/ids.js";

describe("derived ids", () => {
  it("are stable for the same caller and key", () => {
    expect(paymentIdForRequest("alice", "k1")).toBe(paymentIdForRequest("alice", "k1"));
    expect(refundIdForRequest("ops", "k1", "pay_x")).toBe(refundIdForRequest("ops", "k1", "pay_x"));
  });

  it("differ across callers, keys and payments", () => {
    expect(paymentIdForRequest("alice", "k1")).not.toBe(paymentIdForRequest("bob", "k1"));
    expect(paymentIdForRequest("alice", "k1")).not.toBe(paymentIdForRequest("alice", "k2"));
    expect(refundIdForRequest("ops", "k1", "pay_a")).not.toBe(
      refundIdForRequest("ops", "k1", "pay_b"),
    );
  });

  it("cannot be forged by moving characters between parts", () => {
    expect(deriveId("x", "ab", "c")).not.toBe(deriveId("x", "a", "bc"));
  });

  it("always have the payment id shape", () => {
    fc.assert(
      fc.property(fc.string(), fc.string({ minLength: 1, maxLength: 255 }), (sub, key) => {
        expect(isPaymentId(paymentIdForRequest(sub, key))).toBe(true);
      }),
    );
  });

  it.each([
    "",
    "pay_",
    "pay_123",
    "PAY_0123456789abcdefghjkmnpqrs",
    "pay_0123456789abcdefghjkmnpqrs/",
    "../etc",
  ])("%j is not a payment id", (id) => {
    expect(isPaymentId(id)).toBe(false);
  });
});
