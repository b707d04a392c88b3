/**
 * npm run bench: builds every function (scripts/build.ts), then measures per function
 *   - bundle bytes (minified JS, without the map);
 *   - cold init: import CPU time and wall time of the bundle in fresh Node 24 processes, minus
 *     an empty module's, and its ratio to the floor (a bundle that only constructs the DynamoDB
 *     clients, scripts/bench/floor.ts), with a 90% bootstrap interval; targets: every HTTP
 *     function ≤ 1.3x the floor's CPU time, publish-outbox and sweep-outbox ≤ 1.5x;
 *   - the same with tracing on (POWERTOOLS_TRACE_ENABLED=true, as production deploys them):
 *     tracing may add ≤ 15% to any function;
 *   - a verdict only when the whole interval is on one side of the target; otherwise more
 *     rounds (up to BENCH_MAX_RUNS), then "undecided" with the interval;
 *   - what each dependency adds over the floor (scripts/bench/components.ts);
 *   - DynamoDB round trips of the main API operations (scripts/bench/round-trips.ts);
 *   - the first invocation of every function (import + first call against the local stack), as
 *     CPU time, beside the floor's first GetItem (scripts/bench/first-call.ts): a report, no
 *     target.
 * Writes dist/bench-report.md and dist/bench-report.json and prints the tables.
 *
 * BENCH_RUNS (default 15, at least 10) sets the import runs per bundle; BENCH_MAX_RUNS (default
 * 25) how far rounds go on while a verdict is undecided; BENCH_FIRST_CALL_RUNS (default 5) the
 * rounds of first invocations.
 */
import { writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { routes } from "../infra/routes.js";
import { buildAll } from "./bench/build-all.js";
import { bundle, DIST, ROOT } from "./bench/bundle.js";
import { COMPONENTS } from "./bench/components.js";
import { functionEnvironment, lambdaEnvironment } from "./bench/env.js";
import { type FirstCallRow, FLOOR_LABEL, measureFirstCalls } from "./bench/first-call.js";
import { copyModules, lambdaPackage, mismatchedPackage } from "./bench/lambda-layout.js";
import { nodeBinary, probeImport } from "./bench/probe.js";
import { measureRoundTrips, type RoundTripRow } from "./bench/round-trips.js";
import {
  median,
  type Outcome,
  outcomeOf,
  quantile,
  type Ratio,
  ratioOverBaseline,
} from "./bench/stats.js";

const RUNS = Math.max(10, Number(process.env.BENCH_RUNS ?? 15) || 15);
const FIRST_CALL_RUNS = Math.max(3, Number(process.env.BENCH_FIRST_CALL_RUNS ?? 5) || 5);
const MAX_RUNS = Math.max(RUNS, Number(process.env.BENCH_MAX_RUNS ?? 25) || 25);
/** Import CPU time over the floor's (issue: cold start at the floor). */
const TARGET_HTTP = 1.3;
const TARGET_OUTBOX = 1.5;
const OUTBOX_FUNCTIONS: ReadonlySet<string> = new Set(["publish-outbox", "sweep-outbox"]);
/** Tracing on may add this much to a function's import CPU time. */
const TARGET_TRACING = 1.15;
/** The interval of the looks that decide whether to run another round (see measureInit). */
const INTERIM_LEVEL = 0.98;

/** The target a function's import is held to, or undefined (measured, not held to one). */
function targetOf(name: string): number | undefined {
  if (routes.some((r) => r.handler === name)) return TARGET_HTTP;
  if (OUTBOX_FUNCTIONS.has(name)) return TARGET_OUTBOX;
  return undefined;
}

type Kind = "baseline" | "floor" | "function" | "traced" | "component" | "variant";

/** What a stage with `tracing` on (production, staging) adds to every function's environment. */
const TRACING_ON = { POWERTOOLS_TRACE_ENABLED: "true" };
const tracedLabel = (name: string) => `${name}, tracing on`;
/** The functions also measured without the compile cache (and the floor). */
const CACHE_COMPARED: readonly string[] = ["create-intent", "get-payment", "publish-outbox"];
const noCache = (name: string) => `${name}, no compile cache`;
const NO_CACHE_FLOOR = noCache("floor");

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
  /** Median import CPU time minus the empty module's (ms). */
  readonly cpuInitMs: number;
  readonly cpuSamples: readonly number[];
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
  await copyModules(createIntentDir, noMapDir);
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

  // As deployed: each package with its compile cache (infra/compile-cache.ts), in Lambda's
  // layout; the floor too (same build options). Without the cache: variants below.
  const node = nodeBinary();
  const floorPackage = await lambdaPackage("floor", dirname(floor.outfile), node);
  const packages = new Map(
    await Promise.all(
      built.functions.map(
        async (f) =>
          [f.name, await lambdaPackage(f.name, dirname(join(ROOT, f.outfile)), node)] as const,
      ),
    ),
  );
  const packageOf = (name: string) => {
    const pkg = packages.get(name);
    if (pkg === undefined) throw new Error(`no package for ${name}`);
    return pkg;
  };
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
      file: floorPackage.file,
      bytes: floor.bytes,
      env: { ...base, ...floorPackage.env },
      usesStripe: false,
    },
    ...built.functions.map((f) => ({
      label: f.name,
      kind: "function" as const,
      file: packageOf(f.name).file,
      bytes: f.bytes,
      env: { ...functionEnvironment(f.name), ...packageOf(f.name).env },
      usesStripe: f.usesStripe,
    })),
    ...built.functions.map((f) => ({
      label: tracedLabel(f.name),
      kind: "traced" as const,
      file: packageOf(f.name).file,
      bytes: f.bytes,
      env: { ...functionEnvironment(f.name), ...TRACING_ON, ...packageOf(f.name).env },
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
  // What the compile cache saves, and what a miss (another Node made it) costs.
  list.push({
    label: NO_CACHE_FLOOR,
    kind: "variant",
    file: floor.outfile,
    bytes: floor.bytes,
    env: base,
    usesStripe: false,
    comparedTo: "floor",
  });
  for (const f of built.functions.filter((x) => CACHE_COMPARED.includes(x.name))) {
    list.push({
      label: noCache(f.name),
      kind: "variant",
      file: join(ROOT, f.outfile),
      bytes: f.bytes,
      env: functionEnvironment(f.name),
      usesStripe: f.usesStripe,
      comparedTo: f.name,
    });
  }
  const missed = await mismatchedPackage("create-intent-cache-miss", packageOf("create-intent"));
  list.push({
    label: "create-intent, compile cache made by another Node (not used)",
    kind: "variant",
    file: missed.file,
    bytes: createIntent?.bytes ?? 0,
    env: { ...functionEnvironment("create-intent"), ...missed.env },
    usesStripe: true,
    comparedTo: noCache("create-intent"),
  });
  list.push(
    {
      label: "floor, no splitting (one file)",
      kind: "variant",
      file: floorUnsplit.outfile,
      bytes: floorUnsplit.bytes,
      env: base,
      usesStripe: false,
      comparedTo: NO_CACHE_FLOOR,
    },
    {
      label: "create-intent, no splitting (one file)",
      kind: "variant",
      file: createIntentUnsplit.outfile,
      bytes: createIntentUnsplit.bytes,
      env: functionEnvironment("create-intent"),
      usesStripe: true,
      comparedTo: noCache("create-intent"),
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
        comparedTo: noCache("create-intent"),
      },
      {
        label: "create-intent, --enable-source-maps, no .map (as SST deploys)",
        kind: "variant",
        file: noMap,
        bytes: createIntent.bytes,
        env,
        usesStripe: true,
        comparedTo: noCache("create-intent"),
      },
    );
  }
  return list;
}

interface Samples {
  readonly wall: number[];
  readonly cpu: number[];
}

/**
 * Every target once untimed, then RUNS rounds, each starting one target later (alternation);
 * then, while a verdict is undecided, more rounds of the functions, the floor and the empty
 * module, up to MAX_RUNS.
 */
async function measureInit(
  list: readonly Target[],
): Promise<{ timings: Timing[]; rounds: number }> {
  const node = nodeBinary();
  for (const t of list) await probeImport(t.file, t.env, { node });
  const samples = new Map<Target, Samples>(list.map((t) => [t, { wall: [], cpu: [] }]));
  const round = async (chosen: readonly Target[], n: number) => {
    for (let i = 0; i < chosen.length; i++) {
      const t = chosen[(i + n) % chosen.length];
      if (t === undefined) continue;
      const { ms: took, cpuMs } = await probeImport(t.file, t.env, { node });
      samples.get(t)?.wall.push(took);
      samples.get(t)?.cpu.push(cpuMs);
    }
  };
  let rounds = 0;
  for (; rounds < RUNS; rounds++) {
    await round(list, rounds);
    log(`init: round ${rounds + 1}/${RUNS}`);
  }
  const decisive = list.filter((t) => t.kind !== "component" && t.kind !== "variant");
  for (; rounds < MAX_RUNS; rounds++) {
    // Looking after every round is many tests, not one: the interim looks use a 98% interval,
    // so that stopping early does not make a 90% verdict more often wrong than it says.
    const undecided = verdicts(timingsOf(list, samples), INTERIM_LEVEL).filter(
      (v) => v.outcome === "undecided",
    );
    if (undecided.length === 0) break;
    log(
      `init: round ${rounds + 1} (up to ${MAX_RUNS}): ${undecided.map((v) => v.label).join(", ")} undecided`,
    );
    await round(decisive, rounds);
  }
  return { timings: timingsOf(list, samples), rounds };
}

function timingsOf(list: readonly Target[], samples: ReadonlyMap<Target, Samples>): Timing[] {
  const emptyTarget = list.find((t) => t.kind === "baseline");
  const empty = emptyTarget === undefined ? undefined : samples.get(emptyTarget);
  const baseline = median(empty?.wall ?? []);
  const baselineCpu = median(empty?.cpu ?? []);
  const baselineMin = Math.min(...(empty?.wall ?? []));
  return list.map((t) => {
    const s = samples.get(t) ?? { wall: [], cpu: [] };
    const m = median(s.wall);
    return {
      label: t.label,
      kind: t.kind,
      bytes: t.bytes,
      usesStripe: t.usesStripe,
      ...(t.comparedTo === undefined ? {} : { comparedTo: t.comparedTo }),
      medianMs: m,
      cpuInitMs: median(s.cpu) - baselineCpu,
      cpuSamples: [...s.cpu],
      initMinMs: Math.min(...s.wall) - baselineMin,
      iqrMs: quantile(s.wall, 0.75) - quantile(s.wall, 0.25),
      initMs: m - baseline,
      samples: [...s.wall],
    };
  });
}

interface Verdict {
  readonly label: string;
  /** "init": the import over the floor's; "tracing": traced over untraced. */
  readonly kind: "init" | "tracing";
  readonly cpu: Ratio;
  readonly wall: Ratio;
  readonly target: number;
  readonly outcome: Outcome;
}

/** Each function's verdicts: its import CPU time against the floor's, tracing against none. */
function verdicts(timings: readonly Timing[], level = 0.9): Verdict[] {
  const empty = timings.find((t) => t.kind === "baseline");
  const floor = timings.find((t) => t.kind === "floor");
  if (empty === undefined || floor === undefined) return [];
  const out: Verdict[] = [];
  for (const t of timings.filter((x) => x.kind === "function")) {
    const target = targetOf(t.label);
    if (target !== undefined) {
      const cpu = ratioOverBaseline(t.cpuSamples, floor.cpuSamples, empty.cpuSamples, level);
      const wall = ratioOverBaseline(t.samples, floor.samples, empty.samples, level);
      out.push({
        label: t.label,
        kind: "init",
        cpu,
        wall,
        target,
        outcome: outcomeOf(cpu, target),
      });
    }
    const traced = timings.find((x) => x.label === tracedLabel(t.label));
    if (traced !== undefined) {
      const cpu = ratioOverBaseline(traced.cpuSamples, t.cpuSamples, empty.cpuSamples, level);
      const wall = ratioOverBaseline(traced.samples, t.samples, empty.samples, level);
      out.push({
        label: tracedLabel(t.label),
        kind: "tracing",
        cpu,
        wall,
        target: TARGET_TRACING,
        outcome: outcomeOf(cpu, TARGET_TRACING),
      });
    }
  }
  return out;
}

const interval = (r: Ratio) => `${r.value.toFixed(2)} (${r.low.toFixed(2)}-${r.high.toFixed(2)})`;
const outcomeText = (v: Verdict | undefined) =>
  v === undefined
    ? "(no target)"
    : v.outcome === "met"
      ? "met"
      : v.outcome === "missed"
        ? "MISSED"
        : "undecided (interval straddles the target)";

/** The first-invocation table: medians, with the range of the rounds as the spread. */
function firstCallLines(rows: readonly FirstCallRow[]): string[] {
  const floor = rows.find((r) => r.label === FLOOR_LABEL);
  const floorTotal = median(floor?.totalCpuMs ?? []);
  const spread = (xs: readonly number[]) =>
    `${ms(median(xs))} (${ms(Math.min(...xs))}-${ms(Math.max(...xs))})`;
  const lines = [
    "",
    "## First invocation per function (CPU time)",
    "",
    `A fresh process imports the bundle, then calls the handler once against the local stack ` +
      `(scripts/bench/first-call.ts); ${rows[0]?.totalCpuMs.length ?? 0} rounds, each running ` +
      "every function in turn. Medians, with the rounds' range in brackets. The floor is the " +
      "DynamoDB clients and one GetItem. Kafka is plaintext here: MSK's IAM signer is not in " +
      "the publisher's figure.",
    "",
    "| function | import CPU ms | first call CPU ms | import + call CPU ms | × floor | wall ms (import + call) | answered |",
    "|---|---:|---:|---:|---:|---:|---|",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.label} | ${spread(r.importCpuMs)} | ${spread(r.callCpuMs)} | ${spread(r.totalCpuMs)} | ${(median(r.totalCpuMs) / floorTotal).toFixed(2)} | ${ms(median(r.totalWallMs))} | ${[...new Set(r.outcomes)].join(", ")} |`,
    );
  }
  return lines;
}

function markdown(
  timings: readonly Timing[],
  roundTrips: readonly RoundTripRow[],
  firstCalls: readonly FirstCallRow[],
  node: string,
  rounds: number,
  all: readonly Verdict[],
): string {
  const baseline = timings.find((t) => t.kind === "baseline");
  const floor = timings.find((t) => t.kind === "floor");
  const floorMs = floor?.initMs ?? Number.NaN;
  // The components are bundles without the compile cache: held against the floor without it.
  const bareFloorMs = timings.find((t) => t.label === NO_CACHE_FLOOR)?.initMs ?? floorMs;
  const lines: string[] = [
    "# Bench report",
    "",
    `Node ${node}; ${RUNS} to ${rounds} runs per bundle, alternated (more rounds only while a ` +
      "verdict was undecided). init = import time in a fresh process minus the empty module's " +
      `(median wall ${ms(baseline?.medianMs ?? Number.NaN)} ms); CPU = the process's user + ` +
      "system time during the import, minus the empty module's. Ratios are of medians, with a " +
      "90% bootstrap interval in brackets; a verdict is given only when the whole interval is on " +
      "one side of the target, and is taken on CPU time (wall time shown beside it). The floor " +
      "and the functions are measured as deployed: each package with its compile cache " +
      "(infra/compile-cache.ts), laid out as Lambda runs it, the cache made by this machine's Node; " +
      "the same without the cache are among the choices measured below.",
    "",
    "## Cold init per function",
    "",
    `Targets: HTTP functions ≤ ${TARGET_HTTP}× the floor's CPU time, publish-outbox and ` +
      `sweep-outbox ≤ ${TARGET_OUTBOX}×; tracing on (POWERTOOLS_TRACE_ENABLED=true, as production ` +
      `and staging deploy them) ≤ ${TARGET_TRACING}× the same function without.`,
    "",
    "| function | Stripe at init | loaded at init | CPU ms | wall ms | wall IQR | × floor, CPU | × floor, wall | target | verdict | tracing on: CPU ms | tracing on: × untraced, CPU | tracing verdict |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---|",
  ];
  if (floor !== undefined) {
    lines.push(
      `| floor (DynamoDB clients only) | no | ${kib(floor.bytes)} | ${ms(floor.cpuInitMs)} | ${ms(floor.initMs)} | ${ms(floor.iqrMs)} | 1.00 | 1.00 | | | | | |`,
    );
  }
  for (const t of timings.filter((x) => x.kind === "function")) {
    const v = all.find((x) => x.kind === "init" && x.label === t.label);
    const tv = all.find((x) => x.kind === "tracing" && x.label === tracedLabel(t.label));
    const traced = timings.find((x) => x.label === tracedLabel(t.label));
    const wallRatio = v === undefined ? (t.initMs / floorMs).toFixed(2) : interval(v.wall);
    const cpuRatio =
      v === undefined
        ? (t.cpuInitMs / (floor?.cpuInitMs ?? Number.NaN)).toFixed(2)
        : interval(v.cpu);
    lines.push(
      `| ${t.label} | ${t.usesStripe ? "yes" : "no"} | ${kib(t.bytes)} | ${ms(t.cpuInitMs)} | ${ms(t.initMs)} | ${ms(t.iqrMs)} | ${cpuRatio} | ${wallRatio} | ${v === undefined ? "" : `≤ ${v.target.toFixed(2)}`} | ${outcomeText(v)} | ${ms(traced?.cpuInitMs ?? Number.NaN)} | ${tv === undefined ? "" : interval(tv.cpu)} | ${outcomeText(tv)} |`,
    );
  }
  const count = (o: Outcome) => all.filter((v) => v.outcome === o).length;
  lines.push(
    "",
    `Verdicts: ${count("met")} met, ${count("missed")} missed, ${count("undecided")} undecided.`,
  );
  lines.push(
    "",
    "## What each dependency adds over the floor",
    "",
    "| floor + | loaded at init | init ms | added ms | IQR |",
    "|---|---:|---:|---:|---:|",
  );
  for (const t of timings.filter((x) => x.kind === "component")) {
    lines.push(
      `| ${t.label} | ${kib(t.bytes)} | ${ms(t.initMs)} | ${ms(t.initMs - bareFloorMs)} | ${ms(t.iqrMs)} |`,
    );
  }
  const variants = timings.filter((x) => x.kind === "variant");
  if (variants.length > 0) {
    lines.push(
      "",
      "## Choices measured: the compile cache (infra/compile-cache.ts), splitting, and why no --enable-source-maps (infra/functions.ts)",
      "",
      "| variant | loaded at init | init ms | CPU ms | vs. | its init ms | its CPU ms | difference ms | difference CPU ms |",
      "|---|---:|---:|---:|---|---:|---:|---:|---:|",
    );
    for (const t of variants) {
      const other = timings.find((x) => x.label === t.comparedTo);
      const otherMs = other?.initMs ?? Number.NaN;
      const otherCpu = other?.cpuInitMs ?? Number.NaN;
      lines.push(
        `| ${t.label} | ${kib(t.bytes)} | ${ms(t.initMs)} | ${ms(t.cpuInitMs)} | ${t.comparedTo ?? ""} | ${ms(otherMs)} | ${ms(otherCpu)} | ${ms(t.initMs - otherMs)} | ${ms(t.cpuInitMs - otherCpu)} |`,
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
  lines.push(...firstCallLines(firstCalls));
  lines.push("");
  return lines.join("\n");
}

const list = await targets();
const node = (await probeImport(list[0]?.file ?? "", lambdaEnvironment("bench"))).node;
log(`measuring cold init: ${list.length} bundles × ${RUNS} runs on Node ${node}`);
const { timings, rounds } = await measureInit(list);
log("measuring DynamoDB round trips");
const roundTrips = await measureRoundTrips({ log });
log(`measuring first invocations: ${FIRST_CALL_RUNS} rounds`);
const floorCall = await bundle(
  "floor-call",
  join(ROOT, "scripts", "bench", "floor-call.ts"),
  join(DIST, "bench", "floor-call"),
);
const floorCallPackage = await lambdaPackage(
  "floor-call",
  dirname(floorCall.outfile),
  nodeBinary(),
);
const firstCalls = await measureFirstCalls({
  bundles: new Map(list.filter((t) => t.kind === "function").map((t) => [t.label, t.file])),
  floor: floorCallPackage.file,
  runs: FIRST_CALL_RUNS,
  log,
});

const final = verdicts(timings);
const report = markdown(timings, roundTrips, firstCalls, node, rounds, final);
const floorMs = timings.find((t) => t.kind === "floor")?.initMs ?? Number.NaN;
await writeFile(join(DIST, "bench-report.md"), report);
await writeFile(
  join(DIST, "bench-report.json"),
  `${JSON.stringify(
    {
      node,
      runs: { min: RUNS, max: MAX_RUNS, done: rounds },
      targets: { http: TARGET_HTTP, outbox: TARGET_OUTBOX, tracing: TARGET_TRACING },
      floorMs,
      init: timings,
      verdicts: final,
      roundTrips,
      firstCalls,
    },
    null,
    2,
  )}\n`,
);
console.log(report);
