/**
 * The container's Stripe client and provider, made once at cold start.
 */
import { createStripeClient, StripePaymentProvider } from "../adapters/stripe-payment-provider.js";
import { parseSettings, stripeSettings } from "../config.js";

export const stripeConfig = parseSettings(stripeSettings, process.env);
export const stripe = createStripeClient({
  secretKey: stripeConfig.STRIPE_SECRET_KEY,
  apiBase: stripeConfig.STRIPE_API_BASE,
});
export const provider = new StripePaymentProvider(stripe);
