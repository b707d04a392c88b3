/** GET /api/payments/{id}: one payment with its history (admins: refunds and events too). */
import { httpHandler, json } from "../lib/http/handler.js";
import { readoutView } from "../lib/http/views.js";
import { repository } from "../lib/runtime/storage.js";
import { provider, stripeLiveMode } from "../lib/runtime/stripe-lazy.js";
import { readPayment } from "../lib/use-cases/read-payments.js";

export const handler = httpHandler(
  async ({ event, caller }) => {
    const found = await readPayment(
      { repository, provider },
      caller,
      event.pathParameters?.id ?? "",
    );
    return json(200, readoutView(found, stripeLiveMode));
  },
  { route: "get-payment" },
);
