/** POST /api/payments/{id}/cancel: cancel a payment that is not captured, idempotently. */
import { apiContext } from "../lib/domain/audit.js";
import { operationIdForRequest } from "../lib/domain/ids.js";
import { httpHandler, idempotencyKey, json } from "../lib/http/handler.js";
import { paymentView } from "../lib/http/views.js";
import { idempotentOperation } from "../lib/idempotency.js";
import { count, countEvents, METRICS } from "../lib/observability.js";
import { clock, idempotencyStore, repository } from "../lib/runtime/storage.js";
import { provider } from "../lib/runtime/stripe.js";
import { cancelBody, parseOrThrow } from "../lib/schemas.js";
import { cancelPayment } from "../lib/use-cases/capture-cancel.js";

const cancelOnce = idempotentOperation<{ readonly paymentId: string }, Record<string, unknown>>(
  async ({ caller, key, payload, requestId }) => {
    const payment = await cancelPayment(
      { repository, provider, clock, onEvents: countEvents },
      {
        paymentId: payload.paymentId,
        operationId: operationIdForRequest("cancel", caller, key, payload.paymentId),
        context: apiContext({ caller, key, requestId }),
      },
    );
    const found = await repository.getWithHistory(payment.id);
    return paymentView(found?.payment ?? payment, found?.history ?? [], undefined);
  },
  idempotencyStore("cancel-payment"),
);

export const handler = httpHandler(
  async ({ event, caller, body, context }) => {
    const key = idempotencyKey(event);
    parseOrThrow(cancelBody, body);
    const payload = { paymentId: event.pathParameters?.id ?? "" };
    const { value, replayed } = await cancelOnce(
      { caller: caller.sub, key, payload, requestId: event.requestContext.requestId },
      {},
      context,
    );
    if (replayed) count(METRICS.idempotentReplay);
    return json(200, value, replayed ? { "idempotent-replayed": "true" } : {});
  },
  { route: "cancel-payment", body: "optional" },
);
