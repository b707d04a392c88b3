/**
 * A verified payment notice (the Stripe adapter's translation of a webhook event,
 * lib/adapters/stripe-events.ts), applied to the payment it concerns, once.
 *
 * Which payment: a PaymentIntent event names it in the PaymentIntent's metadata (`payment_id`,
 * set at creation, signed into the event with the rest), taken only when that payment's own
 * PaymentIntent is this one; so the payment is read once and no PaymentIntent → payment mapping
 * is read. Other events (charges, refunds, disputes) and a metadata that does not check out go
 * through the mapping.
 *
 * Once: the payment item keeps the ids of the Stripe events last applied to it, written with the
 * change (version-checked), so a redelivery is known from the payment's read (no marker item to
 * read or write). Two deliveries at once: one write wins, the other's re-read sees the id.
 *
 * Notices for PaymentIntents that are not this service's are acknowledged and ignored. A
 * PaymentIntent this service created but has not recorded yet (its create request is still
 * running) is an error, so that Stripe delivers the event again later.
 */
import { auditEntry, SYSTEM_ACTORS } from "../domain/audit.js";
import { DomainError, ProviderRejectedError } from "../domain/errors.js";
import { isPaymentId } from "../domain/ids.js";
import { hasAppliedStripeEvent, type Payment } from "../domain/payment.js";
import type { Clock, PaymentNotice, PaymentProvider, PaymentRepository } from "../ports.js";
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

export async function handleStripeEvent(
  deps: WebhookDeps,
  notice: PaymentNotice,
): Promise<WebhookOutcome> {
  const claim = await readClaimedPayment(deps, notice);
  const named =
    claim?.payment?.stripePaymentIntentId === notice.paymentIntentId ? claim.payment : undefined;
  const paymentId = named?.id ?? (await deps.repository.paymentIdForIntent(notice.paymentIntentId));
  if (paymentId === undefined) {
    if (notice.creation) return { result: "not_ours" };
    return await unknownIntent(deps, notice, claim);
  }
  // The payment remembers the Stripe events last applied to it: a redelivery stops here, before
  // any call to Stripe (an older one goes on, and its merge changes nothing).
  const current = named ?? (await deps.repository.get(paymentId));
  if (current !== undefined && hasAppliedStripeEvent(current, notice.eventId)) {
    return { result: "duplicate" };
  }

  const context = {
    actor: SYSTEM_ACTORS.stripe,
    requestId: deps.requestId,
    idempotencyKey: notice.eventId,
  };
  const outcome = await applyStripeFacts(deps, {
    paymentId,
    ...(current === undefined ? {} : { current }),
    facts: [
      ...notice.facts,
      ...(notice.refetchRefunds ? await deps.provider.listRefunds(notice.paymentIntentId) : []),
    ],
    actor: SYSTEM_ACTORS.stripe,
    stripeEventId: notice.eventId,
    audit: auditEntry(context, deps.clock.now(), "stripe.event", "applied", {
      detail: { type: notice.kind },
    }),
  });
  if (outcome.result === "duplicate_event") return { result: "duplicate" };
  if (outcome.result === "unchanged") return { result: "unchanged" };
  return { result: "applied", eventTypes: outcome.eventTypes };
}

/** What the notice's PaymentIntent metadata claims: the payment it names, as read. */
interface Claim {
  readonly paymentId: string;
  readonly payment: Payment | undefined;
}

/** The payment the PaymentIntent's metadata names, read (undefined: the notice names none). */
async function readClaimedPayment(
  deps: WebhookDeps,
  notice: PaymentNotice,
): Promise<Claim | undefined> {
  const paymentId = notice.intent?.metadata.payment_id;
  if (paymentId === undefined || !isPaymentId(paymentId)) return undefined;
  return { paymentId, payment: await deps.repository.get(paymentId) };
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
 * went to another payment, or the payment it names holds another PaymentIntent: a request that
 * lost the race (canceled), or a PaymentIntent made elsewhere; ignore. Not ours: ignore.
 */
async function unknownIntent(
  deps: WebhookDeps,
  notice: PaymentNotice,
  claim: Claim | undefined,
): Promise<WebhookOutcome> {
  let metadata = notice.intent?.metadata;
  let created = notice.intent?.created;
  if (metadata === undefined || created === undefined) {
    try {
      const snapshot = await deps.provider.retrieveIntent(notice.paymentIntentId);
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
  // The payment it names is recorded, with another PaymentIntent: this one is not its.
  const recorded =
    claim?.paymentId === paymentId ? claim.payment : await deps.repository.get(paymentId);
  if (recorded !== undefined) return { result: "superseded_intent" };
  const age = Date.parse(deps.clock.now()) / 1000 - created;
  if (age > UNRECORDED_GRACE_SECONDS) return { result: "never_recorded" };
  throw new PaymentNotRecordedYetError(
    `PaymentIntent ${notice.paymentIntentId} belongs to payment ${paymentId}, which is not recorded yet.`,
  );
}
