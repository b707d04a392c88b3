/**
 * The container's Stripe settings, read once at cold start without loading the Stripe SDK.
 * Deployed, the keys come from SST secrets linked to the function (`Resource.StripeSecretKey`,
 * never plain environment values); locally, from the environment `npm start` sets.
 */
import { Resource } from "sst/resource";
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

/** Whether the key is a live one, secret or restricted (the console links to the live Dashboard). */
export const stripeLiveMode = /^(sk|rk)_live_/.test(stripeConfig.STRIPE_SECRET_KEY);
