import { createHmac } from "node:crypto";
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { canonicalJson, parseForm } from "../../local/stripe-simulator/form.js";
import { IdempotencyStore } from "../../local/stripe-simulator/idempotency.js";
import { signPayload } from "../../local/stripe-simulator/webhooks.js";

describe("stripe simulator form parsing", () => {
  it("parses Stripe's bracket notation into nested values", () => {
    const parsed = parseForm(
      "amount=100&metadata[order_id]=o1&metadata[0]=zero&automatic_payment_methods[enabled]=true" +
        "&expand[]=latest_charge&expand[]=customer&payment_method_options[card][capture_method]=manual" +
        "&types[1]=b&types[0]=a",
    );
    expect(parsed).toEqual({
      amount: "100",
      metadata: { order_id: "o1", 0: "zero" },
      automatic_payment_methods: { enabled: "true" },
      expand: ["latest_charge", "customer"],
      payment_method_options: { card: { capture_method: "manual" } },
      types: ["a", "b"],
    });
  });

  it("keeps empty values and ignores prototype keys", () => {
    const parsed = parseForm("metadata=&__proto__[polluted]=yes");
    expect(parsed.metadata).toBe("");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("renders parameters canonically regardless of order", () => {
    expect(canonicalJson(parseForm("b=2&a=1&m[y]=2&m[x]=1"))).toBe(
      canonicalJson(parseForm("m[x]=1&a=1&m[y]=2&b=2")),
    );
    expect(canonicalJson(parseForm("a=1"))).not.toBe(canonicalJson(parseForm("a=2")));
  });
});

describe("stripe simulator idempotency store", () => {
  it("replays, detects mismatches and locks in-flight keys per API key", () => {
    let now = 0;
    const store = new IdempotencyStore(() => now);
    expect(store.begin("sk_test_a", "k", "f1")).toEqual({ kind: "new" });
    expect(store.begin("sk_test_a", "k", "f1")).toEqual({ kind: "in_flight" });
    expect(store.begin("sk_test_b", "k", "f1")).toEqual({ kind: "new" });
    store.complete("sk_test_a", "k", { status: 200, body: "{}", requestId: "req_1" });
    expect(store.begin("sk_test_a", "k", "f1")).toMatchObject({
      kind: "replay",
      response: { status: 200 },
    });
    expect(store.begin("sk_test_a", "k", "f2")).toEqual({ kind: "mismatch" });
    now += 24 * 60 * 60 * 1000;
    expect(store.begin("sk_test_a", "k", "f2")).toEqual({ kind: "new" });
  });
});

describe("stripe simulator webhook signatures", () => {
  it("signs as Stripe does, accepted by the SDK", () => {
    const payload = JSON.stringify({ id: "evt_1", object: "event" });
    const t = Math.floor(Date.now() / 1000);
    const header = signPayload(payload, "whsec_abc", t);
    const expected = createHmac("sha256", "whsec_abc").update(`${t}.${payload}`).digest("hex");
    expect(header).toBe(`t=${t},v1=${expected}`);
    const event = new Stripe("sk_test_x").webhooks.constructEvent(
      payload,
      header,
      "whsec_abc",
      300,
    );
    expect(event.id).toBe("evt_1");
    expect(() =>
      new Stripe("sk_test_x").webhooks.constructEvent(payload, header, "whsec_other", 300),
    ).toThrow();
  });
});
