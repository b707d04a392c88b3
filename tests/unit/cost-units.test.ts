import { describe, expect, it } from "vitest";
import {
  indexWriteUnits,
  itemSize,
  readUnits,
  valueSize,
  writeUnits,
} from "../../scripts/cost/units.js";

describe("DynamoDB item sizes", () => {
  it("counts names and values as the Developer Guide describes", () => {
    expect(valueSize({ S: "abc" })).toBe(3);
    expect(valueSize({ S: "é" })).toBe(2);
    expect(valueSize({ N: "12345" })).toBe(4);
    expect(valueSize({ N: "-1.50" })).toBe(2);
    expect(valueSize({ BOOL: true })).toBe(1);
    expect(valueSize({ NULL: true })).toBe(1);
    expect(valueSize({ B: Buffer.from("abcd").toString("base64") })).toBe(4);
    expect(valueSize({ L: [{ S: "ab" }, { S: "c" }] })).toBe(3 + 1 + 2 + 1 + 1);
    expect(valueSize({ M: { k: { S: "vv" } } })).toBe(3 + 1 + 1 + 2);
    expect(itemSize({ pk: { S: "PAYMENT#1" }, n: { N: "7" } })).toBe(2 + 9 + 1 + 2);
    expect(itemSize(undefined)).toBe(0);
  });
});

describe("capacity units", () => {
  it("writes: a started KB of the larger image, at least one, doubled in a transaction", () => {
    expect(writeUnits(0, 10, false)).toBe(1);
    expect(writeUnits(0, 0, false)).toBe(1);
    expect(writeUnits(1024, 100, false)).toBe(1);
    expect(writeUnits(1025, 100, false)).toBe(2);
    expect(writeUnits(100, 3000, true)).toBe(6);
  });

  it("reads: a started 4 KB, half when eventually consistent, doubled in a transaction", () => {
    expect(readUnits(0, "strong")).toBe(1);
    expect(readUnits(4096, "strong")).toBe(1);
    expect(readUnits(4097, "strong")).toBe(2);
    expect(readUnits(100, "eventual")).toBe(0.5);
    expect(readUnits(100, "transactional")).toBe(2);
  });

  it("a keys-only index costs a write only when its entry appears, changes or goes", () => {
    const index = { partitionKey: "watch", sortKey: "watchAt" };
    const keys = ["pk", "sk"];
    const base = { pk: { S: "P#1" }, sk: { S: "PAYMENT" }, status: { S: "initiated" } };
    const watched = { ...base, watch: { S: "open" }, watchAt: { S: "2026-12-06T00:00:00Z" } };
    expect(indexWriteUnits(index, keys, undefined, base)).toBe(0);
    expect(indexWriteUnits(index, keys, undefined, watched)).toBe(1);
    expect(indexWriteUnits(index, keys, watched, base)).toBe(1);
    expect(indexWriteUnits(index, keys, watched, { ...watched, status: { S: "captured" } })).toBe(
      0,
    );
    const later = { ...watched, watchAt: { S: "2026-12-07T00:00:00Z" } };
    expect(indexWriteUnits(index, keys, watched, later)).toBe(2);
  });
});
