/**
 * A Stripe provider that loads the Stripe SDK on its first call, for the functions that call
 * Stripe only now and then: reads (only an owner's read of an unpaid payment fetches its client
 * secret, and a search by PaymentIntent without a legacy mapping item reads the PaymentIntent's
 * metadata) and the webhook (signatures are checked with node:crypto; Stripe is called only to
 * re-read refunds, or to read the PaymentIntent's metadata when the notice itself does not name
 * its payment: charges, disputes, refunds made elsewhere). The bundler puts the SDK in a chunk
 * that a cold start of these functions does not load (npm run bench).
 */
import type { PaymentProvider } from "../ports.js";

export { stripeConfig, stripeLiveMode } from "./stripe-config.js";

// One load for the container, shared by concurrent first calls. A failed load fails every call
// (Node keeps a module whose evaluation threw as failed): the function answers 5xx and the
// caller or Stripe retries on a fresh container.
let loaded: Promise<PaymentProvider> | undefined;
const load = (): Promise<PaymentProvider> => {
  loaded ??= import("./stripe.js").then((m) => m.provider);
  return loaded;
};

export const provider: PaymentProvider = {
  createPaymentIntent: async (input, key) => (await load()).createPaymentIntent(input, key),
  clientSecret: async (id) => (await load()).clientSecret(id),
  retrieveIntent: async (id) => (await load()).retrieveIntent(id),
  cancelPaymentIntent: async (id, key, reason) =>
    (await load()).cancelPaymentIntent(id, key, reason),
  capturePaymentIntent: async (id, amount, key) =>
    (await load()).capturePaymentIntent(id, amount, key),
  listRefunds: async (id) => (await load()).listRefunds(id),
  createRefund: async (input, key) => (await load()).createRefund(input, key),
};
