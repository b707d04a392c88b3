/** GET /api/payments/{id}/audit: the payment's audit trail, newest first (payments:admin). */
import { httpHandler, json } from "../lib/http/handler.js";
import { repository } from "../lib/runtime/storage.js";
import { pageQuery, parseOrThrow } from "../lib/schemas.js";
import { readAudit } from "../lib/use-cases/read-payments.js";

export const handler = httpHandler(
  async ({ event }) => {
    const page = parseOrThrow(pageQuery, event.queryStringParameters ?? {});
    const found = await readAudit({ repository }, event.pathParameters?.id ?? "", page);
    return json(200, { items: found.items, nextCursor: found.nextCursor ?? null });
  },
  { route: "get-payment-audit" },
);
