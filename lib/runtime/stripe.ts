/**
 * The container's Stripe side. Deployed, the keys come from SST secrets linked to the function
 * (`Resource.StripeSecretKey`, never plain environment values); locally, from the environment
 * `npm start` sets. The settings are checked at cold start; the Stripe SDK itself is loaded on
 * first use (lib/adapters/lazy-provider.ts), once per container.
 */
import { Resource } from "sst/resource";
import { LazyPaymentProvider } from "../adapters/lazy-provider.js";
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

let adapter: Promise<typeof import("../adapters/stripe-payment-provider.js")> | undefined;
let client:
  | ReturnType<typeof import("../adapters/stripe-payment-provider.js")["createStripeClient"]>
  | undefined;

/** The Stripe SDK client, made on first use and reused. */
export async function stripeClient() {
  adapter ??= import("../adapters/stripe-payment-provider.js");
  const module = await adapter;
  client ??= module.createStripeClient({
    secretKey: stripeConfig.STRIPE_SECRET_KEY,
    apiBase: stripeConfig.STRIPE_API_BASE,
  });
  return client;
}

export const provider = new LazyPaymentProvider(async () => {
  const module = await (adapter ??= import("../adapters/stripe-payment-provider.js"));
  return new module.StripePaymentProvider(await stripeClient());
});
