/**
 * Keys that name JavaScript's object machinery (`constructor`, `__proto__`, ...) are data. A body
 * carrying them anywhere is answered as any other body (201 or a 4xx problem), never a 500, and
 * what is stored reads back as it was sent.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack, uniqueId } from "../support/stack.js";

let stack: Stack;
let alice: string;

beforeAll(async () => {
  stack = await startStack();
  alice = await stack.token("alice", "payments:write payments:read");
});
afterAll(async () => {
  await stack?.close();
});

const MAGIC = ["constructor", "__proto__", "prototype", "toString", "valueOf", "hasOwnProperty"];
const magicKey = fc.constantFrom(...MAGIC);
const value = fc.oneof(fc.constant("x"), fc.constant(""), fc.integer(), fc.constant(null));

/** A JSON object text whose keys are written as given (JSON.stringify would keep them too). */
const objectText = (entries: readonly (readonly [string, string])[]) =>
  `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`;

describe("bodies with keys such as constructor and __proto__", () => {
  it("answer 201 or a 4xx problem, and a created payment keeps its metadata", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(magicKey, fc.constantFrom('"x"', '"v"')), {
          selector: ([k]) => k,
          maxLength: 3,
        }),
        fc.option(fc.tuple(magicKey, value), { nil: undefined }),
        fc.boolean(),
        async (metadata, topLevel, nestObject) => {
          const orderId = uniqueId("order-magic");
          const entries: (readonly [string, string])[] = [
            ["orderId", JSON.stringify(orderId)],
            ["amount", "1000"],
            ["currency", '"eur"'],
            [
              "metadata",
              nestObject
                ? objectText([["constructor", objectText(metadata)]])
                : objectText(metadata),
            ],
          ];
          if (topLevel !== undefined) entries.push([topLevel[0], JSON.stringify(topLevel[1])]);
          const res = await stack.call("POST", "/api/payments/intents", {
            token: alice,
            rawBody: objectText(entries),
            headers: { "idempotency-key": uniqueId("key"), "content-type": "application/json" },
          });
          expect(res.status, res.text).toBeLessThan(500);
          if (metadata.some(([k]) => k === "__proto__")) {
            expect(res.body).toMatchObject({
              code: "validation_failed",
              errors: [{ path: "/", message: "the key __proto__ is not accepted" }],
            });
          }
          if (res.status !== 201) {
            expect(res.headers.get("content-type")).toContain("application/problem+json");
            expect(typeof res.body.code).toBe("string");
            return;
          }
          // Only a flat string-to-string metadata object with no extra top-level key is valid.
          expect(nestObject).toBe(false);
          expect(topLevel).toBeUndefined();
          const read = await stack.call("GET", `/api/payments/${String(res.body.id)}`, {
            token: alice,
          });
          expect(read.status).toBe(200);
          expect(read.body.metadata).toEqual(
            Object.fromEntries(metadata.map(([k, v]) => [k, JSON.parse(v)])),
          );
        },
      ),
      {
        numRuns: 40,
        seed: 20261205,
        // The fuzzer's own find (500 before the fix), and the key JavaScript cannot hold.
        examples: [
          [[["constructor", '"x"']], undefined, false],
          [[["__proto__", '"x"']], undefined, false],
          [[], ["prototype", "x"], false],
        ],
      },
    );
  });
});
