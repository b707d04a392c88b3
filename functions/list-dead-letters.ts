/** GET /api/dead-letters: order.placed records set aside, newest first (payments:admin). */
import { httpHandler, json } from "../lib/http/handler.js";
import { deadLetterView } from "../lib/http/views.js";
import { deadLetters } from "../lib/runtime/storage.js";
import { deadLetterListQuery, parseOrThrow } from "../lib/schemas.js";
import { listDeadLetters } from "../lib/use-cases/dead-letters.js";

export const handler = httpHandler(
  async ({ event }) => {
    const query = parseOrThrow(deadLetterListQuery, event.queryStringParameters ?? {});
    const page = await listDeadLetters({ deadLetters }, query.status, query);
    return json(200, {
      items: page.items.map(deadLetterView),
      nextCursor: page.nextCursor ?? null,
    });
  },
  { route: "list-dead-letters" },
);
