/**
 * Brings a payment up to date with facts from Stripe (a webhook's object, an API answer, or a
 * re-fetch during reconciliation): merge them (lib/domain/lifecycle.ts), then write the new state,
 * one history entry per change and the contract's event for it, in a version-checked
 * transaction (several in turn when the facts are more than one transaction takes: see
 * planStep). A concurrent writer makes the transaction fail; then read again and merge again.
 */
import { randomInt, randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import type { Actor, AuditEntry } from "../domain/audit.js";
import { ConcurrentUpdateError, PaymentNotFoundError } from "../domain/errors.js";
import { type OutboxEvent, paymentEvent } from "../domain/events.js";
import { type Applied, applyFact, type StripeFact } from "../domain/lifecycle.js";
import {
  hasAppliedStripeEvent,
  type Payment,
  type StatusChange,
  withAppliedStripeEvent,
} from "../domain/payment.js";
import type { ChangePlan, Clock, PaymentRepository, RefundRecordWrite } from "../ports.js";

export interface ApplyFactsDeps {
  readonly repository: PaymentRepository;
  readonly clock: Clock;
  readonly maxAttempts?: number;
  /** Told the types of the events each applied change wrote, and the payment after it (metrics). */
  readonly onEvents?: (eventTypes: readonly string[], payment: Payment) => void;
}

export interface ApplyFactsInput {
  readonly paymentId: string;
  /** The payment as the caller has just read it (saves the first read; later tries read again). */
  readonly current?: Payment;
  readonly facts: readonly StripeFact[];
  /** Who brings the facts (named by each history entry). */
  readonly actor: Actor;
  /** The Stripe event the facts come from: applied at most once. */
  readonly stripeEventId?: string;
  /** The operation's audit entry, written with the last write (none if nothing changes). */
  readonly audit?: AuditEntry;
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
  let remaining = input.facts;
  let written: { payment: Payment; changes: number; eventTypes: string[] } | undefined;
  let current = input.current?.id === input.paymentId ? input.current : undefined;
  for (let attempt = 1; ; ) {
    const before = current ?? (await deps.repository.get(input.paymentId));
    current = undefined;
    if (before === undefined) throw new PaymentNotFoundError(`No payment ${input.paymentId}.`);
    // Applied already (a redelivery, or another delivery of it won the race to write).
    if (input.stripeEventId !== undefined && hasAppliedStripeEvent(before, input.stripeEventId)) {
      return written === undefined
        ? { result: "duplicate_event" }
        : { result: "applied", ...written };
    }

    const step = await planStep(deps, input, before, remaining);
    if (step === undefined) {
      // Nothing (left) to write. The event id need not be recorded: applying it again changes
      // nothing too.
      return written === undefined
        ? { result: "unchanged", payment: before }
        : { result: "applied", ...written };
    }
    const result = await deps.repository.applyChange(step.plan);
    if (result === "applied") {
      const eventTypes = step.plan.events.map((e) => e.type);
      deps.onEvents?.(eventTypes, step.plan.after);
      written = {
        payment: { ...step.plan.after, version: before.version + 1 },
        changes: (written?.changes ?? 0) + step.plan.history.length,
        eventTypes: [...(written?.eventTypes ?? []), ...eventTypes],
      };
      if (step.rest.length === 0) return { result: "applied", ...written };
      remaining = step.rest;
      attempt = 1;
      continue;
    }
    if (attempt >= maxAttempts)
      throw new ConcurrentUpdateError(
        `Payment ${input.paymentId} kept changing; giving up for now.`,
      );
    await delay(randomInt(2, 10 + attempt * 5));
    attempt++;
  }
}

/**
 * The next write: as many of `facts` (in order) as one transaction takes, merged into `before`,
 * and the facts left for later writes. Each write is a complete merge of the facts it holds, so
 * whatever stops between two writes leaves a true state (some refunds settled, the rest not yet),
 * and facts applied again are no-ops (a refund settles once), so a retry or a redelivery resumes
 * where the last write ended. The Stripe event id goes with the last write only, so a
 * redelivery after a partial write is not taken for a duplicate. Undefined: nothing to write.
 */
async function planStep(
  deps: ApplyFactsDeps,
  input: ApplyFactsInput,
  before: Payment,
  facts: readonly StripeFact[],
): Promise<{ plan: ChangePlan; rest: readonly StripeFact[] } | undefined> {
  const now = deps.clock.now();
  let current = before;
  let dirty = false;
  let history: StatusChange[] = [];
  let events: OutboxEvent[] = [];
  const refunds = new Map<string, RefundRecordWrite>();
  // The audit entry goes with the last write (and counts in its size), as does the event id.
  const audit = input.audit === undefined ? {} : { audit: input.audit };
  for (const [index, fact] of facts.entries()) {
    let applied: Applied;
    let refundWrite: RefundRecordWrite | undefined;
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
        refundWrite = {
          key,
          stripeRefundId: fact.stripeRefundId,
          prior: pending === undefined ? prior : pending.prior,
          next: applied.refund,
        };
      }
    } else {
      applied = applyFact(current, fact);
    }
    const stepHistory: StatusChange[] = [];
    const stepEvents: OutboxEvent[] = [];
    for (const change of applied.changes) {
      // Each event describes the payment as it stood at that step.
      const step: Payment = { ...applied.payment, status: change.status, updatedAt: now };
      stepHistory.push({
        status: change.status,
        at: now,
        source: input.actor.source,
        actor: input.actor.id,
        ...(change.dispute === undefined ? {} : { dispute: change.dispute }),
      });
      if (change.event !== undefined) {
        stepEvents.push(
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
    const adds = stepHistory.length + stepEvents.length + (refundWrite === undefined ? 0 : 1);
    if (adds > 0) {
      const nextRefunds = new Map(refunds);
      if (refundWrite !== undefined) nextRefunds.set(refundWrite.key, refundWrite);
      const candidate: ChangePlan = {
        before,
        after: { ...applied.payment, updatedAt: now },
        history: [...history, ...stepHistory],
        events: [...events, ...stepEvents],
        refunds: [...nextRefunds.values()],
        ...audit,
      };
      // The first fact always goes in: a write must make progress (one fact is a few items).
      const empty = history.length + events.length + refunds.size === 0;
      if (!empty && !deps.repository.changeFits(candidate)) {
        return {
          plan: planOf(before, current, now, history, events, refunds),
          rest: facts.slice(index),
        };
      }
      history = candidate.history.slice();
      events = candidate.events.slice();
      if (refundWrite !== undefined) refunds.set(refundWrite.key, refundWrite);
    }
    dirty ||= applied.dirty;
    current = applied.payment;
  }
  if (!dirty) return undefined;
  // The last write also records the event as applied, in the payment itself.
  const last =
    input.stripeEventId === undefined
      ? current
      : {
          ...current,
          appliedStripeEvents: withAppliedStripeEvent(
            before.appliedStripeEvents,
            input.stripeEventId,
          ),
        };
  return {
    plan: { ...planOf(before, last, now, history, events, refunds), ...audit },
    rest: [],
  };
}

function planOf(
  before: Payment,
  current: Payment,
  now: string,
  history: readonly StatusChange[],
  events: readonly OutboxEvent[],
  refunds: ReadonlyMap<string, RefundRecordWrite>,
): ChangePlan {
  return {
    before,
    after: { ...current, updatedAt: now },
    history,
    events,
    refunds: [...refunds.values()],
  };
}
