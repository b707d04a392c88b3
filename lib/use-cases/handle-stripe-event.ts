/**
 * A verified payment notice (the Stripe adapter's translation of a webhook event,
 * lib/adapters/stripe-events.ts), applied to the payment it concerns, once.
 *
 * Which payment. The payment id is in the PaymentIntent's metadata (`payment_id`, set at creation,
 * lib/use-cases/create-payment.ts); no PaymentIntent → payment mapping is written any more. In
 * order, the first that answers:
 *   1. what the notice itself carries (`claimedPaymentId`): the PaymentIntent's metadata in a
 *      PaymentIntent event, a refund's own metadata `payment_id` in a refund event (set on the
 *      refunds this service makes, lib/use-cases/refund-payment.ts). Taken only when that
 *      payment's own PaymentIntent is the notice's: one read, no call to Stripe.
 *   2. the legacy mapping item (`paymentIdForIntent`): payments created before 2026-12-07 have
 *      one, and nothing else is guaranteed for them (still read, no longer written).
 *   3. Stripe: the PaymentIntent's metadata (`retrieveIntent`, one GET; a PaymentIntent event
 *      already carries it, so none), then that payment, taken only when its PaymentIntent is the
 *      notice's. Only charge and dispute notices, refunds made outside this service (Dashboard)
 *      and metadata that did not check out come here. Stripe is asked at most once per notice:
 *      the same answer also decides, when no payment holds the PaymentIntent, whether it is
 *      ours and not recorded yet (retry), never will be, or not ours (acknowledged, ignored).
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
  const found = await findPayment(deps, notice);
  if ("outcome" in found) return found.outcome;
  const { paymentId, current } = found;
  // The payment remembers the Stripe events last applied to it: a redelivery stops here, before
  // any call to Stripe but the lookup's (an older one goes on, and its merge changes nothing).
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

/** The notice's payment (as read, when it was), or what to answer when there is none. */
type Found =
  | { readonly paymentId: string; readonly current: Payment | undefined }
  | { readonly outcome: WebhookOutcome };

/** What a metadata claims: the payment it names, as read (undefined: not there). */
interface Claim {
  readonly paymentId: string;
  readonly payment: Payment | undefined;
}

/** Whether `claim` names a recorded payment whose own PaymentIntent is `paymentIntentId`. */
function holds(claim: Claim | undefined, paymentIntentId: string): claim is Claim {
  return claim?.payment?.stripePaymentIntentId === paymentIntentId;
}

/** The payment the notice concerns, in the order of the header: notice, legacy item, Stripe. */
async function findPayment(deps: WebhookDeps, notice: PaymentNotice): Promise<Found> {
  const claim = await readClaim(deps, notice.claimedPaymentId);
  if (holds(claim, notice.paymentIntentId))
    return { paymentId: claim.paymentId, current: claim.payment };
  const legacy = await deps.repository.paymentIdForIntent(notice.paymentIntentId);
  if (legacy !== undefined)
    return { paymentId: legacy, current: await deps.repository.get(legacy) };
  // Creation tells nothing the record will not hold once written: not worth a call to Stripe.
  if (notice.creation) return { outcome: { result: "not_ours" } };
  return await askStripe(deps, notice, claim);
}

/** The payment `paymentId` names, read; undefined when it names none (absent, not an id). */
async function readClaim(
  deps: WebhookDeps,
  paymentId: string | undefined,
): Promise<Claim | undefined> {
  if (paymentId === undefined || !isPaymentId(paymentId)) return undefined;
  return { paymentId, payment: await deps.repository.get(paymentId) };
}

/**
 * Neither the notice nor a legacy item found the payment: the PaymentIntent's metadata decides
 * (the notice's own when it carries the PaymentIntent, else Stripe's, asked once). The payment
 * it names, if its PaymentIntent is this one, is the notice's. Otherwise no record holds this
 * PaymentIntent; see `unrecorded`.
 */
async function askStripe(
  deps: WebhookDeps,
  notice: PaymentNotice,
  claim: Claim | undefined,
): Promise<Found> {
  let intent = notice.intent;
  if (intent === undefined) {
    try {
      const snapshot = await deps.provider.retrieveIntent(notice.paymentIntentId);
      intent = { metadata: snapshot.metadata, created: snapshot.created };
    } catch (error) {
      // Stripe does not know it (deleted, another account's test object): nothing to wait for.
      if (error instanceof ProviderRejectedError) return { outcome: { result: "not_ours" } };
      throw error;
    }
  }
  const paymentId = intent.metadata.payment_id;
  const named =
    paymentId === undefined
      ? undefined
      : claim?.paymentId === paymentId
        ? claim
        : await readClaim(deps, paymentId);
  if (holds(named, notice.paymentIntentId))
    return { paymentId: named.paymentId, current: named.payment };
  return { outcome: await unrecorded(deps, notice, intent, named) };
}

/**
 * How long a PaymentIntent of ours may go without its record before its events stop asking for
 * a retry. A create writes its record within the request (at most its 20 s timeout), so anything
 * older was made by something else on the same Stripe account (another stage, a script) or by a
 * create that died before writing: no retry will ever find it.
 */
export const UNRECORDED_GRACE_SECONDS = 600;

/**
 * No record holds this PaymentIntent. Ours (metadata.payment_id), still the order's payment and
 * created moments ago: not recorded yet, so fail for a retry. Older than the grace period: never
 * ours to record, so acknowledged. Ours but the order went to another payment, or the payment it
 * names holds another PaymentIntent: a request that lost the race (canceled), or a PaymentIntent
 * made elsewhere; ignore. Not ours: ignore.
 */
async function unrecorded(
  deps: WebhookDeps,
  notice: PaymentNotice,
  intent: NonNullable<PaymentNotice["intent"]>,
  named: Claim | undefined,
): Promise<WebhookOutcome> {
  const paymentId = intent.metadata.payment_id;
  const orderId = intent.metadata.order_id;
  if (paymentId === undefined || orderId === undefined) return { result: "not_ours" };
  const holder = await deps.repository.paymentIdForOrder(orderId);
  if (holder !== undefined && holder !== paymentId) return { result: "superseded_intent" };
  // The payment it names is recorded, with another PaymentIntent: this one is not its.
  if (named?.payment !== undefined) return { result: "superseded_intent" };
  const age = Date.parse(deps.clock.now()) / 1000 - intent.created;
  if (age > UNRECORDED_GRACE_SECONDS) return { result: "never_recorded" };
  throw new PaymentNotRecordedYetError(
    `PaymentIntent ${notice.paymentIntentId} belongs to payment ${paymentId}, which is not recorded yet.`,
  );
}
