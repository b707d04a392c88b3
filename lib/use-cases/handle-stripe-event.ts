/**
 * A verified Stripe event, applied to the payment it concerns.
 *
 *   PaymentIntent events        -> the PaymentIntent in the event, as of the event's `created`
 *   charge.* events             -> the Charge; charge.refunded also re-fetches the refunds,
 *                                  because the Charge alone does not say which refund it was
 *   refund.* / charge.refund.*  -> the Refund
 *   charge.dispute.created, .updated, .closed -> the Dispute (funds_withdrawn / _reinstated
 *                                  tell nothing the dispute's status does not)
 *   anything else               -> acknowledged, ignored
 *
 * Events for PaymentIntents that are not this service's are acknowledged and ignored. A
 * PaymentIntent this service created but has not recorded yet (its create request is still
 * running) is an error, so that Stripe delivers the event again later.
 */
import type Stripe from "stripe";
import {
  chargeFact,
  disputeFact,
  intentFact,
  paymentIntentIdOf,
  refundFact,
} from "../adapters/stripe-facts.js";
import { auditEntry, SYSTEM_ACTORS } from "../domain/audit.js";
import { DomainError, ProviderRejectedError } from "../domain/errors.js";
import type { StripeFact } from "../domain/lifecycle.js";
import type { Clock, PaymentProvider, PaymentRepository } from "../ports.js";
import { type ApplyFactsDeps, applyStripeFacts } from "./apply-stripe-facts.js";

/** The PaymentIntent is ours but its record is not written yet: Stripe should retry. */
export class PaymentNotRecordedYetError extends DomainError {
  readonly code = "payment_not_recorded_yet";
}

export interface WebhookDeps {
  readonly repository: PaymentRepository;
  readonly provider: PaymentProvider;
  readonly clock: Clock;
  readonly onEvents?: ApplyFactsDeps["onEvents"];
  /** The webhook request's id, for the audit trail. */
  readonly requestId?: string | undefined;
}

export type WebhookOutcome =
  | { readonly result: "applied"; readonly eventTypes: readonly string[] }
  | {
      readonly result:
        | "unchanged"
        | "duplicate"
        | "ignored_type"
        | "not_ours"
        | "superseded_intent"
        /** Ours by its metadata, but older than the grace period with no record: never will be. */
        | "never_recorded";
    };

interface Subject {
  readonly paymentIntentId: string;
  readonly facts: (deps: WebhookDeps) => Promise<StripeFact[]>;
  /** The PaymentIntent's metadata and creation time when the event carries the PaymentIntent itself. */
  readonly metadata?: Readonly<Record<string, string>>;
  readonly created?: number;
}

function subjectOf(event: Stripe.Event): Subject | undefined {
  const at = event.created;
  switch (event.type) {
    case "payment_intent.created":
    case "payment_intent.processing":
    case "payment_intent.amount_capturable_updated":
    case "payment_intent.succeeded":
    case "payment_intent.payment_failed":
    case "payment_intent.canceled":
    case "payment_intent.requires_action":
    case "payment_intent.partially_funded": {
      const pi = event.data.object;
      const fact = intentFact(pi, at); // checks the object before anything else reads it
      return {
        paymentIntentId: pi.id,
        metadata: pi.metadata,
        created: pi.created,
        facts: async () => [fact],
      };
    }
    case "charge.succeeded":
    case "charge.captured":
    case "charge.failed":
    case "charge.pending":
    case "charge.updated":
    case "charge.refunded": {
      const charge = event.data.object;
      const fact = chargeFact(charge, at);
      const paymentIntentId = paymentIntentIdOf(charge);
      if (paymentIntentId === undefined) return undefined;
      const refetch = event.type === "charge.refunded";
      return {
        paymentIntentId,
        facts: async (deps) => [
          fact,
          ...(refetch ? await deps.provider.listRefunds(paymentIntentId) : []),
        ],
      };
    }
    case "refund.created":
    case "refund.updated":
    case "refund.failed":
    case "charge.refund.updated": {
      const refund = event.data.object;
      const fact = refundFact(refund, at);
      const paymentIntentId = paymentIntentIdOf(refund);
      if (paymentIntentId === undefined) return undefined;
      return { paymentIntentId, facts: async () => [fact] };
    }
    case "charge.dispute.created":
    case "charge.dispute.updated":
    case "charge.dispute.closed": {
      const dispute = event.data.object;
      const fact = disputeFact(dispute, at);
      const paymentIntentId = paymentIntentIdOf(dispute);
      if (paymentIntentId === undefined) return undefined;
      return { paymentIntentId, facts: async () => [fact] };
    }
    default:
      return undefined;
  }
}

export async function handleStripeEvent(
  deps: WebhookDeps,
  event: Stripe.Event,
): Promise<WebhookOutcome> {
  const subject = subjectOf(event);
  if (subject === undefined) return { result: "ignored_type" };
  if (await deps.repository.hasAppliedStripeEvent(event.id)) return { result: "duplicate" };

  const paymentId = await deps.repository.paymentIdForIntent(subject.paymentIntentId);
  if (paymentId === undefined) {
    // Creation tells nothing the record will not hold when it is written: no need to wait for it.
    if (event.type === "payment_intent.created") return { result: "not_ours" };
    return await unknownIntent(deps, subject);
  }

  const context = {
    actor: SYSTEM_ACTORS.stripe,
    requestId: deps.requestId,
    idempotencyKey: event.id,
  };
  const outcome = await applyStripeFacts(deps, {
    paymentId,
    facts: await subject.facts(deps),
    actor: SYSTEM_ACTORS.stripe,
    stripeEventId: event.id,
    audit: auditEntry(context, deps.clock.now(), "stripe.event", "applied", {
      detail: { type: event.type },
    }),
  });
  if (outcome.result === "duplicate_event") return { result: "duplicate" };
  if (outcome.result === "unchanged") return { result: "unchanged" };
  return { result: "applied", eventTypes: outcome.eventTypes };
}

/**
 * How long a PaymentIntent of ours may go without its record before its events stop asking for
 * a retry. A create writes its record within the request (at most its 20 s timeout), so anything
 * older was made by something else on the same Stripe account (another stage, a script) or by a
 * create that died before writing: no retry will ever find it.
 */
export const UNRECORDED_GRACE_SECONDS = 600;

/**
 * No record for this PaymentIntent. Ours (metadata.payment_id), still the order's payment and
 * created moments ago: not recorded yet, so fail for a retry. Older than the grace period, or a
 * PaymentIntent Stripe does not know: never ours to record, so acknowledged. Ours but the order
 * went to another payment: a request that lost the race (canceled), ignore. Not ours: ignore.
 */
async function unknownIntent(deps: WebhookDeps, subject: Subject): Promise<WebhookOutcome> {
  let metadata = subject.metadata;
  let created = subject.created;
  if (metadata === undefined || created === undefined) {
    try {
      const snapshot = await deps.provider.retrieveIntent(subject.paymentIntentId);
      metadata = snapshot.metadata;
      created = snapshot.created;
    } catch (error) {
      // Stripe does not know it (deleted, another account's test object): nothing to wait for.
      if (error instanceof ProviderRejectedError) return { result: "not_ours" };
      throw error;
    }
  }
  const paymentId = metadata.payment_id;
  const orderId = metadata.order_id;
  if (paymentId === undefined || orderId === undefined) return { result: "not_ours" };
  const holder = await deps.repository.paymentIdForOrder(orderId);
  if (holder !== undefined && holder !== paymentId) return { result: "superseded_intent" };
  const age = Date.parse(deps.clock.now()) / 1000 - created;
  if (age > UNRECORDED_GRACE_SECONDS) return { result: "never_recorded" };
  throw new PaymentNotRecordedYetError(
    `PaymentIntent ${subject.paymentIntentId} belongs to payment ${paymentId}, which is not recorded yet.`,
  );
}
