/** GET /api/payments?orderId=: the payments of an order that the caller may read. */
import { httpHandler, json } from "../lib/http/handler.js";
import { paymentView } from "../lib/http/views.js";
import { repository } from "../lib/runtime/storage.js";
import { provider } from "../lib/runtime/stripe.js";
import { listPaymentsQuery, parseOrThrow } from "../lib/schemas.js";
import { listPaymentsForOrder } from "../lib/use-cases/read-payments.js";

export const handler = httpHandler(async ({ event, caller }) => {
  const { orderId } = parseOrThrow(listPaymentsQuery, event.queryStringParameters ?? {});
  const found = await listPaymentsForOrder({ repository, provider }, caller, orderId);
  return json(200, { items: found.map((f) => paymentView(f.payment, f.history, f.clientSecret)) });
});
