/**
 * The container's Stripe client and provider, made at cold start: for the functions that call
 * Stripe on (nearly) every request (create, refund, capture, cancel, reconciliation, the
 * order consumer). Functions that call it rarely use stripe-lazy.ts instead.
 */
import { createStripeClient, StripePaymentProvider } from "../adapters/stripe-payment-provider.js";
import { stripeConfig } from "./stripe-config.js";

export { stripeConfig, stripeLiveMode } from "./stripe-config.js";

export const stripe = createStripeClient({
  secretKey: stripeConfig.STRIPE_SECRET_KEY,
  apiBase: stripeConfig.STRIPE_API_BASE,
});
export const provider = new StripePaymentProvider(stripe);
