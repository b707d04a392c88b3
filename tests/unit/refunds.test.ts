import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PaymentStatus } from "../../lib/domain/payment.js";
import { decideRefund, refundableRemainder } from "../../lib/domain/refunds.js";

const captured = (
  amountCaptured: number,
  amountRefunded = 0,
  amountRefundPending = 0,
  status: PaymentStatus = "captured",
) => ({
  status,
  amountCaptured,
  amountRefunded,
  amountRefundPending,
});

describe("decideRefund", () => {
  it.each([
    ["full by default", captured(1000), undefined, { ok: true, amount: 1000 }],
    [
      "what remains by default",
      captured(1000, 300, 200, "partially_refunded"),
      undefined,
      { ok: true, amount: 500 },
    ],
    ["a part", captured(1000), 400, { ok: true, amount: 400 }],
    [
      "exactly the remainder",
      captured(1000, 600, 0, "partially_refunded"),
      400,
      { ok: true, amount: 400 },
    ],
    [
      "more than remains",
      captured(1000, 600, 0, "partially_refunded"),
      401,
      { ok: false, reason: "exceeds_remaining", remaining: 400 },
    ],
    [
      "pending refunds count",
      captured(1000, 0, 900),
      200,
      { ok: false, reason: "exceeds_remaining", remaining: 100 },
    ],
    [
      "not captured",
      captured(0, 0, 0, "initiated"),
      undefined,
      { ok: false, reason: "not_refundable" },
    ],
    [
      "authorized only",
      captured(0, 0, 0, "authorized"),
      100,
      { ok: false, reason: "not_refundable" },
    ],
    [
      "already refunded",
      captured(1000, 1000, 0, "refunded"),
      undefined,
      { ok: false, reason: "not_refundable" },
    ],
    [
      "fully refunded but status lagging",
      captured(1000, 1000, 0, "partially_refunded"),
      10,
      { ok: false, reason: "not_refundable" },
    ],
    [
      "all held by refunds in flight",
      captured(1000, 0, 1000),
      undefined,
      { ok: false, reason: "not_refundable" },
    ],
    ["canceled", captured(0, 0, 0, "canceled"), undefined, { ok: false, reason: "not_refundable" }],
  ] as const)("%s", (_name, payment, requested, expected) => {
    expect(decideRefund(payment, requested)).toEqual(expected);
  });

  it.each([
    ["warning_needs_response", true],
    ["warning_under_review", true],
    ["warning_closed", true],
    ["prevented", true],
    ["won", true],
    ["needs_response", false],
    ["under_review", false],
    ["lost", false],
    ["appeal_needs_response", false],
    ["a_status_stripe_adds_later", false],
  ] as const)("a dispute %s: refund allowed %s", (status, allowed) => {
    const dispute = {
      id: "dp_1",
      status,
      reason: "fraudulent",
      amount: 1000,
      at: 1,
      closed: false,
    };
    expect(decideRefund({ ...captured(1000), dispute }, 100)).toEqual(
      allowed ? { ok: true, amount: 100 } : { ok: false, reason: "disputed" },
    );
  });

  it("never lets a sequence of accepted refunds exceed what was captured", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.array(fc.option(fc.integer({ min: 1, max: 600_000 }), { nil: undefined }), {
          maxLength: 30,
        }),
        (amountCaptured, requests) => {
          let pending = 0;
          for (const requested of requests) {
            const decision = decideRefund(captured(amountCaptured, 0, pending), requested);
            if (decision.ok) {
              expect(decision.amount).toBeGreaterThan(0);
              if (requested !== undefined) expect(decision.amount).toBe(requested);
              pending += decision.amount;
            }
            expect(pending).toBeLessThanOrEqual(amountCaptured);
          }
          expect(refundableRemainder(captured(amountCaptured, 0, pending))).toBe(
            amountCaptured - pending,
          );
        },
      ),
    );
  });
});
