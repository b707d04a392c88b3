/**
 * POST /api/payments/{id}/reconcile: re-read one payment from Stripe now, through the same merge
 * as the scheduled reconciliation, and answer it as it is after (payments:refund). Safe to repeat.
 */
import { apiCallContext, httpHandler, json, optionalIdempotencyKey } from "../lib/http/handler.js";
import { paymentView } from "../lib/http/views.js";
import { countEvents } from "../lib/observability.js";
import { clock, repository, storageConfig } from "../lib/runtime/storage.js";
import { provider } from "../lib/runtime/stripe.js";
import { cancelBody, parseOrThrow } from "../lib/schemas.js";
import { reconcilePaymentNow } from "../lib/use-cases/reconcile.js";

export const handler = httpHandler(
  async (request) => {
    const { event, body } = request;
    const key = optionalIdempotencyKey(event);
    parseOrThrow(cancelBody, body);
    const paymentId = event.pathParameters?.id ?? "";
    const payment = await reconcilePaymentNow(
      { repository, provider, clock, onEvents: countEvents },
      { afterSeconds: storageConfig.RECONCILE_AFTER_SECONDS },
      paymentId,
      apiCallContext(request, key),
    );
    // Answered as capture and cancel answer: the payment and its history.
    const found = await repository.getWithHistory(paymentId);
    return json(200, paymentView(found?.payment ?? payment, found?.history ?? [], undefined));
  },
  { route: "reconcile-payment", body: "optional" },
);
