/** POST /api/payments/{id}/refund: refund all or part of a captured payment, idempotently. */
import { apiContext } from "../lib/domain/audit.js";
import { refundIdForRequest } from "../lib/domain/ids.js";
import type { RefundReason } from "../lib/domain/refunds.js";
import { httpHandler, idempotencyKey, json } from "../lib/http/handler.js";
import { refundView } from "../lib/http/views.js";
import { idempotentOperation } from "../lib/idempotency.js";
import { count, METRICS } from "../lib/observability.js";
import { clock, idempotencyStore, repository } from "../lib/runtime/storage.js";
import { provider } from "../lib/runtime/stripe.js";
import { parseOrThrow, refundBody } from "../lib/schemas.js";
import { refundPayment } from "../lib/use-cases/refund-payment.js";

interface RefundPayload {
  readonly paymentId: string;
  readonly amount?: number | undefined;
  readonly reason?: RefundReason | undefined;
}

const refundOnce = idempotentOperation<RefundPayload, Record<string, unknown>>(
  async ({ caller, key, payload, requestId }) =>
    refundView(
      await refundPayment(
        { repository, provider, clock },
        {
          ...payload,
          refundId: refundIdForRequest(caller, key, payload.paymentId),
          context: apiContext({ caller, key, requestId }),
        },
      ),
    ),
  idempotencyStore("refund-payment"),
);

export const handler = httpHandler(
  async ({ event, caller, body, context }) => {
    const key = idempotencyKey(event);
    const request = parseOrThrow(refundBody, body);
    const payload: RefundPayload = { paymentId: event.pathParameters?.id ?? "", ...request };
    const { value, replayed } = await refundOnce(
      { caller: caller.sub, key, payload, requestId: event.requestContext.requestId },
      {},
      context,
    );
    if (replayed) count(METRICS.idempotentReplay);
    return json(202, value, replayed ? { "idempotent-replayed": "true" } : {});
  },
  { route: "refund-payment", body: "optional" },
);
