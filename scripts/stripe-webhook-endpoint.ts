/**
 * npm run stripe:webhook-endpoint -- --url <https://…/api/webhooks/stripe>
 *
 * Creates, or updates, the Stripe webhook endpoint for that URL so that it is subscribed to
 * exactly the events the service needs (lib/adapters/stripe-webhook-events.ts), with the
 * service's pinned API version. On creation it prints the endpoint's signing secret, once (Stripe
 * shows it only then), with the `sst secret set` line to store it.
 *
 * `--replace` makes a new endpoint for the URL even if one exists: the way to move to the pinned
 * API version (Stripe cannot change an endpoint's version). Both endpoints then deliver every
 * event (the service applies each once, by event id) until the old one is deleted; it prints the
 * secret roll that goes with it (README, "Rolling the webhook signing secret").
 *
 * Settings (environment): STRIPE_SECRET_KEY (sk_/rk_, test or live; a restricted key needs
 * "Webhook Endpoints: write"), STRIPE_API_BASE (a Stripe-compatible API such as the local
 * simulator, http://127.0.0.1:12111; unset: api.stripe.com).
 */
import { parseArgs } from "node:util";
import type Stripe from "stripe";
import { STRIPE_API_VERSION } from "../lib/adapters/stripe-facts.js";
import { createStripeClient } from "../lib/adapters/stripe-payment-provider.js";
import { WEBHOOK_EVENT_TYPES } from "../lib/adapters/stripe-webhook-events.js";

const USAGE = `usage: npm run stripe:webhook-endpoint -- --url <endpoint URL> [--stage <stage>] [--replace]
  Creates or updates the Stripe webhook endpoint for <endpoint URL> with exactly the events the
  service handles; --replace creates a new one beside the existing (to move API versions).
  Environment: STRIPE_SECRET_KEY (required), STRIPE_API_BASE (optional).`;

function fail(line: string): never {
  console.error(`stripe:webhook-endpoint: ${line}`);
  process.exit(1);
}

let values: {
  url?: string | undefined;
  stage?: string | undefined;
  replace?: boolean | undefined;
  help?: boolean | undefined;
};
try {
  ({ values } = parseArgs({
    options: {
      url: { type: "string" },
      stage: { type: "string" },
      replace: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  }));
} catch (error) {
  fail(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
}
if (values.help === true) {
  console.log(USAGE);
  process.exit(0);
}
const target = values.url;
if (target === undefined) fail(`--url is required\n${USAGE}`);
let parsed: URL;
try {
  parsed = new URL(target);
} catch {
  fail(`--url is not a URL: ${target}`);
}
const local = parsed.hostname === "127.0.0.1" || parsed.hostname === "localhost";
if (parsed.protocol !== "https:" && !local) fail(`--url must be https (Stripe sends only there)`);
const key = process.env.STRIPE_SECRET_KEY;
if (key === undefined || !/^(sk|rk)_(test|live)_\w+$/.test(key)) {
  fail("STRIPE_SECRET_KEY must be a secret or restricted key (sk_test_…, rk_live_…)");
}
const stripe = createStripeClient({ secretKey: key, apiBase: process.env.STRIPE_API_BASE });
const wanted = [...WEBHOOK_EVENT_TYPES].sort();
const stage = values.stage ?? "<stage>";

try {
  const existing: Stripe.WebhookEndpoint[] = [];
  for await (const endpoint of stripe.webhookEndpoints.list({ limit: 100 })) {
    if (endpoint.url === target) existing.push(endpoint);
  }
  const replace = values.replace === true;
  const [endpoint, ...others] = replace ? [] : existing;
  if (others.length > 0) {
    console.warn(
      `warning: ${others.length} more endpoint(s) for this URL (${others.map((e) => e.id).join(", ")}): each delivery would come twice; delete them in the Dashboard`,
    );
  }
  if (endpoint === undefined) {
    const created = await stripe.webhookEndpoints.create({
      url: target,
      enabled_events: [...WEBHOOK_EVENT_TYPES],
      api_version: STRIPE_API_VERSION,
      description: "payment-service",
    });
    console.log(`created ${created.id} for ${target}: ${wanted.length} event types`);
    console.log(`signing secret (shown once): ${created.secret ?? "(none returned)"}`);
    if (replace && existing.length > 0) {
      const old = existing.map((e) => e.id).join(", ");
      console.log(
        `roll to it: npx sst secret set StripeWebhookSecret "${created.secret ?? "…"},<the current secret>" --stage ${stage}, deploy;`,
      );
      console.log(
        `then delete ${old} (Dashboard, or the API), set ${created.secret ?? "…"} alone and deploy again`,
      );
    } else {
      console.log(
        `store it: npx sst secret set StripeWebhookSecret ${created.secret ?? "…"} --stage ${stage}`,
      );
    }
  } else {
    const current = [...endpoint.enabled_events].sort();
    const same = current.length === wanted.length && current.every((e, i) => e === wanted[i]);
    if (same && endpoint.status === "enabled") {
      console.log(
        `${endpoint.id} for ${target} already has exactly the ${wanted.length} event types`,
      );
    } else {
      await stripe.webhookEndpoints.update(endpoint.id, {
        enabled_events: [...WEBHOOK_EVENT_TYPES],
        disabled: false,
      });
      console.log(
        `updated ${endpoint.id} for ${target}: ${wanted.length} event types (was ${current.length}: ${current.join(", ")})`,
      );
    }
    if (endpoint.api_version !== STRIPE_API_VERSION) {
      console.warn(
        `warning: the endpoint's API version is ${endpoint.api_version ?? "the account default"}, the service's ${STRIPE_API_VERSION}; Stripe cannot change it on an endpoint: run again with --replace to move`,
      );
    }
    console.log("its signing secret is unchanged (Stripe shows it only at creation)");
  }
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}
