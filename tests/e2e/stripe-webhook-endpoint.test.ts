/**
 * `npm run stripe:webhook-endpoint` in its own process against the Stripe simulator: it creates
 * the endpoint with exactly the service's event types and prints the secret once; run again it
 * changes nothing; an endpoint subscribed to other events is put right. Deliveries then come
 * signed with the printed secret, and only of those types.
 */
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STRIPE_API_VERSION } from "../../lib/adapters/stripe-facts.js";
import { verifyStripeSignature } from "../../lib/adapters/stripe-signature.js";
import { WEBHOOK_EVENT_TYPES } from "../../lib/adapters/stripe-webhook-events.js";
import { type StripeSimulator, startStripeSimulator } from "../../local/stripe-simulator/index.js";
import { runScript } from "../support/scripts.js";

const KEY = "sk_test_endpoint_script";

let simulator: StripeSimulator;
let stripe: Stripe;
let receiver: Server;
let endpointUrl: string;
const received: { type: string; signature: string; body: string }[] = [];

beforeAll(async () => {
  // Until an endpoint exists the simulator delivers nowhere.
  simulator = await startStripeSimulator({ port: 0, webhookSecret: "whsec_unused" });
  const base = new URL(simulator.url);
  stripe = new Stripe(KEY, {
    host: base.hostname,
    port: Number(base.port),
    protocol: "http",
    maxNetworkRetries: 0,
  });
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => {
      body += String(chunk);
    });
    req.on("end", () => {
      const event: unknown = JSON.parse(body);
      const type =
        typeof event === "object" && event !== null && "type" in event ? String(event.type) : "";
      received.push({ type, signature: String(req.headers["stripe-signature"] ?? ""), body });
      res.writeHead(200, { "content-type": "application/json" }).end('{"received":true}');
    });
  });
  receiver.listen(0, "127.0.0.1");
  await once(receiver, "listening");
  endpointUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/api/webhooks/stripe`;
});
afterAll(async () => {
  await simulator?.close();
  receiver?.close();
});

const script = (args: string[], env: Record<string, string> = {}) =>
  runScript(["scripts/stripe-webhook-endpoint.ts", ...args], {
    STRIPE_SECRET_KEY: KEY,
    STRIPE_API_BASE: simulator.url,
    ...env,
  });

describe("npm run stripe:webhook-endpoint", () => {
  it("creates the endpoint with exactly the service's events and prints its secret once", async () => {
    const first = await script(["--url", endpointUrl, "--stage", "staging"]);
    expect(first.code, first.stderr).toBe(0);
    const secret = /signing secret \(shown once\): (whsec_\w+)/.exec(first.stdout)?.[1];
    expect(secret).toBeDefined();
    expect(first.stdout).toContain(
      `npx sst secret set StripeWebhookSecret ${secret} --stage staging`,
    );
    const { data } = await stripe.webhookEndpoints.list();
    expect(data).toHaveLength(1);
    expect([...(data[0]?.enabled_events ?? [])].sort()).toEqual([...WEBHOOK_EVENT_TYPES].sort());
    expect(data[0]?.url).toBe(endpointUrl);
    expect(data[0]?.secret).toBeUndefined();

    // A payment: only subscribed types arrive, each signed with the printed secret.
    const pi = await stripe.paymentIntents.create({ amount: 1500, currency: "eur" });
    await stripe.paymentIntents.confirm(pi.id, { payment_method: "pm_card_visa" });
    await stripe.refunds.create({ payment_intent: pi.id, amount: 500 });
    await simulator.drainWebhooks();
    const sent = simulator.events().map((e) => e.type);
    expect(sent).toEqual(expect.arrayContaining(["charge.succeeded", "refund.created"]));
    expect(received.map((r) => r.type).sort()).toEqual(
      ["charge.refunded", "payment_intent.succeeded"].sort(),
    );
    for (const r of received) {
      expect(
        verifyStripeSignature(r.body, r.signature, {
          secrets: [secret ?? ""],
          toleranceSeconds: 300,
          nowSeconds: Math.floor(Date.now() / 1000),
        }),
      ).toBe(r.body);
    }

    // Again: nothing to change, and no secret (Stripe shows it only at creation).
    const again = await script(["--url", endpointUrl]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("already has exactly");
    expect(again.stdout).not.toMatch(/whsec_/);
    expect((await stripe.webhookEndpoints.list()).data).toHaveLength(1);
  });

  it("puts right an endpoint subscribed to other events", async () => {
    const [endpoint] = (await stripe.webhookEndpoints.list()).data;
    if (endpoint === undefined) throw new Error("no endpoint");
    await stripe.webhookEndpoints.update(endpoint.id, {
      enabled_events: ["charge.succeeded", "charge.failed"],
    });
    const fixed = await script(["--url", endpointUrl]);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.stdout).toContain(`updated ${endpoint.id}`);
    const after = await stripe.webhookEndpoints.retrieve(endpoint.id);
    expect([...after.enabled_events].sort()).toEqual([...WEBHOOK_EVENT_TYPES].sort());
  });

  it("--replace moves to the pinned API version: a new endpoint beside the old, and the roll to do", async () => {
    const old = await stripe.webhookEndpoints.create({
      url: endpointUrl,
      enabled_events: [...WEBHOOK_EVENT_TYPES],
      api_version: "2024-06-20",
    });
    const warned = await script(["--url", endpointUrl]);
    expect(warned.stderr).toContain("run again with --replace");
    const moved = await script(["--url", endpointUrl, "--replace", "--stage", "prod"]);
    expect(moved.code, moved.stderr).toBe(0);
    const secret = /signing secret \(shown once\): (whsec_\w+)/.exec(moved.stdout)?.[1];
    expect(secret).toBeDefined();
    expect(moved.stdout).toContain(
      `npx sst secret set StripeWebhookSecret "${secret},<the current secret>" --stage prod`,
    );
    expect(moved.stdout).toContain(`then delete `);
    expect(moved.stdout).toContain(old.id);
    const all = (await stripe.webhookEndpoints.list()).data.filter((e) => e.url === endpointUrl);
    const created = all.find((e) => moved.stdout.includes(`created ${e.id} `));
    // The first test's endpoint, the old-version one, and the new one.
    expect(all).toHaveLength(3);
    expect(created?.api_version).toBe(STRIPE_API_VERSION);
    for (const e of all) if (e.id !== created?.id) await stripe.webhookEndpoints.del(e.id);
  });

  it("refuses a missing URL, a plain-http public URL and a key that is not one, in one line", async () => {
    for (const [args, env, message] of [
      [[], {}, /--url is required/],
      [["--url", "http://example.com/api/webhooks/stripe"], {}, /must be https/],
      [["--url", endpointUrl], { STRIPE_SECRET_KEY: "pk_test_x" }, /STRIPE_SECRET_KEY/],
    ] as const) {
      const out = await script([...args], env);
      expect(out.code).toBe(1);
      expect(out.stderr).toMatch(message);
      expect(out.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
