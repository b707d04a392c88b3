/**
 * POST /api/dead-letters/{id}/redrive: process a dead letter again through the order.placed use
 * case (payments:refund). Created or found: the letter is closed as redriven; refused again: it
 * stays open with the new reason. Audited either way.
 */

import { isDeadLetterId } from "../lib/adapters/dynamo-dead-letters.js";
import { DeadLetterNotFoundError } from "../lib/domain/errors.js";
import { apiCallContext, httpHandler, json, optionalIdempotencyKey } from "../lib/http/handler.js";
import { deadLetterView } from "../lib/http/views.js";
import { clock, deadLetters, repository } from "../lib/runtime/storage.js";
import { provider } from "../lib/runtime/stripe.js";
import { cancelBody, parseOrThrow } from "../lib/schemas.js";
import { redriveDeadLetter } from "../lib/use-cases/dead-letters.js";

export const handler = httpHandler(
  async (request) => {
    const { event, body } = request;
    const key = optionalIdempotencyKey(event);
    parseOrThrow(cancelBody, body);
    const id = event.pathParameters?.id ?? "";
    if (!isDeadLetterId(id)) throw new DeadLetterNotFoundError("No such dead letter.");
    const result = await redriveDeadLetter(
      { repository, provider, clock, deadLetters },
      id,
      apiCallContext(request, key),
    );
    return json(200, {
      deadLetter: deadLetterView(result.deadLetter),
      outcome: result.outcome,
      ...(result.paymentId === undefined ? {} : { paymentId: result.paymentId }),
    });
  },
  { route: "redrive-dead-letter", body: "optional" },
);
