/**
 * The Stripe secrets, set per stage with `npx sst secret set StripeSecretKey sk_... --stage <s>`
 * (and StripeWebhookSecret whsec_...). They are linked to the functions that need them, never
 * put in plain environment: a handler reads `Resource.StripeSecretKey.value` from `sst`.
 */
export function createSecrets() {
  return {
    stripeSecretKey: new sst.Secret("StripeSecretKey"),
    stripeWebhookSecret: new sst.Secret("StripeWebhookSecret"),
  };
}

export type Secrets = ReturnType<typeof createSecrets>;
