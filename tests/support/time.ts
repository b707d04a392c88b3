/**
 * Test time bounds, scaled for the machine. The suite waits on events, not on the clock: a bound
 * only decides how long a broken test takes to fail, so it is set for a machine several times
 * slower than a quiet developer laptop (a laptop building something else, a CI runner beside other
 * jobs). `TEST_TIME_SCALE` sets the factor (default 3); the bounds below are for a quiet machine.
 */
const fromEnv = Number(process.env.TEST_TIME_SCALE);

export const timeScale = Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : 3;

/** `ms` (a bound that holds on a quiet machine) scaled for this one. */
export function scaled(ms: number): number {
  return Math.round(ms * timeScale);
}
