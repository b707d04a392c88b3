/**
 * Brings a payment up to date with facts from Stripe (a webhook's object, an API answer, or a
 * re-fetch during reconciliation): merge them (lib/domain/lifecycle.ts), then write the new state,
 * one history entry per change and the contract's event for it, in one version-checked
 * transaction. A concurrent writer makes the transaction fail; then read again and merge again.
 */
import { randomInt, randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { ConcurrentUpdateError, PaymentNotFoundError } from "../domain/errors.js";
import { type OutboxEvent, paymentEvent } from "../domain/events.js";
import { type Applied, applyFact, type StripeFact } from "../domain/lifecycle.js";
import type { ChangeSource, Payment, StatusChange } from "../domain/payment.js";
import type { Clock, PaymentRepository, RefundRecordWrite } from "../ports.js";

export interface ApplyFactsDeps {
  readonly repository: PaymentRepository;
  readonly clock: Clock;
  readonly maxAttempts?: number;
  /** Told the types of the events each applied change wrote, and the payment after it (metrics). */
  readonly onEvents?: (eventTypes: readonly string[], payment: Payment) => void;
}

export interface ApplyFactsInput {
  readonly paymentId: string;
  readonly facts: readonly StripeFact[];
  readonly source: ChangeSource;
  /** The Stripe event the facts come from: applied at most once. */
  readonly stripeEventId?: string;
}

export type ApplyFactsOutcome =
  | {
      readonly result: "applied";
      readonly payment: Payment;
      readonly changes: number;
      /** Types of the events written to the outbox, in order. */
      readonly eventTypes: readonly string[];
    }
  | { readonly result: "unchanged"; readonly payment: Payment }
  | { readonly result: "duplicate_event" };

/** The refund record key of a refund fact: our id, or one made from Stripe's for foreign refunds. */
export const refundKey = (fact: { refundId?: string; stripeRefundId: string }): string =>
  fact.refundId ?? `ext_${fact.stripeRefundId}`;

export async function applyStripeFacts(
  deps: ApplyFactsDeps,
  input: ApplyFactsInput,
): Promise<ApplyFactsOutcome> {
  const maxAttempts = deps.maxAttempts ?? 20;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const before = await deps.repository.get(input.paymentId);
    if (before === undefined) throw new PaymentNotFoundError(`No payment ${input.paymentId}.`);

    const now = deps.clock.now();
    let current = before;
    let dirty = false;
    const history: StatusChange[] = [];
    const events: OutboxEvent[] = [];
    const refunds = new Map<string, RefundRecordWrite>();
    for (const fact of input.facts) {
      let applied: Applied;
      if (fact.kind === "refund") {
        const key = refundKey(fact);
        const pending = refunds.get(key);
        const prior =
          pending === undefined
            ? await deps.repository.getRefundRecord(before.id, key)
            : pending.next;
        applied = applyFact(current, fact, prior);
        if (
          applied.refund !== undefined &&
          JSON.stringify(applied.refund) !== JSON.stringify(prior)
        ) {
          refunds.set(key, {
            key,
            stripeRefundId: fact.stripeRefundId,
            prior: pending === undefined ? prior : pending.prior,
            next: applied.refund,
          });
        }
      } else {
        applied = applyFact(current, fact);
      }
      dirty ||= applied.dirty;
      for (const change of applied.changes) {
        // Each event describes the payment as it stood at that step.
        const step: Payment = { ...applied.payment, status: change.status, updatedAt: now };
        history.push({ status: change.status, at: now, source: input.source });
        if (change.event !== undefined) {
          events.push(
            paymentEvent(change.event, step, randomUUID(), now, {
              ...(change.event === "payment.refunded"
                ? {
                    amountRefunded: applied.payment.amountRefunded,
                    ...(change.refundId === undefined ? {} : { refundId: change.refundId }),
                  }
                : {}),
            }),
          );
        }
      }
      current = applied.payment;
    }

    if (!dirty) {
      // Nothing to write. The event id need not be recorded: applying it again changes nothing too.
      return { result: "unchanged", payment: before };
    }
    const after: Payment = { ...current, updatedAt: now };
    const result = await deps.repository.applyChange({
      before,
      after,
      history,
      events,
      refunds: [...refunds.values()],
      ...(input.stripeEventId === undefined ? {} : { stripeEventId: input.stripeEventId }),
    });
    if (result === "applied") {
      deps.onEvents?.(
        events.map((e) => e.type),
        after,
      );
      return {
        result,
        payment: { ...after, version: before.version + 1 },
        changes: history.length,
        eventTypes: events.map((e) => e.type),
      };
    }
    if (result === "duplicate_event") return { result };
    await delay(randomInt(2, 10 + attempt * 5));
  }
  throw new ConcurrentUpdateError(`Payment ${input.paymentId} kept changing; giving up for now.`);
}
