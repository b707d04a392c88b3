/** POST /api/payments/{id}/capture: capture an authorized (manual-capture) payment, idempotently. */
import { apiContext } from "../lib/domain/audit.js";
import { operationIdForRequest } from "../lib/domain/ids.js";
import { httpHandler, idempotencyKey, json } from "../lib/http/handler.js";
import { paymentView } from "../lib/http/views.js";
import { idempotentOperation } from "../lib/idempotency.js";
import { count, countEvents, METRICS } from "../lib/observability.js";
import { clock, idempotencyStore, repository } from "../lib/runtime/storage.js";
import { provider } from "../lib/runtime/stripe.js";
import { captureBody, parseOrThrow } from "../lib/schemas.js";
import { capturePayment } from "../lib/use-cases/capture-cancel.js";

interface CapturePayload {
  readonly paymentId: string;
  readonly amount?: number | undefined;
}

const captureOnce = idempotentOperation<CapturePayload, Record<string, unknown>>(
  async ({ caller, key, payload, requestId }) => {
    const payment = await capturePayment(
      { repository, provider, clock, onEvents: countEvents },
      {
        ...payload,
        operationId: operationIdForRequest("capture", caller, key, payload.paymentId),
        context: apiContext({ caller, key, requestId }),
      },
    );
    const found = await repository.getWithHistory(payment.id);
    return paymentView(found?.payment ?? payment, found?.history ?? [], undefined);
  },
  idempotencyStore("capture-payment"),
);

export const handler = httpHandler(
  async ({ event, caller, body, context }) => {
    const key = idempotencyKey(event);
    const request = parseOrThrow(captureBody, body);
    const payload: CapturePayload = { paymentId: event.pathParameters?.id ?? "", ...request };
    const { value, replayed } = await captureOnce(
      { caller: caller.sub, key, payload, requestId: event.requestContext.requestId },
      {},
      context,
    );
    if (replayed) count(METRICS.idempotentReplay);
    return json(200, value, replayed ? { "idempotent-replayed": "true" } : {});
  },
  { route: "capture-payment", body: "optional" },
);
