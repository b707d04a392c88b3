/** GET /api/payments/{id}: one payment with its history. */
import { httpHandler, json } from "../lib/http/handler.js";
import { paymentView } from "../lib/http/views.js";
import { repository } from "../lib/runtime/storage.js";
import { provider } from "../lib/runtime/stripe.js";
import { readPayment } from "../lib/use-cases/read-payments.js";

export const handler = httpHandler(async ({ event, caller }) => {
  const found = await readPayment({ repository, provider }, caller, event.pathParameters?.id ?? "");
  return json(200, paymentView(found.payment, found.history, found.clientSecret));
});
