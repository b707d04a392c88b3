/**
 * The webhook's own signature check (node:crypto, Stripe's documented scheme) against headers
 * made by the `stripe` package's own test-header generator, and against what the SDK refuses.
 */
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import {
  parseWebhookSecrets,
  SignatureRejectedError,
  verifyStripeSignature,
} from "../../lib/adapters/stripe-signature.js";

const sdk = new Stripe("sk_test_unit");
const OLD = "whsec_old_secret_0123456789";
const NEW = "whsec_new_secret_9876543210";
const NOW = 1_796_600_000;
const payload = JSON.stringify({ id: "evt_1", object: "event", type: "payment_intent.succeeded" });

const header = (secret: string, timestamp = NOW, body = payload) =>
  sdk.webhooks.generateTestHeaderString({ payload: body, secret, timestamp });
/** Stripe's header while a secret is rolled: one timestamp, a v1 per secret. */
const rolled = (timestamp = NOW) =>
  [header(NEW, timestamp), header(OLD, timestamp).replace(/^t=\d+,/, "")].join(",");

const verify = (h: string | undefined, secrets: string[], body: string | Buffer = payload) =>
  verifyStripeSignature(body, h, { secrets, toleranceSeconds: 300, nowSeconds: NOW });
const reason = (f: () => unknown): string => {
  try {
    f();
  } catch (error) {
    if (error instanceof SignatureRejectedError) return error.message;
    throw error;
  }
  return "accepted";
};

describe("verifyStripeSignature", () => {
  it("accepts what Stripe's SDK signs, as text or as bytes, and answers the body", () => {
    expect(verify(header(OLD), [OLD])).toBe(payload);
    expect(verify(header(OLD), [OLD], Buffer.from(payload))).toBe(payload);
    // And the SDK agrees with the header being valid.
    expect(
      sdk.webhooks.constructEvent(payload, header(OLD), OLD, 300, undefined, NOW * 1000).id,
    ).toBe("evt_1");
  });

  it("accepts a delivery signed with any of the endpoint's secrets, in either order", () => {
    expect(verify(header(NEW), [NEW, OLD])).toBe(payload);
    expect(verify(header(OLD), [NEW, OLD])).toBe(payload);
    // During Stripe's roll the header carries both; an endpoint still on the old one accepts it,
    // as does one already on the new one.
    expect(verify(rolled(), [OLD])).toBe(payload);
    expect(verify(rolled(), [NEW])).toBe(payload);
  });

  it("refuses another secret, a changed body, and a header with no signature or no timestamp", () => {
    expect(reason(() => verify(header(NEW), [OLD]))).toMatch(/no signature matches/);
    expect(reason(() => verify(header(OLD), [OLD], `${payload} `))).toMatch(/no signature matches/);
    expect(reason(() => verify(header(OLD), [OLD], payload.replace("evt_1", "evt_2")))).toMatch(
      /no signature matches/,
    );
    expect(reason(() => verify(undefined, [OLD]))).toMatch(/no Stripe-Signature/);
    expect(reason(() => verify("", [OLD]))).toMatch(/no Stripe-Signature/);
    expect(reason(() => verify(`t=${NOW}`, [OLD]))).toMatch(/no v1 signature/);
    expect(reason(() => verify(header(OLD).replace(/^t=\d+,/, ""), [OLD]))).toMatch(/no timestamp/);
    expect(reason(() => verify(header(OLD).replace(/^t=\d+/, "t=soon"), [OLD]))).toMatch(
      /not a number/,
    );
    expect(reason(() => verify(`${header(OLD)},t=${NOW}`, [OLD]))).toMatch(/more than one/);
    expect(reason(() => verify(header(OLD, NOW, ""), [OLD], ""))).toMatch(/empty body/);
  });

  it("ignores other schemes: a v0 signature alone is not enough", () => {
    const v1 = header(OLD).split(",")[1] ?? "";
    const v0Only = `t=${NOW},v0=${v1.slice(3)}`;
    expect(reason(() => verify(v0Only, [OLD]))).toMatch(/no v1 signature/);
    expect(verify(`t=${NOW},v0=abc,${v1}`, [OLD])).toBe(payload);
  });

  it("refuses a timestamp more than 300 s away, in the past or the future, as the SDK does for the past", () => {
    expect(verify(header(OLD, NOW - 300), [OLD])).toBe(payload);
    expect(verify(header(OLD, NOW + 300), [OLD])).toBe(payload);
    expect(reason(() => verify(header(OLD, NOW - 301), [OLD]))).toMatch(/-?301 s from now/);
    expect(reason(() => verify(header(OLD, NOW + 301), [OLD]))).toMatch(/301 s from now/);
    expect(() =>
      sdk.webhooks.constructEvent(payload, header(OLD, NOW - 301), OLD, 300, undefined, NOW * 1000),
    ).toThrow(/tolerance/);
  });
});

describe("parseWebhookSecrets", () => {
  it("reads one secret or a comma-separated roll, without blanks", () => {
    expect(parseWebhookSecrets(OLD)).toEqual([OLD]);
    expect(parseWebhookSecrets(` ${NEW} , ${OLD} `)).toEqual([NEW, OLD]);
    expect(parseWebhookSecrets("")).toEqual([]);
  });
});
