/**
 * GET /api/payments: by orderId, customerId or stripePaymentIntentId (what the caller may read),
 * or, for admins, the recent list by status and time, newest first, paged by cursor.
 */
import { httpHandler, json } from "../lib/http/handler.js";
import { readoutView } from "../lib/http/views.js";
import { repository } from "../lib/runtime/storage.js";
import { provider, stripeLiveMode } from "../lib/runtime/stripe-lazy.js";
import { listPaymentsQuery, parseOrThrow } from "../lib/schemas.js";
import { findPayments } from "../lib/use-cases/read-payments.js";

export const handler = httpHandler(
  async ({ event, caller }) => {
    const query = parseOrThrow(listPaymentsQuery, event.queryStringParameters ?? {});
    const found = await findPayments({ repository, provider }, caller, query);
    return json(200, {
      items: found.items.map((f) => readoutView(f, stripeLiveMode)),
      nextCursor: found.nextCursor ?? null,
    });
  },
  { route: "list-payments" },
);
