/**
 * npm run bench: builds every function (scripts/build.ts), then measures per function
 *   - bundle bytes (minified JS, without the map);
 *   - cold init: median import time of the bundle in fresh Node 24 processes, minus the median
 *     of an empty module's, and its ratio to the floor (a bundle that only constructs the
 *     DynamoDB clients, scripts/bench/floor.ts); targets 1.10x floor without Stripe, 1.25x with;
 *   - the same with tracing on (POWERTOOLS_TRACE_ENABLED=true, as production deploys them);
 *   - what each dependency adds over the floor (scripts/bench/components.ts);
 *   - DynamoDB round trips of the main API operations (scripts/bench/round-trips.ts).
 * Writes dist/bench-report.md and dist/bench-report.json and prints the tables.
 *
 * BENCH_RUNS (default 15, at least 10) sets the import runs per bundle.
 */
import { copyFile, mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { buildAll } from "./bench/build-all.js";
import { bundle, DIST, ROOT } from "./bench/bundle.js";
import { COMPONENTS } from "./bench/components.js";
import { functionEnvironment, lambdaEnvironment } from "./bench/env.js";
import { median, nodeBinary, probeImport } from "./bench/probe.js";
import { measureRoundTrips, type RoundTripRow } from "./bench/round-trips.js";

const RUNS = Math.max(10, Number(process.env.BENCH_RUNS ?? 15) || 15);
const TARGET_WITHOUT_STRIPE = 1.1;
const TARGET_WITH_STRIPE = 1.25;

type Kind = "baseline" | "floor" | "function" | "traced" | "component" | "variant";

/** What a stage with `tracing` on (production, staging) adds to every function's environment. */
const TRACING_ON = { POWERTOOLS_TRACE_ENABLED: "true" };
const tracedLabel = (name: string) => `${name}, tracing on`;

interface Target {
  readonly label: string;
  readonly kind: Kind;
  readonly file: string;
  readonly bytes: number;
  readonly env: Record<string, string>;
  readonly usesStripe: boolean;
  /** Variants: the label of the target this one differs from in one respect. */
  readonly comparedTo?: string;
}

interface Timing {
  readonly label: string;
  readonly kind: Kind;
  readonly bytes: number;
  readonly usesStripe: boolean;
  readonly comparedTo?: string;
  /** Median import time, raw (ms). */
  readonly medianMs: number;
  /** Fastest run minus the empty module's fastest (ms): least disturbed by other load. */
  readonly initMinMs: number;
  /** Interquartile range of the raw import times (ms): the noise. */
  readonly iqrMs: number;
  /** Median minus the empty module's median (ms). */
  readonly initMs: number;
  readonly samples: readonly number[];
}

const log = (line: string) => console.error(line);
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const ms = (value: number) => value.toFixed(1);

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const lo = sorted[Math.floor(at)] ?? Number.NaN;
  const hi = sorted[Math.ceil(at)] ?? lo;
  return lo + (hi - lo) * (at - Math.floor(at));
}

async function targets(): Promise<Target[]> {
  const built = await buildAll({ log });
  const benchDir = join(DIST, "bench");
  const empty = await bundle(
    "empty",
    { contents: "export const handler = async () => undefined;\n" },
    join(benchDir, "empty"),
  );
  const floor = await bundle(
    "floor",
    join(ROOT, "scripts", "bench", "floor.ts"),
    join(benchDir, "floor"),
  );
  const components = await Promise.all(
    COMPONENTS.map((c, i) =>
      bundle(`component-${i}`, { contents: c.contents }, join(benchDir, "components", String(i))),
    ),
  );
  // create-intent as SST deploys it: the .map files are left out of the zip.
  const createIntentDir = join(DIST, "functions", "create-intent");
  const noMapDir = join(benchDir, "create-intent-without-map");
  await rm(noMapDir, { recursive: true, force: true });
  await mkdir(noMapDir, { recursive: true });
  for (const file of await readdir(createIntentDir)) {
    if (file.endsWith(".mjs")) await copyFile(join(createIntentDir, file), join(noMapDir, file));
  }
  const noMap = join(noMapDir, "bundle.mjs");
  const createIntent = built.functions.find((f) => f.name === "create-intent");
  // What splitting saves: the same two bundles with everything in one file.
  const unsplit = { splitting: false } as const;
  const floorUnsplit = await bundle(
    "floor",
    join(ROOT, "scripts", "bench", "floor.ts"),
    join(benchDir, "floor-unsplit"),
    unsplit,
  );
  const createIntentUnsplit = await bundle(
    "create-intent",
    join(ROOT, "functions", "create-intent.ts"),
    join(benchDir, "create-intent-unsplit"),
    unsplit,
  );

  const base = lambdaEnvironment("bench");
  const list: Target[] = [
    {
      label: "(empty module)",
      kind: "baseline",
      file: empty.outfile,
      bytes: empty.bytes,
      env: base,
      usesStripe: false,
    },
    {
      label: "floor",
      kind: "floor",
      file: floor.outfile,
      bytes: floor.bytes,
      env: base,
      usesStripe: false,
    },
    ...built.functions.map((f) => ({
      label: f.name,
      kind: "function" as const,
      file: join(ROOT, f.outfile),
      bytes: f.bytes,
      env: functionEnvironment(f.name),
      usesStripe: f.usesStripe,
    })),
    ...built.functions.map((f) => ({
      label: tracedLabel(f.name),
      kind: "traced" as const,
      file: join(ROOT, f.outfile),
      bytes: f.bytes,
      env: { ...functionEnvironment(f.name), ...TRACING_ON },
      usesStripe: f.usesStripe,
    })),
    ...components.map((c, i) => ({
      label: COMPONENTS[i]?.name ?? c.name,
      kind: "component" as const,
      file: c.outfile,
      bytes: c.bytes,
      env: base,
      usesStripe: false,
    })),
  ];
  list.push(
    {
      label: "floor, no splitting (one file)",
      kind: "variant",
      file: floorUnsplit.outfile,
      bytes: floorUnsplit.bytes,
      env: base,
      usesStripe: false,
      comparedTo: "floor",
    },
    {
      label: "create-intent, no splitting (one file)",
      kind: "variant",
      file: createIntentUnsplit.outfile,
      bytes: createIntentUnsplit.bytes,
      env: functionEnvironment("create-intent"),
      usesStripe: true,
      comparedTo: "create-intent",
    },
  );
  if (createIntent !== undefined) {
    const env = { ...functionEnvironment("create-intent"), NODE_OPTIONS: "--enable-source-maps" };
    list.push(
      {
        label: "create-intent, --enable-source-maps, .map files present",
        kind: "variant",
        file: join(ROOT, createIntent.outfile),
        bytes: createIntent.bytes,
        env,
        usesStripe: true,
        comparedTo: "create-intent",
      },
      {
        label: "create-intent, --enable-source-maps, no .map (as SST deploys)",
        kind: "variant",
        file: noMap,
        bytes: createIntent.bytes,
        env,
        usesStripe: true,
        comparedTo: "create-intent",
      },
    );
  }
  return list;
}

/** Every target once untimed, then RUNS rounds, each starting one target later (alternation). */
async function measureInit(list: readonly Target[]): Promise<Timing[]> {
  const node = nodeBinary();
  for (const t of list) await probeImport(t.file, t.env, { node });
  const samples = new Map<Target, number[]>(list.map((t) => [t, []]));
  for (let round = 0; round < RUNS; round++) {
    for (let i = 0; i < list.length; i++) {
      const t = list[(i + round) % list.length];
      if (t === undefined) continue;
      const { ms: took } = await probeImport(t.file, t.env, { node });
      samples.get(t)?.push(took);
    }
    log(`init: round ${round + 1}/${RUNS}`);
  }
  const emptyTarget = list.find((t) => t.kind === "baseline");
  const emptySamples = emptyTarget === undefined ? [] : (samples.get(emptyTarget) ?? []);
  const baseline = median(emptySamples);
  const baselineMin = Math.min(...emptySamples);
  return list.map((t) => {
    const s = samples.get(t) ?? [];
    const m = median(s);
    return {
      label: t.label,
      kind: t.kind,
      bytes: t.bytes,
      usesStripe: t.usesStripe,
      ...(t.comparedTo === undefined ? {} : { comparedTo: t.comparedTo }),
      medianMs: m,
      initMinMs: Math.min(...s) - baselineMin,
      iqrMs: quantile(s, 0.75) - quantile(s, 0.25),
      initMs: m - baseline,
      samples: s,
    };
  });
}

interface Verdict {
  readonly ratio: number;
  readonly target: number;
  readonly pass: boolean;
  /** Milliseconds over the target (negative: under it). */
  readonly overMs: number;
}

function verdict(t: Timing, floorMs: number): Verdict {
  const target = t.usesStripe ? TARGET_WITH_STRIPE : TARGET_WITHOUT_STRIPE;
  const ratio = t.initMs / floorMs;
  return { ratio, target, pass: ratio <= target, overMs: t.initMs - target * floorMs };
}

function markdown(
  timings: readonly Timing[],
  roundTrips: readonly RoundTripRow[],
  node: string,
): string {
  const baseline = timings.find((t) => t.kind === "baseline");
  const floor = timings.find((t) => t.kind === "floor");
  const floorMs = floor?.initMs ?? Number.NaN;
  const floorMinMs = floor?.initMinMs ?? Number.NaN;
  const lines: string[] = [
    "# Bench report",
    "",
    `Node ${node}; ${RUNS} runs per bundle, alternated; init = median import time in a fresh ` +
      `process minus the empty module's median (${ms(baseline?.medianMs ?? Number.NaN)} ms). ` +
      "IQR = spread of the raw runs; × floor (fastest) = the same ratio from each bundle's " +
      "fastest run, a check that the verdict is not noise.",
    "",
    "## Cold init per function",
    "",
    "Verdicts are for the functions as a stage without tracing deploys them (dev; the code's " +
      "default). The last two columns are the same bundles with POWERTOOLS_TRACE_ENABLED=true, as " +
      "production and staging deploy them: the Powertools Tracer and the X-Ray SDK then load at " +
      "init (lib/tracing.ts).",
    "",
    "| function | Stripe | loaded at init | init ms | IQR | × floor | × floor (fastest) | target | verdict | tracing on: init ms | tracing on: × floor |",
    "|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|",
  ];
  if (floor !== undefined) {
    lines.push(
      `| floor (DynamoDB clients only) | no | ${kib(floor.bytes)} | ${ms(floor.initMs)} | ${ms(floor.iqrMs)} | 1.00 | 1.00 | | | | |`,
    );
  }
  for (const t of timings.filter((x) => x.kind === "function")) {
    const v = verdict(t, floorMs);
    const outcome = v.pass
      ? `pass (${ms(-v.overMs)} ms to spare)`
      : `MISS by ${ms(v.overMs)} ms (${(v.ratio - v.target).toFixed(2)}× floor over)`;
    const traced = timings.find((x) => x.label === tracedLabel(t.label));
    const tracedMs = traced?.initMs ?? Number.NaN;
    lines.push(
      `| ${t.label} | ${t.usesStripe ? "yes" : "no"} | ${kib(t.bytes)} | ${ms(t.initMs)} | ${ms(t.iqrMs)} | ${v.ratio.toFixed(2)} | ${(t.initMinMs / floorMinMs).toFixed(2)} | ≤ ${v.target.toFixed(2)} | ${outcome} | ${ms(tracedMs)} | ${(tracedMs / floorMs).toFixed(2)} |`,
    );
  }
  lines.push(
    "",
    "## What each dependency adds over the floor",
    "",
    "| floor + | loaded at init | init ms | added ms | IQR |",
    "|---|---:|---:|---:|---:|",
  );
  for (const t of timings.filter((x) => x.kind === "component")) {
    lines.push(
      `| ${t.label} | ${kib(t.bytes)} | ${ms(t.initMs)} | ${ms(t.initMs - floorMs)} | ${ms(t.iqrMs)} |`,
    );
  }
  const variants = timings.filter((x) => x.kind === "variant");
  if (variants.length > 0) {
    lines.push(
      "",
      "## Choices measured: splitting, and why no --enable-source-maps (infra/functions.ts)",
      "",
      "| variant | loaded at init | init ms | vs. | as deployed: init ms | difference ms |",
      "|---|---:|---:|---|---:|---:|",
    );
    for (const t of variants) {
      const deployed = timings.find((x) => x.label === t.comparedTo);
      const deployedMs = deployed?.initMs ?? Number.NaN;
      lines.push(
        `| ${t.label} | ${kib(t.bytes)} | ${ms(t.initMs)} | ${t.comparedTo ?? ""} | ${ms(deployedMs)} | ${ms(t.initMs - deployedMs)} |`,
      );
    }
  }
  lines.push(
    "",
    "## DynamoDB round trips per operation (counted on the wire)",
    "",
    "| operation | DynamoDB requests (each run) | requests, in order | design floor | Stripe calls | verdict |",
    "|---|---|---|---:|---|---|",
  );
  for (const r of roundTrips) {
    const worst = Math.max(...r.dynamodb);
    const outcome =
      worst === r.floor ? "at floor" : worst > r.floor ? `+${worst - r.floor}` : "below?";
    lines.push(
      `| ${r.operation} | ${r.dynamodb.join(", ")} | ${r.calls.join(" → ")} | ${r.floor} | ${r.stripe.join(", ")} | ${outcome} |`,
    );
  }
  lines.push("", "Design floors:", "");
  for (const r of roundTrips) lines.push(`- ${r.operation} = ${r.floor}: ${r.floorWhy}`);
  lines.push("");
  return lines.join("\n");
}

const list = await targets();
const node = (await probeImport(list[0]?.file ?? "", lambdaEnvironment("bench"))).node;
log(`measuring cold init: ${list.length} bundles × ${RUNS} runs on Node ${node}`);
const timings = await measureInit(list);
log("measuring DynamoDB round trips");
const roundTrips = await measureRoundTrips({ log });

const report = markdown(timings, roundTrips, node);
const floorMs = timings.find((t) => t.kind === "floor")?.initMs ?? Number.NaN;
await writeFile(join(DIST, "bench-report.md"), report);
await writeFile(
  join(DIST, "bench-report.json"),
  `${JSON.stringify(
    {
      node,
      runs: RUNS,
      targets: { withoutStripe: TARGET_WITHOUT_STRIPE, withStripe: TARGET_WITH_STRIPE },
      floorMs,
      init: timings.map((t) => ({
        ...t,
        ...(t.kind === "function" ? { verdict: verdict(t, floorMs) } : {}),
      })),
      roundTrips,
    },
    null,
    2,
  )}\n`,
);
console.log(report);
