/**
 * The local gateway answers as API Gateway's HTTP API does, and always with problem+json: requests
 * node:http's own parser refuses (an unknown method, a control character in a header, headers
 * too large), bodies over the limit (413, and the connection is closed so the client's next
 * request is not reset), tokens the JWT authorizer would refuse (no `exp`), paths with dot
 * segments (not normalised into another route), and every answer carries `apigw-requestid`.
 */
import { connect } from "node:net";
import fc from "fast-check";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALG, LOCAL_AUDIENCE, LOCAL_ISSUER } from "../../local/auth.js";
import { type Stack, startStack, uniqueId } from "../support/stack.js";

let stack: Stack;
let alice: string;

beforeAll(async () => {
  stack = await startStack();
  alice = await stack.token("alice", "payments:write payments:read payments:refund");
});
afterAll(async () => {
  await stack?.close();
});

interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Sends `request` as raw bytes on a new connection; resolves with the answer once it is closed. */
function raw(request: string | Buffer): Promise<RawAnswer> {
  const { port, hostname } = new URL(stack.url);
  return new Promise((resolve, reject) => {
    const socket = connect({ port: Number(port), host: hostname });
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", reject);
    socket.on("end", () => {
      const text = Buffer.concat(chunks).toString("latin1");
      const [head = "", ...rest] = text.split("\r\n\r\n");
      const [statusLine = "", ...lines] = head.split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const i = line.indexOf(":");
        if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({ status: Number(statusLine.split(" ")[1]), headers, body: rest.join("\r\n\r\n") });
    });
    socket.write(request);
  });
}

function expectProblem(answer: RawAnswer, status: number, code: string) {
  expect(answer.status).toBe(status);
  expect(answer.headers["content-type"]).toBe("application/problem+json");
  const body: unknown = JSON.parse(answer.body);
  expect(body).toMatchObject({ status, code });
}

describe("requests the HTTP parser refuses", () => {
  it("an unknown method is a problem+json 400", async () => {
    const answer = await raw(
      "BREW /api/payments/x HTTP/1.1\r\nHost: local\r\nConnection: close\r\n\r\n",
    );
    expectProblem(answer, 400, "bad_request");
  });

  it("a control character in a header is a problem+json 400", async () => {
    const answer = await raw(
      "POST /api/payments/intents HTTP/1.1\r\nHost: local\r\nIdempotency-Key: a\u0001b\r\nConnection: close\r\n\r\n",
    );
    expectProblem(answer, 400, "bad_request");
  });

  it("headers larger than API Gateway's 10 KB are a problem+json 431", async () => {
    const answer = await raw(
      `POST /api/webhooks/stripe HTTP/1.1\r\nHost: local\r\nStripe-Signature: t=1,v1=${"a".repeat(40_000)}\r\nConnection: close\r\n\r\n`,
    );
    expectProblem(answer, 431, "headers_too_large");
  });
});

describe("bodies over the limit", () => {
  it("answer 413 payload_too_large and close the connection; the next request works", async () => {
    const big = JSON.stringify({ orderId: uniqueId("order"), pad: "x".repeat(2 * 1024 * 1024) });
    const res = await fetch(`${stack.url}/api/payments/intents`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${alice}`,
        "content-type": "application/json",
        "idempotency-key": uniqueId("key"),
      },
      body: big,
    });
    expect(res.status).toBe(413);
    expect(res.headers.get("connection")).toBe("close");
    expect(await res.json()).toMatchObject({ code: "payload_too_large" });
    // The same client (a keep-alive pool) goes on without a reset.
    const next = await fetch(`${stack.url}/api/payments/${uniqueId("pay")}`, {
      headers: { authorization: `Bearer ${alice}` },
    });
    expect(next.status).toBe(404);
  });

  it("a 10 MB webhook body is refused the same way, without a reset", async () => {
    const res = await fetch(`${stack.url}/api/webhooks/stripe`, {
      method: "POST",
      headers: { "content-type": "application/json", "stripe-signature": "t=1,v1=00" },
      body: "x".repeat(10 * 1024 * 1024),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: "payload_too_large" });
  });
});

describe("tokens and paths as API Gateway treats them", () => {
  it("a token without exp is refused with 401 and WWW-Authenticate", async () => {
    const noExp = await new SignJWT({ scope: "payments:read" })
      .setProtectedHeader({ alg: ALG, typ: "JWT" })
      .setSubject("alice")
      .setIssuer(LOCAL_ISSUER)
      .setAudience(LOCAL_AUDIENCE)
      .setIssuedAt()
      .sign(stack.keys.privateKey);
    const res = await stack.call("GET", `/api/payments/${uniqueId("pay")}`, { token: noExp });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe("unauthorized");
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer error="invalid_token"/);
    const none = await stack.call("GET", `/api/payments/${uniqueId("pay")}`);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe("Bearer");
  });

  it("dot segments and empty segments are not normalised into another route", async () => {
    // Sent as raw bytes: fetch (a WHATWG URL) would normalise them before they left.
    const body = JSON.stringify({ orderId: uniqueId("order"), amount: 1_000, currency: "eur" });
    for (const path of [
      "/api/payments/intents/../intents",
      "/api/payments/./intents",
      "/api//payments/intents",
      "/api/payments/%2E%2E/payments/intents",
    ]) {
      const answer = await raw(
        `POST ${path} HTTP/1.1\r\nHost: local\r\nAuthorization: Bearer ${alice}\r\n` +
          `Idempotency-Key: ${uniqueId("key")}\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
      expectProblem(answer, 404, "route_not_found");
    }
  });

  it("a payment id longer than any we issue is 404 on every route, never a reset", async () => {
    const long = "p".repeat(180);
    for (const [method, path] of [
      ["GET", `/api/payments/${long}`],
      ["POST", `/api/payments/${long}/refund`],
      ["POST", `/api/payments/${long}/capture`],
      ["POST", `/api/payments/${long}/cancel`],
    ] as const) {
      const res = await stack.call(method, path, {
        token: alice,
        ...(method === "POST" ? { body: {}, headers: { "idempotency-key": uniqueId("key") } } : {}),
      });
      expect(res.status, path).toBe(404);
      expect(res.body.code, path).toBe("payment_not_found");
    }
  });

  it("every answer carries apigw-requestid", async () => {
    const ok = await stack.call("GET", `/api/payments/${uniqueId("pay")}`, { token: alice });
    const unrouted = await stack.call("GET", "/nowhere");
    const refused = await stack.call("GET", `/api/payments/${uniqueId("pay")}`);
    for (const res of [ok, unrouted, refused]) {
      expect(res.headers.get("apigw-requestid")).toMatch(/^[A-Za-z0-9+/=]{16}$/);
    }
    expect(ok.headers.get("apigw-requestid")).not.toBe(unrouted.headers.get("apigw-requestid"));
  });
});

describe("a bounded, seeded fuzzer of whole requests", () => {
  const PATHS = [
    "/api/payments/intents",
    "/api/payments",
    "/api/payments/{id}",
    "/api/payments/{id}/refund",
    "/api/payments/{id}/capture",
    "/api/payments/{id}/cancel",
    "/api/payments/{id}/audit",
    "/api/payments/{id}/reconcile",
    "/api/dead-letters",
    "/api/dead-letters/{id}/redrive",
    "/api/dead-letters/{id}/discard",
    "/api/webhooks/stripe",
  ];
  // Printable but hostile: no CR or LF (those would end the header), anything else goes.
  const headerText = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.string({
        unit: fc.constantFrom("a", "Z", "0", "-", "_"),
        minLength: 1,
        maxLength: 40,
      }),
    },
    {
      weight: 1,
      arbitrary: fc.string({
        unit: fc.constantFrom("a", " ", "\t", "\x01", "\x7f", "%", ";", "=", "é", "\u2028"),
        maxLength: 300,
      }),
    },
  );
  const id = fc.oneof(
    fc.constant("pay_0j4x7m2q9c8v5b1n3k6h0d2f4g"),
    fc.constant("pay_0j4x7m2q9c8v5b1n3k6h0d2f4g"),
    fc.string({
      unit: fc.constantFrom("a", "_", "%2F", "%00", "..", "é", "%ZZ", "9"),
      maxLength: 220,
    }),
  );
  const body = fc.oneof(
    fc.constant(""),
    fc.constant("{not json"),
    fc.constant('{"orderId":"o-1","amount":2500,"currency":"usd","metadata":{"constructor":"x"}}'),
    fc.json({ maxDepth: 3 }),
    fc.string({ maxLength: 2000 }),
  );
  const request = fc.record({
    method: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom("GET", "POST") },
      { weight: 1, arbitrary: fc.constantFrom("PUT", "DELETE", "PATCH", "OPTIONS", "BREW") },
    ),
    path: fc.tuple(fc.constantFrom(...PATHS), id).map(([p, i]) => p.replace("{id}", i)),
    query: fc.oneof(
      fc.constant(""),
      fc.constant("?orderId=o-1"),
      fc.constant("?status=failed&limit=500"),
      fc.string({ maxLength: 100 }).map((q) => `?cursor=${encodeURIComponent(q)}`),
    ),
    token: fc.constantFrom("alice", "none", "garbage"),
    idempotencyKey: fc.option(headerText, { nil: undefined }),
    signature: fc.option(headerText, { nil: undefined }),
    contentType: fc.constantFrom(
      "application/json",
      "text/plain",
      "application/json; charset=x",
      "",
    ),
    body,
  });

  it("answers every request with a 2xx or a problem+json 4xx that names its code, never a reset or a 5xx", async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const bytes = Buffer.from(r.body, "utf8");
        const headers = [
          `${r.method} ${r.path}${r.query} HTTP/1.1`,
          `host: 127.0.0.1`,
          "connection: close",
          ...(r.token === "alice"
            ? [`authorization: Bearer ${alice}`]
            : r.token === "garbage"
              ? ["authorization: Bearer not.a.token"]
              : []),
          ...(r.idempotencyKey === undefined ? [] : [`idempotency-key: ${r.idempotencyKey}`]),
          ...(r.signature === undefined ? [] : [`stripe-signature: ${r.signature}`]),
          ...(r.contentType === "" ? [] : [`content-type: ${r.contentType}`]),
          `content-length: ${bytes.length}`,
        ];
        const answer = await raw(
          Buffer.concat([Buffer.from(`${headers.join("\r\n")}\r\n\r\n`, "latin1"), bytes]),
        );
        seen.set(answer.status, (seen.get(answer.status) ?? 0) + 1);
        expect(answer.status).toBeGreaterThanOrEqual(200);
        expect(answer.status).toBeLessThan(500);
        expect(answer.headers["apigw-requestid"]).toMatch(/^[A-Za-z0-9+/=]{16}$/);
        if (answer.status >= 400) {
          expect(answer.headers["content-type"]).toBe("application/problem+json");
          const problem: unknown = JSON.parse(answer.body);
          expect(problem).toMatchObject({ status: answer.status, code: expect.any(String) });
        }
      }),
      { seed: 20261206, numRuns: 150 },
    );
    // The runs reached the handlers, not only the gateway's own refusals.
    expect([...seen.keys()].some((s) => s < 300 || s === 403 || s === 422)).toBe(true);
  });
});
