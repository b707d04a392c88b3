import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Applied,
  applyFact,
  type RefundRecordState,
  type StripeFact,
} from "../../lib/domain/lifecycle.js";
import { newPayment, type Payment } from "../../lib/domain/payment.js";
import { decideRefund } from "../../lib/domain/refunds.js";

const base = (captureMethod: "automatic" | "manual" = "automatic"): Payment =>
  newPayment({
    id: "pay_x",
    orderId: "o1",
    customerId: "c1",
    amount: 10_000,
    currency: "usd",
    captureMethod,
    stripePaymentIntentId: "pi_x",
    now: "2026-01-01T00:00:00.000Z",
  });

const intent = (
  at: number,
  status: string,
  extra: Partial<{
    amountCapturable: number;
    amountReceived: number;
    failure: { code: string; message: string };
    attemptId: string;
    reread: boolean;
  }> = {},
): StripeFact => ({
  kind: "intent",
  at,
  status,
  amountCapturable: extra.amountCapturable ?? 0,
  amountReceived: extra.amountReceived ?? 0,
  ...(extra.failure === undefined ? {} : { failure: extra.failure }),
  ...(extra.attemptId === undefined ? {} : { attemptId: extra.attemptId }),
  ...(extra.reread === true ? { reread: true } : {}),
});
const declined = (code: string) => ({ code, message: `Your card was declined (${code}).` });

/** Applies facts in order, as the webhook handler does, and collects what it would record. */
function run(
  start: Payment,
  facts: readonly StripeFact[],
  records = new Map<string, RefundRecordState>(),
) {
  let payment = start;
  const events: string[] = [];
  const history: string[] = [];
  for (const fact of facts) {
    const key = fact.kind === "refund" ? (fact.refundId ?? fact.stripeRefundId) : "";
    const result: Applied = applyFact(
      payment,
      fact,
      fact.kind === "refund" ? records.get(key) : undefined,
    );
    payment = result.payment;
    if (result.refund !== undefined) records.set(key, result.refund);
    for (const c of result.changes) {
      history.push(c.status);
      if (c.event !== undefined) events.push(c.event);
    }
  }
  return { payment, events, history, records };
}

describe("applyFact, in order", () => {
  it("the same failed attempt seen again later (a re-fetch) is not a new failure", () => {
    const failure = { failure: declined("insufficient_funds"), attemptId: "ch_1" };
    const first = run(base(), [intent(10, "requires_payment_method", failure)]);
    const again = run(first.payment, [
      intent(500, "requires_payment_method", failure),
      intent(900, "requires_payment_method", failure),
    ]);
    expect(again.events).toEqual([]);
    expect(again.history).toEqual([]);
    // A new attempt (another charge) that fails again is a new failure.
    const retried = run(first.payment, [
      intent(600, "requires_payment_method", {
        failure: declined("generic_decline"),
        attemptId: "ch_2",
      }),
    ]);
    expect(retried.events).toEqual(["payment.failed"]);
  });

  it("a chargeless failure (3-D Secure) re-read later is the same failure; a new event is a new one", () => {
    const failure = declined("payment_intent_authentication_failure");
    const failed = run(base(), [
      intent(10, "requires_action"),
      intent(11, "requires_payment_method", { failure }),
    ]);
    expect(failed.events).toEqual(["payment.failed"]);
    // Reconciliation reads it again and again (each read stamped with its own time).
    const reread = (at: number) => intent(at, "requires_payment_method", { failure, reread: true });
    const looked = run(failed.payment, [reread(500), reread(900)]);
    expect(looked.events).toEqual([]);
    expect(looked.history).toEqual([]);
    expect(applyFact(failed.payment, reread(1_000)).dirty).toBe(false);
    // A re-read of a waiting 3-D Secure attempt writes nothing either.
    const waiting = run(base(), [intent(10, "requires_action")]);
    expect(applyFact(waiting.payment, intent(700, "requires_action", { reread: true })).dirty).toBe(
      false,
    );
    // A record written before chargeless attempts had no id (it held the earlier decline's
    // charge id for the 3-D Secure failure): a re-read is still the same failure.
    const legacy = run(base(), [
      intent(10, "requires_payment_method", { failure, attemptId: "ch_earlier_decline" }),
    ]);
    expect(run(legacy.payment, [reread(800)]).events).toEqual([]);
    // A re-read that shows another code is another failure.
    const other = run(failed.payment, [
      intent(600, "requires_payment_method", { failure: declined("expired_card"), reread: true }),
    ]);
    expect(other.events).toEqual(["payment.failed"]);
    // A second authentication failure delivered as an event is a new failure.
    const again = run(failed.payment, [
      intent(20, "requires_action"),
      intent(21, "requires_payment_method", { failure }),
    ]);
    expect(again.events).toEqual(["payment.failed"]);
  });

  it("a refund counted before the capture is announced when the capture arrives", () => {
    const { payment, events } = run(base(), [
      { kind: "refund", at: 30, stripeRefundId: "re_dash", amount: 10_000, status: "succeeded" },
      intent(20, "succeeded", { amountReceived: 10_000 }),
    ]);
    expect(payment.status).toBe("refunded");
    expect(events).toEqual(["payment.authorized", "payment.captured", "payment.refunded"]);
  });

  it("automatic capture: initiated -> authorized -> captured, with both events", () => {
    const { payment, events, history } = run(base(), [
      intent(10, "succeeded", { amountReceived: 10_000 }),
    ]);
    expect(payment.status).toBe("captured");
    expect(payment.amountCaptured).toBe(10_000);
    expect(history).toEqual(["authorized", "captured"]);
    expect(events).toEqual(["payment.authorized", "payment.captured"]);
  });

  it("decline, then a good card: failed (with the decline code) then captured", () => {
    const failed = run(base(), [
      intent(10, "requires_payment_method", { failure: declined("insufficient_funds") }),
    ]);
    expect(failed.payment).toMatchObject({ status: "failed", failureCode: "insufficient_funds" });
    expect(failed.events).toEqual(["payment.failed"]);
    const later = run(failed.payment, [intent(20, "succeeded", { amountReceived: 10_000 })]);
    expect(later.payment.status).toBe("captured");
    expect(later.events).toEqual(["payment.authorized", "payment.captured"]);
  });

  it("a late failure never moves a captured payment back", () => {
    const { payment, events } = run(base(), [
      intent(20, "succeeded", { amountReceived: 10_000 }),
      intent(10, "requires_payment_method", { failure: declined("generic_decline") }),
    ]);
    expect(payment.status).toBe("captured");
    expect(events).toEqual(["payment.authorized", "payment.captured"]);
  });

  it("a late processing event never moves a failed payment back, a newer one does", () => {
    const failed = run(base(), [
      intent(20, "requires_payment_method", { failure: declined("card_declined") }),
    ]);
    expect(run(failed.payment, [intent(10, "processing")]).payment.status).toBe("failed");
    expect(run(failed.payment, [intent(30, "processing")]).payment.status).toBe("processing");
  });

  it("3-D Secure: requires_action (no event), then captured once the customer authenticates", () => {
    const waiting = run(base(), [intent(10, "requires_action")]);
    expect(waiting.payment.status).toBe("requires_action");
    expect(waiting.history).toEqual(["requires_action"]);
    expect(waiting.events).toEqual([]);
    const paid = run(waiting.payment, [intent(11, "succeeded", { amountReceived: 10_000 })]);
    expect(paid.payment.status).toBe("captured");
    expect(paid.events).toEqual(["payment.authorized", "payment.captured"]);
    // Manual capture: authorized after authentication.
    const held = run(base("manual"), [
      intent(10, "requires_action"),
      intent(12, "requires_capture", { amountCapturable: 10_000 }),
    ]);
    expect(held.payment.status).toBe("authorized");
    expect(held.events).toEqual(["payment.authorized"]);
  });

  it("3-D Secure failed: failed with Stripe's code, in the same second too; a new attempt asks again", () => {
    const failure = {
      code: "payment_intent_authentication_failure",
      message: "The provided PaymentMethod has failed authentication.",
    };
    for (const [asked, failedAt] of [
      [10, 11],
      [10, 10],
    ] as const) {
      const failed = run(base(), [
        intent(asked, "requires_action"),
        intent(failedAt, "requires_payment_method", { failure }),
      ]);
      expect(failed.payment).toMatchObject({
        status: "failed",
        failureCode: "payment_intent_authentication_failure",
      });
      expect(failed.events).toEqual(["payment.failed"]);
      // Delivered the other way round: the same end.
      const reversed = run(base(), [
        intent(failedAt, "requires_payment_method", { failure }),
        intent(asked, "requires_action"),
      ]);
      expect(reversed.payment.status).toBe("failed");
    }
    const failed = run(base(), [intent(10, "requires_payment_method", { failure })]);
    expect(run(failed.payment, [intent(20, "requires_action")]).payment.status).toBe(
      "requires_action",
    );
    // A late requires_action never moves a captured payment back.
    const captured = run(base(), [intent(20, "succeeded", { amountReceived: 10_000 })]);
    expect(run(captured.payment, [intent(10, "requires_action")]).payment.status).toBe("captured");
  });

  it("a dispute: announced once, followed, closed once; the status stays; refunds wait while it is open", () => {
    const captured = run(base(), [intent(10, "succeeded", { amountReceived: 10_000 })]);
    const report = (at: number, status: string): StripeFact => ({
      kind: "dispute",
      at,
      disputeId: "dp_1",
      status,
      reason: "fraudulent",
      amount: 10_000,
    });
    const opened = run(captured.payment, [report(20, "needs_response")]);
    expect(opened.payment.status).toBe("captured");
    expect(opened.payment.dispute).toMatchObject({ id: "dp_1", status: "needs_response" });
    expect(opened.events).toEqual(["payment.disputed"]);
    expect(decideRefund(opened.payment, 100)).toEqual({ ok: false, reason: "disputed" });
    const reviewed = run(opened.payment, [
      report(30, "under_review"),
      report(25, "needs_response"),
    ]);
    expect(reviewed.payment.dispute?.status).toBe("under_review");
    expect(reviewed.events).toEqual([]);
    const lost = run(reviewed.payment, [report(40, "lost")]);
    expect(lost.events).toEqual(["payment.dispute_closed"]);
    // Lost: the cardholder has the money back; no refund on top.
    expect(decideRefund(lost.payment, 100)).toEqual({ ok: false, reason: "disputed" });
    // Reopened for an appeal, then decided again: shown, but closed only once.
    const appealed = run(lost.payment, [report(50, "appeal_needs_response"), report(60, "won")]);
    expect(appealed.payment.dispute?.status).toBe("won");
    expect(appealed.events).toEqual([]);
    expect(decideRefund(appealed.payment, 100)).toEqual({ ok: true, amount: 100 });
    // The closing report first: both events, in order, and the late opening changes nothing.
    const closedFirst = run(captured.payment, [report(40, "won"), report(20, "needs_response")]);
    expect(closedFirst.events).toEqual(["payment.disputed", "payment.dispute_closed"]);
    expect(closedFirst.payment.dispute?.status).toBe("won");
    // Two reports alike but for the amount (or reason) in one second: one kept, either order.
    const partial = { ...report(70, "under_review"), amount: 4_000 };
    const other = { ...report(70, "under_review"), reason: "duplicate" };
    const full = report(70, "under_review");
    for (const pair of [
      [partial, full],
      [other, full],
    ]) {
      const one = run(opened.payment, pair).payment.dispute;
      const two = run(opened.payment, [...pair].reverse()).payment.dispute;
      expect(one).toEqual(two);
    }
  });

  it("manual capture: authorized, then captured without a second authorized event", () => {
    const { payment, events } = run(base("manual"), [
      intent(10, "requires_capture", { amountCapturable: 10_000 }),
      { kind: "charge", at: 20, status: "succeeded", captured: true, amountCaptured: 6_000 },
      intent(20, "succeeded", { amountReceived: 6_000 }),
    ]);
    expect(payment).toMatchObject({ status: "captured", amountCaptured: 6_000 });
    expect(payment.lifecycle.amountCapturable).toBe(0);
    expect(events).toEqual(["payment.authorized", "payment.captured"]);
  });

  it("canceled is final, and publishes nothing", () => {
    const { payment, events, history } = run(base("manual"), [
      intent(10, "requires_capture", { amountCapturable: 10_000 }),
      intent(20, "canceled"),
      intent(15, "requires_capture", { amountCapturable: 10_000 }),
    ]);
    expect(payment.status).toBe("canceled");
    expect(history).toEqual(["authorized", "canceled"]);
    expect(events).toEqual(["payment.authorized"]);
  });

  it("refunds settle once each; partial then full; refunded is final", () => {
    const records = new Map<string, RefundRecordState>([
      ["rfd_1", { amount: 4_000, reservation: "held", status: "pending" }],
    ]);
    const held = { ...base(), amountRefundPending: 4_000 };
    const { payment, events, history } = run(
      held,
      [
        intent(10, "succeeded", { amountReceived: 10_000 }),
        {
          kind: "refund",
          at: 20,
          stripeRefundId: "re_1",
          refundId: "rfd_1",
          amount: 4_000,
          status: "succeeded",
        },
        {
          kind: "refund",
          at: 20,
          stripeRefundId: "re_1",
          refundId: "rfd_1",
          amount: 4_000,
          status: "succeeded",
        },
        { kind: "refund", at: 30, stripeRefundId: "re_ext", amount: 6_000, status: "succeeded" },
        intent(5, "requires_payment_method", { failure: declined("generic_decline") }),
      ],
      records,
    );
    expect(payment).toMatchObject({
      status: "refunded",
      amountRefunded: 10_000,
      amountRefundPending: 0,
    });
    expect(history).toEqual(["authorized", "captured", "partially_refunded", "refunded"]);
    expect(events).toEqual([
      "payment.authorized",
      "payment.captured",
      "payment.refunded",
      "payment.refunded",
    ]);
  });

  it("a held refund shows the newest status Stripe gave: a late older event does not set it back", () => {
    const records = new Map<string, RefundRecordState>([
      ["rfd_1", { amount: 3_000, reservation: "held", status: "pending" }],
    ]);
    const start = {
      ...run(base(), [intent(10, "succeeded", { amountReceived: 10_000 })]).payment,
      amountRefundPending: 3_000,
    };
    const refundAt = (at: number, status: "pending" | "requires_action") =>
      ({
        kind: "refund",
        at,
        stripeRefundId: "re_1",
        refundId: "rfd_1",
        amount: 3_000,
        status,
      }) as const;
    const { payment } = run(
      start,
      [refundAt(40, "requires_action"), refundAt(30, "pending"), refundAt(40, "requires_action")],
      records,
    );
    expect(records.get("rfd_1")).toEqual({
      amount: 3_000,
      reservation: "held",
      status: "requires_action",
      statusAt: 40,
    });
    expect(payment.amountRefundPending).toBe(3_000);
    // A newer one does move it.
    run(payment, [refundAt(50, "pending")], records);
    expect(records.get("rfd_1")?.status).toBe("pending");
  });

  it("a failed refund releases its reservation once", () => {
    const records = new Map<string, RefundRecordState>([
      ["rfd_1", { amount: 3_000, reservation: "held", status: "pending" }],
    ]);
    const start = {
      ...run(base(), [intent(10, "succeeded", { amountReceived: 10_000 })]).payment,
      amountRefundPending: 3_000,
    };
    const fail = {
      kind: "refund",
      at: 30,
      stripeRefundId: "re_1",
      refundId: "rfd_1",
      amount: 3_000,
      status: "failed",
    } as const;
    const { payment, events } = run(start, [fail, fail], records);
    expect(payment).toMatchObject({
      status: "captured",
      amountRefundPending: 0,
      amountRefunded: 0,
    });
    expect(events).toEqual([]);
    expect(records.get("rfd_1")?.reservation).toBe("released");
  });
});

// ---- property: any delivery order, with duplicates, ends where in-order delivery ends.

interface Scenario {
  readonly captureMethod: "automatic" | "manual";
  readonly facts: readonly StripeFact[];
  readonly heldRefunds: ReadonlyMap<string, number>;
}

const scenario: fc.Arbitrary<Scenario> = fc
  .record({
    manual: fc.boolean(),
    failures: fc.array(
      fc.constantFrom(
        "generic_decline",
        "insufficient_funds",
        "expired_card",
        "payment_intent_authentication_failure",
      ),
      { maxLength: 3 },
    ),
    processingFirst: fc.boolean(),
    // 3-D Secure: each attempt waits for the customer first (requires_action).
    authenticateFirst: fc.boolean(),
    outcome: fc.constantFrom("captured", "canceled", "abandoned", "awaiting_authentication"),
    captureAmount: fc.integer({ min: 1, max: 10_000 }),
    refunds: fc.array(
      fc.record({
        ours: fc.boolean(),
        share: fc.integer({ min: 1, max: 100 }),
        fails: fc.boolean(),
        pendingFirst: fc.boolean(),
      }),
      { maxLength: 4 },
    ),
    sameSecond: fc.boolean(),
    // A chargeback on the captured charge: opened, maybe under review, maybe decided.
    dispute: fc.option(
      fc.record({
        reviewed: fc.boolean(),
        decided: fc.constantFrom("won", "lost", "open"),
      }),
    ),
  })
  .map((r) => {
    const { manual, failures, processingFirst, authenticateFirst, outcome } = r;
    const { captureAmount, refunds, sameSecond, dispute } = r;
    const facts: StripeFact[] = [];
    let t = 100;
    const tick = () => (sameSecond ? t : ++t);
    failures.forEach((code, i) => {
      // As Stripe names attempts (stripe-facts.ts): by the attempt's own charge; a 3-D Secure
      // attempt, waiting or failed, has none.
      const authentication = code === "payment_intent_authentication_failure";
      if (authenticateFirst || authentication) facts.push(intent(tick(), "requires_action"));
      const charge = authentication ? {} : { attemptId: `ch_${i}` };
      if (processingFirst && !authentication) facts.push(intent(tick(), "processing", charge));
      facts.push(intent(tick(), "requires_payment_method", { failure: declined(code), ...charge }));
      if (!authentication) {
        facts.push({
          kind: "charge",
          at: t,
          status: "failed",
          captured: false,
          amountCaptured: 0,
          failure: declined(code),
        });
      }
    });
    const heldRefunds = new Map<string, number>();
    if (authenticateFirst || outcome === "awaiting_authentication") {
      facts.push(intent(tick(), "requires_action"));
    }
    if (outcome === "abandoned" || outcome === "awaiting_authentication")
      return { captureMethod: manual ? "manual" : "automatic", facts, heldRefunds } as const;
    if (manual) facts.push(intent(tick(), "requires_capture", { amountCapturable: 10_000 }));
    if (outcome === "canceled") {
      facts.push(intent(tick(), "canceled"));
      return { captureMethod: manual ? "manual" : "automatic", facts, heldRefunds } as const;
    }
    const captured = manual ? captureAmount : 10_000;
    facts.push({
      kind: "charge",
      at: tick(),
      status: "succeeded",
      captured: true,
      amountCaptured: captured,
    });
    facts.push(intent(t, "succeeded", { amountReceived: captured }));
    let left = captured;
    refunds.forEach((r, i) => {
      const amount = Math.min(left, Math.max(1, Math.floor((captured * r.share) / 100)));
      if (amount <= 0 || left <= 0) return;
      left -= amount;
      const refundId = r.ours ? `rfd_${i}` : undefined;
      if (refundId !== undefined) heldRefunds.set(refundId, amount);
      const one = (status: "pending" | "succeeded" | "failed"): StripeFact => ({
        kind: "refund",
        at: tick(),
        stripeRefundId: `re_${i}`,
        ...(refundId === undefined ? {} : { refundId }),
        amount,
        status,
      });
      if (r.pendingFirst) facts.push(one("pending"));
      facts.push(one(r.fails ? "failed" : "succeeded"));
      if (r.fails) left += amount;
    });
    if (dispute !== null) {
      const report = (status: string): StripeFact => ({
        kind: "dispute",
        at: tick(),
        disputeId: "dp_1",
        status,
        reason: "fraudulent",
        amount: captured,
      });
      facts.push(report("needs_response"));
      if (dispute.reviewed) facts.push(report("under_review"));
      if (dispute.decided !== "open") facts.push(report(dispute.decided));
    }
    return { captureMethod: manual ? "manual" : "automatic", facts, heldRefunds } as const;
  });

/** Runs a delivery: facts with event ids, duplicates dropped by id as the webhook handler does. */
function deliver(s: Scenario, order: readonly number[]) {
  const records = new Map<string, RefundRecordState>();
  let pending = 0;
  for (const [id, amount] of s.heldRefunds) {
    records.set(id, { amount, reservation: "held", status: "pending" });
    pending += amount;
  }
  const seen = new Set<number>();
  const facts: StripeFact[] = [];
  for (const i of order) {
    if (seen.has(i)) continue; // the same Stripe event id is applied once
    seen.add(i);
    const fact = s.facts[i];
    if (fact !== undefined) facts.push(fact);
  }
  return run({ ...base(s.captureMethod), amountRefundPending: pending }, facts, records);
}

describe("applyFact, in any order", () => {
  it("any delivery order with duplicates ends in the same status and amounts as in-order delivery", () => {
    let sequences = 0;
    let deliveries = 0;
    let duplicates = 0;
    fc.assert(
      fc.property(
        scenario.chain((s) =>
          fc.tuple(
            fc.constant(s),
            fc.shuffledSubarray(
              s.facts.map((_, i) => i),
              { minLength: s.facts.length, maxLength: s.facts.length },
            ),
            fc.array(fc.nat({ max: Math.max(0, s.facts.length - 1) }), {
              maxLength: s.facts.length === 0 ? 0 : 5,
            }),
          ),
        ),
        ([s, shuffled, dupes]) => {
          sequences++;
          const inOrder = deliver(
            s,
            s.facts.map((_, i) => i),
          );
          const order = [...shuffled];
          for (const d of dupes) order.splice(d % (order.length + 1), 0, d);
          duplicates += dupes.length;
          deliveries += order.length;
          const shuffledRun = deliver(s, order);
          const view = (p: Payment) => ({
            status: p.status,
            amountCaptured: p.amountCaptured,
            amountRefunded: p.amountRefunded,
            amountRefundPending: p.amountRefundPending,
            failureCode: p.status === "failed" ? p.failureCode : undefined,
            dispute: p.dispute,
          });
          expect(view(shuffledRun.payment)).toEqual(view(inOrder.payment));
          // Outgoing events: never a capture twice, never an authorization twice, and a refund
          // event only for a refund that settled.
          for (const r of [inOrder, shuffledRun]) {
            expect(r.events.filter((e) => e === "payment.captured").length).toBeLessThanOrEqual(1);
            expect(r.events.filter((e) => e === "payment.authorized").length).toBeLessThanOrEqual(
              1,
            );
            const settled = [...r.records.values()].filter(
              (x) => x.reservation === "settled",
            ).length;
            expect(r.events.filter((e) => e === "payment.refunded").length).toBeLessThanOrEqual(
              settled,
            );
            expect(r.history.length).toBeGreaterThanOrEqual(r.events.length);
            // A dispute is announced once, and its decision once.
            const disputed = s.facts.some((f) => f.kind === "dispute");
            const decided = s.facts.some(
              (f) => f.kind === "dispute" && (f.status === "won" || f.status === "lost"),
            );
            expect(r.events.filter((e) => e === "payment.disputed").length).toBe(disputed ? 1 : 0);
            expect(r.events.filter((e) => e === "payment.dispute_closed").length).toBe(
              decided ? 1 : 0,
            );
          }
        },
      ),
      { numRuns: 2_000 },
    );
    console.info(
      `lifecycle property: ${sequences} sequences, ${deliveries} deliveries, ${duplicates} duplicates injected, 0 divergent final states`,
    );
    expect(sequences).toBeGreaterThanOrEqual(2_000);
  });
});
