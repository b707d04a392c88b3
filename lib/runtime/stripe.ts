/**
 * The container's Stripe client and provider, made once at cold start. Deployed, the keys come
 * from SST secrets linked to the function (`Resource.StripeSecretKey`, never plain environment
 * values); locally, from the environment `npm start` sets.
 */
import { Resource } from "sst/resource";
import { createStripeClient, StripePaymentProvider } from "../adapters/stripe-payment-provider.js";
import { parseSettings, stripeSettings } from "../config.js";

/** A linked SST secret's value, or undefined where the function was not deployed by SST. */
function linkedSecret(name: "StripeSecretKey" | "StripeWebhookSecret"): string | undefined {
  try {
    const resource: unknown = Reflect.get(Resource, name);
    if (typeof resource !== "object" || resource === null) return undefined;
    const value: unknown = Reflect.get(resource, "value");
    return typeof value === "string" ? value : undefined;
  } catch {
    // Resource throws for names it was not given: not deployed by SST.
    return undefined;
  }
}

export const stripeConfig = parseSettings(stripeSettings, {
  ...process.env,
  STRIPE_SECRET_KEY: linkedSecret("StripeSecretKey") ?? process.env.STRIPE_SECRET_KEY,
  STRIPE_WEBHOOK_SECRET: linkedSecret("StripeWebhookSecret") ?? process.env.STRIPE_WEBHOOK_SECRET,
});
export const stripe = createStripeClient({
  secretKey: stripeConfig.STRIPE_SECRET_KEY,
  apiBase: stripeConfig.STRIPE_API_BASE,
});
export const provider = new StripePaymentProvider(stripe);

/** Whether the key is a live one (the console links to the live Dashboard then). */
export const stripeLiveMode = stripeConfig.STRIPE_SECRET_KEY.startsWith("sk_live_");
