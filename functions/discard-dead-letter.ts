/** POST /api/dead-letters/{id}/discard: close a dead letter for good, with a reason (payments:refund). */

import { isDeadLetterId } from "../lib/adapters/dynamo-dead-letters.js";
import { DeadLetterNotFoundError } from "../lib/domain/errors.js";
import { apiCallContext, httpHandler, json, optionalIdempotencyKey } from "../lib/http/handler.js";
import { deadLetterView } from "../lib/http/views.js";
import { clock, deadLetters } from "../lib/runtime/storage.js";
import { discardBody, parseOrThrow } from "../lib/schemas.js";
import { discardDeadLetter } from "../lib/use-cases/dead-letters.js";

export const handler = httpHandler(
  async (request) => {
    const { event, body } = request;
    const key = optionalIdempotencyKey(event);
    const { reason } = parseOrThrow(discardBody, body);
    const id = event.pathParameters?.id ?? "";
    if (!isDeadLetterId(id)) throw new DeadLetterNotFoundError("No such dead letter.");
    const letter = await discardDeadLetter(
      { deadLetters, clock },
      id,
      reason,
      apiCallContext(request, key),
    );
    return json(200, deadLetterView(letter));
  },
  { route: "discard-dead-letter", body: "required" },
);
