/**
 * The bench's statistics: a ratio of medians with a bootstrap confidence interval, and a verdict
 * that says "undecided" when the interval straddles the target (the noise could flip it).
 */
import { mulberry32 } from "../../local/stripe-simulator/ids.js";

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  const hi = sorted[mid] ?? Number.NaN;
  const lo = sorted[mid - 1] ?? hi;
  return sorted.length % 2 === 1 ? hi : (lo + hi) / 2;
}

export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const lo = sorted[Math.floor(at)] ?? Number.NaN;
  const hi = sorted[Math.ceil(at)] ?? lo;
  return lo + (hi - lo) * (at - Math.floor(at));
}

function resample(values: readonly number[], random: () => number): number[] {
  return values.map(() => values[Math.floor(random() * values.length)] ?? Number.NaN);
}

export interface Ratio {
  /** (median(a) - median(base)) / (median(b) - median(base)). */
  readonly value: number;
  /** Bootstrap interval of the same (90% unless asked otherwise). */
  readonly low: number;
  readonly high: number;
}

/**
 * The ratio of two costs over a common baseline (a bundle's import over the empty module's,
 * against the floor's over the empty module's), each sample set resampled on its own.
 */
export function ratioOverBaseline(
  a: readonly number[],
  b: readonly number[],
  base: readonly number[],
  level = 0.9,
  rounds = 2_000,
): Ratio {
  const of = (x: readonly number[], y: readonly number[], z: readonly number[]) =>
    (median(x) - median(z)) / (median(y) - median(z));
  const random = mulberry32(0x5eed);
  const draws: number[] = [];
  for (let i = 0; i < rounds; i++) {
    draws.push(of(resample(a, random), resample(b, random), resample(base, random)));
  }
  const tail = (1 - level) / 2;
  return { value: of(a, b, base), low: quantile(draws, tail), high: quantile(draws, 1 - tail) };
}

export type Outcome = "met" | "missed" | "undecided";

/** Met when the whole interval is at or under the target, missed when all of it is over. */
export function outcomeOf(ratio: Ratio, target: number): Outcome {
  if (ratio.high <= target) return "met";
  if (ratio.low > target) return "missed";
  return "undecided";
}
