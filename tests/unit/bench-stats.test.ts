/** The bench's statistics (scripts/bench/stats.ts): ratios over a baseline, intervals, verdicts. */
import { describe, expect, it } from "vitest";
import { outcomeOf, ratioOverBaseline } from "../../scripts/bench/stats.js";

const around = (centre: number, spread: number, n = 20) =>
  Array.from({ length: n }, (_, i) => centre + spread * Math.sin(i * 2.4));

describe("ratioOverBaseline", () => {
  it("is the ratio of medians over the baseline, with an interval around it", () => {
    const r = ratioOverBaseline(around(61, 2), around(31, 2), around(1, 0.1));
    expect(r.value).toBeCloseTo(2, 1);
    expect(r.low).toBeLessThanOrEqual(r.value);
    expect(r.high).toBeGreaterThanOrEqual(r.value);
    expect(r.high - r.low).toBeGreaterThan(0);
  });

  it("collapses on samples without noise, and a wider level gives a wider interval", () => {
    const exact = ratioOverBaseline(around(41, 0), around(21, 0), around(1, 0));
    expect([exact.low, exact.value, exact.high]).toEqual([2, 2, 2]);
    const noisy = [around(50, 8), around(30, 8), around(1, 0.5)] as const;
    const ninety = ratioOverBaseline(...noisy, 0.9);
    const wider = ratioOverBaseline(...noisy, 0.98);
    expect(wider.low).toBeLessThanOrEqual(ninety.low);
    expect(wider.high).toBeGreaterThanOrEqual(ninety.high);
  });
});

describe("outcomeOf", () => {
  it("decides only when the whole interval is on one side of the target", () => {
    expect(outcomeOf({ value: 1.2, low: 1.1, high: 1.25 }, 1.3)).toBe("met");
    expect(outcomeOf({ value: 1.5, low: 1.35, high: 1.6 }, 1.3)).toBe("missed");
    expect(outcomeOf({ value: 1.29, low: 1.2, high: 1.35 }, 1.3)).toBe("undecided");
  });
});
