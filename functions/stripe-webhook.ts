/**
 * POST /api/webhooks/stripe: Stripe's events, verified against the raw body, applied once.
 * 200 for everything verified (duplicates and ignored types too); 400 invalid_signature when the
 * signature is missing, wrong or older than 300 seconds; 5xx only when Stripe should retry.
 */
import { checkEvent, UnreadableStripeObjectError } from "../lib/adapters/stripe-facts.js";
import {
  ConcurrentUpdateError,
  InvalidEventError,
  InvalidSignatureError,
  TryAgainLaterError,
} from "../lib/domain/errors.js";
import { httpHandler, json } from "../lib/http/handler.js";
import { count, countEvents, logger, METRICS } from "../lib/observability.js";
import { clock, repository } from "../lib/runtime/storage.js";
import { provider, stripe, stripeConfig } from "../lib/runtime/stripe.js";
import { handleStripeEvent } from "../lib/use-cases/handle-stripe-event.js";

const TOLERANCE_SECONDS = 300;
const secret = stripeConfig.STRIPE_WEBHOOK_SECRET;
if (secret === undefined) throw new Error("configuration STRIPE_WEBHOOK_SECRET: missing");

export const handler = httpHandler(
  async ({ event }) => {
    count(METRICS.webhookReceived);
    const signature = event.headers["stripe-signature"];
    const raw =
      event.body === undefined
        ? ""
        : event.isBase64Encoded
          ? Buffer.from(event.body, "base64")
          : event.body;
    let stripeEvent: ReturnType<typeof stripe.webhooks.constructEvent>;
    try {
      if (signature === undefined) throw new Error("no Stripe-Signature header");
      stripeEvent = stripe.webhooks.constructEvent(raw, signature, secret, TOLERANCE_SECONDS);
    } catch (error) {
      count(METRICS.webhookSignatureFailure);
      logger.warn("webhook signature rejected", {
        reason: error instanceof Error ? error.message : String(error),
      });
      throw new InvalidSignatureError(
        "The Stripe-Signature does not verify against this endpoint's secret.",
      );
    }
    let outcome: Awaited<ReturnType<typeof handleStripeEvent>>;
    try {
      // Signed is not the same as well formed: the envelope and each object read are checked.
      checkEvent(stripeEvent);
      outcome = await handleStripeEvent(
        {
          repository,
          provider,
          clock,
          onEvents: countEvents,
          requestId: event.requestContext.requestId,
        },
        stripeEvent,
      );
    } catch (error) {
      if (error instanceof UnreadableStripeObjectError) {
        // Refused, so Stripe keeps it and shows it failing: if our reading is what is wrong, a
        // fix lets the retries through; nothing is written meanwhile.
        count(METRICS.webhookUnreadable);
        logger.error("webhook event not readable", { reason: error.message });
        throw new InvalidEventError(`The event cannot be read: ${error.message}.`, {
          cause: error,
        });
      }
      count(METRICS.webhookRetryRequested);
      // Only 200 or 5xx for a verified event: contention is "try again", never a 409.
      if (error instanceof ConcurrentUpdateError) {
        throw new TryAgainLaterError("The payment is busy; deliver the event again.", {
          cause: error,
        });
      }
      throw error;
    }
    if (outcome.result === "duplicate") count(METRICS.webhookDuplicate);
    if (
      outcome.result === "ignored_type" ||
      outcome.result === "not_ours" ||
      outcome.result === "superseded_intent" ||
      outcome.result === "never_recorded"
    ) {
      count(METRICS.webhookIgnored);
    }
    logger.info("webhook", {
      eventId: stripeEvent.id,
      type: stripeEvent.type,
      outcome: outcome.result,
    });
    return json(200, { received: true });
  },
  { route: "stripe-webhook", body: "raw", auth: "none" },
);
