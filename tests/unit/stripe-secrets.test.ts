/** Deployed by SST, the Stripe keys come from linked secrets, not from plain environment values. */
import { describe, expect, it } from "vitest";

describe("Stripe settings", () => {
  it("take the linked SST secrets over the environment", async () => {
    // SST hands a linked resource to the function as SST_RESOURCE_<Name> (JSON).
    process.env.SST_RESOURCE_StripeSecretKey = JSON.stringify({
      type: "sst.sst.Secret",
      value: "sk_test_from_sst_secret",
    });
    process.env.SST_RESOURCE_StripeWebhookSecret = JSON.stringify({
      type: "sst.sst.Secret",
      value: "whsec_from_sst_secret",
    });
    process.env.STRIPE_SECRET_KEY = "sk_test_from_plain_env";
    const { stripeConfig } = await import("../../lib/runtime/stripe.js");
    expect(stripeConfig.STRIPE_SECRET_KEY).toBe("sk_test_from_sst_secret");
    expect(stripeConfig.STRIPE_WEBHOOK_SECRET).toBe("whsec_from_sst_secret");
  });
});
