/** POST /api/payments/intents: create a Stripe PaymentIntent for an order, idempotently. */
import { hasScope, SCOPES } from "../lib/auth.js";
import { apiContext } from "../lib/domain/audit.js";
import { OrderAlreadyHasPaymentError } from "../lib/domain/errors.js";
import { paymentIdForRequest } from "../lib/domain/ids.js";
import { httpHandler, idempotencyKey, json } from "../lib/http/handler.js";
import {
  type CreatedPaymentView,
  createdPaymentView,
  withClientSecret,
} from "../lib/http/views.js";
import { idempotentOperation, type Sink } from "../lib/idempotency.js";
import { count, METRICS } from "../lib/observability.js";
import { clock, idempotencyStore, repository } from "../lib/runtime/storage.js";
import { provider } from "../lib/runtime/stripe.js";
import { type CreateIntentRequest, createIntentBody, parseOrThrow } from "../lib/schemas.js";
import { createPayment } from "../lib/use-cases/create-payment.js";

// The client secret travels from the first run to its answer through the sink, past the store.
const createOnce = idempotentOperation<CreateIntentRequest, CreatedPaymentView>(
  async ({ caller, key, payload, requestId }, sink) => {
    const { payment, clientSecret } = await createPayment(
      { repository, provider, clock },
      {
        paymentId: paymentIdForRequest(caller, key),
        customerId: caller,
        request: payload,
        context: apiContext({ caller, key, requestId }),
      },
    );
    if (clientSecret !== undefined) sink.clientSecret = clientSecret;
    return createdPaymentView(payment);
  },
  idempotencyStore("create-intent"),
);

export const handler = httpHandler(
  async ({ event, caller, body, context }) => {
    const key = idempotencyKey(event);
    const request = parseOrThrow(createIntentBody, body);
    const sink: Sink = {};
    const { value, replayed } = await createOnce(
      { caller: caller.sub, key, payload: request, requestId: event.requestContext.requestId },
      sink,
      context,
    ).catch(async (error: unknown) => {
      // A 409 names the order's payment only to its own customer (or an admin): another
      // customer's create learns that the order is taken, never whose payment took it.
      if (error instanceof OrderAlreadyHasPaymentError) {
        const holder = await repository.get(error.paymentId);
        const own = holder?.customerId === caller.sub || hasScope(caller, SCOPES.admin);
        if (!own) {
          throw error.withoutPaymentId();
        }
      }
      throw error;
    });
    count(replayed ? METRICS.idempotentReplay : METRICS.paymentCreated);
    // A replay has no secret in hand (it is never stored): fetch it from Stripe again.
    const clientSecret =
      sink.clientSecret ?? (await provider.clientSecret(value.stripePaymentIntentId));
    return json(
      201,
      withClientSecret(value, clientSecret),
      replayed ? { "idempotent-replayed": "true" } : {},
    );
  },
  { route: "create-intent", body: "required" },
);
