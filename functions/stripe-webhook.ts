/**
 * POST /api/webhooks/stripe: Stripe's events, verified against the raw body, applied once.
 * 200 for everything verified (duplicates and ignored types too); 400 invalid_signature when the
 * signature is missing, wrong or older than 300 seconds; 5xx only when Stripe should retry.
 *
 * STRIPE_WEBHOOK_SECRET holds the endpoint's secret, or while it is rolled the new and the old,
 * comma-separated: a delivery signed with any of them is accepted.
 */

import { noticeOf } from "../lib/adapters/stripe-events.js";
import {
  checkEvent,
  STRIPE_API_VERSION,
  UnreadableStripeObjectError,
} from "../lib/adapters/stripe-facts.js";
import {
  parseWebhookSecrets,
  SignatureRejectedError,
  verifyStripeSignature,
} from "../lib/adapters/stripe-signature.js";
import {
  ConcurrentUpdateError,
  InvalidEventError,
  InvalidSignatureError,
  TryAgainLaterError,
} from "../lib/domain/errors.js";
import { httpHandler, json } from "../lib/http/handler.js";
import { count, countEvents, logger, METRICS } from "../lib/observability.js";
import { clock, repository } from "../lib/runtime/storage.js";
import { provider, stripeConfig } from "../lib/runtime/stripe-lazy.js";
import { handleStripeEvent } from "../lib/use-cases/handle-stripe-event.js";

const TOLERANCE_SECONDS = 300;

/** The webhook function for these signing secrets (the deployed one: STRIPE_WEBHOOK_SECRET's). */
export function webhookHandler(secrets: readonly string[]) {
  if (secrets.length === 0) throw new Error("configuration STRIPE_WEBHOOK_SECRET: missing");
  return httpHandler(
    async ({ event }) => {
      count(METRICS.webhookReceived);
      const signature = event.headers["stripe-signature"];
      const raw =
        event.body === undefined
          ? ""
          : event.isBase64Encoded
            ? Buffer.from(event.body, "base64")
            : event.body;
      let body: string;
      try {
        body = verifyStripeSignature(raw, signature, {
          secrets,
          toleranceSeconds: TOLERANCE_SECONDS,
          nowSeconds: Math.floor(Date.parse(clock.now()) / 1000),
        });
      } catch (error) {
        if (!(error instanceof SignatureRejectedError)) throw error;
        count(METRICS.webhookSignatureFailure);
        logger.warn("webhook signature rejected", { reason: error.message });
        throw new InvalidSignatureError(
          "The Stripe-Signature does not verify against this endpoint's secret.",
        );
      }
      let stripeEvent: unknown;
      try {
        stripeEvent = JSON.parse(body);
      } catch {
        // Signed by Stripe and still not JSON: refused (and visible as failing in the Dashboard).
        count(METRICS.webhookUnreadable);
        logger.error("webhook event not readable", { reason: "the body is not JSON" });
        throw new InvalidEventError("The event cannot be read: the body is not JSON.");
      }
      let outcome: Awaited<ReturnType<typeof handleStripeEvent>>;
      try {
        // Signed is not the same as well formed: the envelope and each object read are checked.
        checkEvent(stripeEvent);
        const version = stripeEvent.api_version;
        if (version !== null && version !== undefined && version !== STRIPE_API_VERSION) {
          // The endpoint was made with another version than the client's: what we read is
          // checked field by field below, so a shape we cannot read is refused, not guessed.
          count(METRICS.webhookOtherApiVersion);
          logger.warn("webhook event from another Stripe API version", {
            eventId: stripeEvent.id,
            apiVersion: version,
            expected: STRIPE_API_VERSION,
          });
        }
        const notice = noticeOf(stripeEvent);
        outcome =
          notice === undefined
            ? { result: "ignored_type" }
            : await handleStripeEvent(
                {
                  repository,
                  provider,
                  clock,
                  onEvents: countEvents,
                  requestId: event.requestContext.requestId,
                },
                notice,
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
}

export const handler = webhookHandler(
  parseWebhookSecrets(stripeConfig.STRIPE_WEBHOOK_SECRET ?? ""),
);
